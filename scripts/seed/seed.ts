import type { DataSource, EntityTarget, ObjectLiteral } from 'typeorm';
import { Booking } from '../../subgraphs/bookings/src/booking/booking.entity';
import { Cinema, Hall, Seat } from '../../subgraphs/cinemas/src/cinema/cinema.entity';
import { Showtime } from '../../subgraphs/cinemas/src/showtime/showtime.entity';
import { Movie } from '../../subgraphs/movies/src/movie/movie.entity';
import { User } from '../../subgraphs/users/src/user/user.entity';
import type { SubgraphName } from '../../runtime/config';
import { buildDemoPlan } from './demo-plan';

const CHUNK = 500;

/** Inserts rows that are not there yet; existing rows (same id) are left as they are. */
async function insertMissing<T extends ObjectLiteral>(
  ds: DataSource,
  entity: EntityTarget<T>,
  rows: T[],
): Promise<number> {
  let inserted = 0;
  for (let i = 0; i < rows.length; i += CHUNK) {
    const result = await ds
      .createQueryBuilder()
      .insert()
      .into(entity)
      .values(rows.slice(i, i + CHUNK) as never)
      .orIgnore()
      .returning('id')
      .execute();
    inserted += (result.raw as unknown[]).length;
  }
  return inserted;
}

/**
 * Loads the demo data into the four databases. Idempotent: a second run adds only what is
 * missing (new days of showtimes), so it is safe on every start.
 */
export async function seedDemoData(
  sources: Record<SubgraphName, DataSource>,
  now: Date = new Date(),
): Promise<Record<string, number>> {
  const plan = buildDemoPlan(now);
  const movies = plan.movies.map((m) => {
    const movie = Object.assign(new Movie(), m as unknown as Partial<Movie>);
    movie.computeSearchText();
    return movie;
  });
  return {
    users: await insertMissing(sources.users, User, plan.users as User[]),
    movies: await insertMissing(sources.movies, Movie, movies),
    cinemas: await insertMissing(sources.cinemas, Cinema, plan.cinemas as Cinema[]),
    halls: await insertMissing(sources.cinemas, Hall, plan.halls as Hall[]),
    seats: await insertMissing(sources.cinemas, Seat, plan.seats as Seat[]),
    showtimes: await insertMissing(sources.cinemas, Showtime, plan.showtimes as Showtime[]),
    bookings: await insertMissing(sources.bookings, Booking, plan.bookings as Booking[]),
  };
}

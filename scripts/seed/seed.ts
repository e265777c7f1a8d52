import type { DataSource, EntityTarget, ObjectLiteral } from 'typeorm';
import { Booking } from '../../subgraphs/bookings/src/booking/booking.entity';
import { Cinema, Hall, Seat } from '../../subgraphs/cinemas/src/cinema/cinema.entity';
import { Showtime } from '../../subgraphs/cinemas/src/showtime/showtime.entity';
import { Movie } from '../../subgraphs/movies/src/movie/movie.entity';
import { User } from '../../subgraphs/users/src/user/user.entity';
import type { SubgraphName } from '../../runtime/config';
import { stableUuid } from '../../runtime/ids';
import { buildDemoPlan, demoBookingSeats, type DemoPlan } from './demo-plan';
import { movieEvent } from '../../subgraphs/movies/src/movie/movie.service';
import { appendShowtimeEvents } from '../../subgraphs/cinemas/src/showtime/showtime-admin.service';
import { MOVIES_STREAM } from '../../runtime/contracts/movie-events';
import { appendEvents } from '../../runtime/events/outbox';
import {
  seedBookingDemo,
  type DemoBookingSeats,
} from '../../subgraphs/bookings/src/demo/booking-demo';

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
      .values(rows.slice(i, i + CHUNK))
      .orIgnore()
      .returning('id')
      .execute();
    inserted += (result.raw as unknown[]).length;
  }
  return inserted;
}

/** Inserts the movies that are missing, with their `movie.created` events (see below). */
async function insertMovies(ds: DataSource, movies: Movie[]): Promise<number> {
  return ds.transaction(async (tx) => {
    const result = await tx
      .createQueryBuilder()
      .insert()
      .into(Movie)
      .values(movies)
      .orIgnore()
      .returning('id')
      .execute();
    const ids = new Set((result.raw as { id: string }[]).map((r) => r.id));
    const events = movies.filter((m) => ids.has(m.id)).map((m) => movieEvent('movie.created', m));
    if (events.length > 0) await appendEvents(tx, MOVIES_STREAM, events);
    return ids.size;
  });
}

/**
 * Inserts the showtimes that are missing and, in the same transaction, their
 * `showtime.scheduled` events: the movies subgraph learns of demo showtimes the way it learns
 * of any other (through the outbox), so its city projection is right from the start.
 */
async function insertShowtimes(ds: DataSource, plan: ReturnType<typeof buildDemoPlan>) {
  let inserted = 0;
  for (let i = 0; i < plan.showtimes.length; i += CHUNK) {
    const chunk = plan.showtimes.slice(i, i + CHUNK);
    await ds.transaction(async (tx) => {
      const result = await tx
        .createQueryBuilder()
        .insert()
        .into(Showtime)
        .values(chunk)
        .orIgnore()
        .returning('id')
        .execute();
      const ids = new Set((result.raw as { id: string }[]).map((r) => r.id));
      const added = chunk.filter((s) => ids.has(s.id)) as Showtime[];
      await appendShowtimeEvents(tx, 'showtime.scheduled', added);
      inserted += ids.size;
    });
  }
  return inserted;
}

/**
 * Announces rows that never produced an event (a database seeded before the event backbone
 * existed): every movie and every coming showtime must have been published once, or the other
 * subgraphs' projections would never learn of them. Idempotent: announced rows are skipped.
 */
async function announceUnpublished(sources: Record<SubgraphName, DataSource>): Promise<number> {
  let announced = 0;
  await sources.movies.transaction(async (tx) => {
    const movies: Movie[] = await tx
      .getRepository(Movie)
      .createQueryBuilder('m')
      .where('NOT EXISTS (SELECT 1 FROM outbox o WHERE o.aggregate_id = m.id::text)')
      .getMany();
    if (movies.length > 0) {
      await appendEvents(
        tx,
        MOVIES_STREAM,
        movies.map((m) => movieEvent('movie.created', m)),
      );
    }
    announced += movies.length;
  });
  await sources.cinemas.transaction(async (tx) => {
    const showtimes: Showtime[] = await tx
      .getRepository(Showtime)
      .createQueryBuilder('s')
      .where("s.status = 'SCHEDULED' AND s.starts_at > now()")
      .andWhere('NOT EXISTS (SELECT 1 FROM outbox o WHERE o.aggregate_id = s.id::text)')
      .getMany();
    await appendShowtimeEvents(tx, 'showtime.scheduled', showtimes);
    announced += showtimes.length;
  });
  return announced;
}

interface StoredDemoBooking extends DemoBookingSeats {
  showtimeId: string;
}

/**
 * The demo CONFIRMED bookings as stored (made on the day of the first seeding, not as today's
 * plan would make them), with their seats and each seat's price in that showtime.
 */
async function storedDemoBookings(
  sources: Record<SubgraphName, DataSource>,
  plan: DemoPlan,
): Promise<StoredDemoBooking[]> {
  const stored: { id: string; showtime_id: string }[] = await sources.bookings.query(
    `SELECT id, showtime_id FROM bookings WHERE id = ANY($1) AND status = 'CONFIRMED'`,
    [plan.bookings.map((b) => b.id)],
  );
  if (stored.length === 0) return [];
  const showtimes: { id: string; hall_id: string; price_table: Record<string, number> }[] =
    await sources.cinemas.query(
      'SELECT id, hall_id, price_table FROM showtimes WHERE id = ANY($1)',
      [stored.map((b) => b.showtime_id)],
    );
  const byId = new Map(showtimes.map((s) => [s.id, s]));
  return stored.flatMap((booking) => {
    const showtime = byId.get(booking.showtime_id);
    if (!showtime) return [];
    return [
      {
        bookingId: booking.id,
        showtimeId: booking.showtime_id,
        seats: demoBookingSeats(plan.seats, showtime.hall_id).map((seat) => ({
          seatId: seat.id,
          row: seat.row,
          number: seat.number,
          seatType: seat.type,
          price: showtime.price_table[seat.type] ?? 0,
        })),
      },
    ];
  });
}

/**
 * Reserves the demo bookings' seats in the cinemas database, as a confirmed booking's seats
 * are: the seat map shows them BOOKED and nobody can hold them. Works from the bookings as
 * stored (made on the day of the first seeding), not as today's plan would make them.
 * Idempotent: a reservation's id derives from its booking and seat.
 */
async function reserveDemoSeats(
  sources: Record<SubgraphName, DataSource>,
  stored: readonly StoredDemoBooking[],
): Promise<number> {
  const rows = stored.flatMap((booking) =>
    booking.seats.map((seat) => ({
      id: stableUuid('seat-reservation', `${booking.bookingId}:${seat.seatId}`),
      showtimeId: booking.showtimeId,
      seatId: seat.seatId,
      bookingId: booking.bookingId,
    })),
  );
  if (rows.length === 0) return 0;
  // ON CONFLICT without a target also yields to the one-active-reservation index.
  const inserted: unknown[] = await sources.cinemas.query(
    `INSERT INTO seat_reservations (id, showtime_id, seat_id, booking_id)
     SELECT * FROM unnest($1::uuid[], $2::uuid[], $3::uuid[], $4::uuid[])
     ON CONFLICT DO NOTHING RETURNING id`,
    [
      rows.map((r) => r.id),
      rows.map((r) => r.showtimeId),
      rows.map((r) => r.seatId),
      rows.map((r) => r.bookingId),
    ],
  );
  return inserted.length;
}

/**
 * Loads the demo data into the four databases. Idempotent: a second run adds only what is
 * missing (new days of showtimes), so it is safe on every start.
 */
export async function seedDemoData(
  sources: Record<SubgraphName, DataSource>,
  now: Date = new Date(),
  options: {
    /** Signs the demo bookings' tickets (`INTERNAL_SECRET`); without it they get none. */
    internalSecret?: string;
  } = {},
): Promise<Record<string, number>> {
  const plan = buildDemoPlan(now);
  const movies = plan.movies.map((m) => {
    const movie = Object.assign(new Movie(), m as unknown as Partial<Movie>);
    movie.computeSearchText();
    return movie;
  });
  const counts: Record<string, number> = {
    users: await insertMissing(sources.users, User, plan.users as User[]),
    movies: await insertMovies(sources.movies, movies),
    cinemas: await insertMissing(sources.cinemas, Cinema, plan.cinemas as Cinema[]),
    halls: await insertMissing(sources.cinemas, Hall, plan.halls as Hall[]),
    seats: await insertMissing(sources.cinemas, Seat, plan.seats as Seat[]),
    showtimes: await insertShowtimes(sources.cinemas, plan),
    bookings: await insertMissing(sources.bookings, Booking, plan.bookings as Booking[]),
  };
  const stored = await storedDemoBookings(sources, plan);
  counts.reservedSeats = await reserveDemoSeats(sources, stored);
  // Concessions, promotions and a loyalty balance through the ledger, as the booking engine
  // keeps them; tickets for the demo bookings when there is a key to sign them with.
  const booking = await seedBookingDemo(sources.bookings, {
    cinemaIds: plan.cinemas.map((c) => c.id),
    loyaltyUserId: 'demo-customer',
    now,
    ...(options.internalSecret
      ? { tickets: { internalSecret: options.internalSecret, bookings: stored } }
      : {}),
  });
  counts.concessions = booking.concessions;
  counts.promotions = booking.promotions;
  counts.loyaltyPoints = booking.loyaltyPoints;
  counts.tickets = booking.tickets;
  counts.announced = await announceUnpublished(sources);
  return counts;
}

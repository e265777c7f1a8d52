import { randomUUID } from 'node:crypto';
import type { DataSource } from 'typeorm';
import { AppError, notFound } from '../../../../runtime/errors';
import { foldText } from '../../../../runtime/text';
import * as v from '../../../../runtime/validation';
import { Cinema, Hall, Seat } from './cinema.entity';
import type { CreateCinemaInput, CreateHallInput, UpdateCinemaInput } from './cinema.inputs';
import { buildHallSeats } from './hall-layout';
import { appendShowtimeEvents } from '../showtime/showtime-admin.service';
import { Showtime } from '../showtime/showtime.entity';

/** The admin's writes to cinemas and halls. */
export class CinemaAdminService {
  constructor(
    private readonly dataSource: DataSource,
    /** Called after a commit that wrote events, so the relay publishes them at once. */
    private readonly eventsWritten: () => void = () => {},
  ) {}

  async createCinema(input: CreateCinemaInput): Promise<Cinema> {
    const cinema = Object.assign(new Cinema(), { id: randomUUID(), ...this.cinemaFields(input) });
    if (!cinema.name || !cinema.city || !cinema.address) {
      throw new AppError('BAD_USER_INPUT', 'name, city and address are required');
    }
    await this.dataSource.getRepository(Cinema).insert(cinema);
    return cinema;
  }

  /**
   * A cinema that moves city moves its coming showtimes with it: their events go out in the
   * same transaction, so the movies subgraph's city filter follows.
   */
  async updateCinema(id: string, input: UpdateCinemaInput): Promise<Cinema> {
    const changes = this.cinemaFields(input);
    let moved = false;
    const cinema = await this.dataSource.transaction(async (tx) => {
      const repo = tx.getRepository(Cinema);
      const current = await repo.findOne({ where: { id }, lock: { mode: 'pessimistic_write' } });
      if (!current) throw notFound('Cinema', id);
      moved = changes.cityKey !== undefined && changes.cityKey !== current.cityKey;
      Object.assign(current, changes);
      await repo.save(current);
      if (moved) {
        const coming: Showtime[] = await tx
          .getRepository(Showtime)
          .createQueryBuilder('s')
          .innerJoin(Hall, 'h', 'h.id = s.hall_id')
          .where('h.cinema_id = :id', { id })
          .andWhere("s.status = 'SCHEDULED' AND s.starts_at > now()")
          .getMany();
        await appendShowtimeEvents(tx, 'showtime.updated', coming);
      }
      return current;
    });
    if (moved) this.eventsWritten();
    return cinema;
  }

  private cinemaFields(input: UpdateCinemaInput): Partial<Cinema> {
    const out: Partial<Cinema> = {};
    if (input.name != null) out.name = v.text('name', input.name, { max: 200 });
    if (input.city != null) {
      out.city = v.text('city', input.city, { max: 100 });
      out.cityKey = foldText(out.city);
    }
    if (input.address != null) out.address = v.text('address', input.address, { max: 500 });
    if (input.latitude != null) out.latitude = v.latitude('latitude', input.latitude);
    if (input.longitude != null) out.longitude = v.longitude('longitude', input.longitude);
    return out;
  }

  /** A hall with its seats, in one transaction. */
  async createHall(input: CreateHallInput): Promise<Hall> {
    const name = v.text('name', input.name, { max: 100 });
    const seats = buildHallSeats(input);
    return this.dataSource.transaction(async (tx) => {
      const cinema = await tx.getRepository(Cinema).findOneBy({ id: input.cinemaId });
      if (!cinema) throw notFound('Cinema', input.cinemaId);
      const hall = Object.assign(new Hall(), {
        id: randomUUID(),
        cinemaId: cinema.id,
        name,
        rows: input.rows,
        columns: input.columns,
        capacity: seats.length,
      });
      try {
        await tx.getRepository(Hall).insert(hall);
      } catch (err) {
        if ((err as { code?: string }).code === '23505') {
          throw new AppError('BAD_USER_INPUT', `The cinema already has a hall named ${name}`, {
            field: 'name',
          });
        }
        throw err;
      }
      await tx
        .getRepository(Seat)
        .insert(seats.map((s) => Object.assign(new Seat(), { ...s, hallId: hall.id })));
      return hall;
    });
  }
}

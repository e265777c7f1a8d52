import { randomUUID } from 'node:crypto';
import type { DataSource } from 'typeorm';
import { AppError, notFound } from '../../../../runtime/errors';
import { foldText } from '../../../../runtime/text';
import * as v from '../../../../runtime/validation';
import { Cinema, Hall, Seat } from './cinema.entity';
import type { CreateCinemaInput, CreateHallInput, UpdateCinemaInput } from './cinema.inputs';
import { buildHallSeats } from './hall-layout';

/** The admin's writes to cinemas and halls. */
export class CinemaAdminService {
  constructor(private readonly dataSource: DataSource) {}

  async createCinema(input: CreateCinemaInput): Promise<Cinema> {
    const cinema = Object.assign(new Cinema(), { id: randomUUID(), ...this.cinemaFields(input) });
    if (!cinema.name || !cinema.city || !cinema.address) {
      throw new AppError('BAD_USER_INPUT', 'name, city and address are required');
    }
    await this.dataSource.getRepository(Cinema).insert(cinema);
    return cinema;
  }

  async updateCinema(id: string, input: UpdateCinemaInput): Promise<Cinema> {
    const repo = this.dataSource.getRepository(Cinema);
    const cinema = await repo.findOneBy({ id });
    if (!cinema) throw notFound('Cinema', id);
    Object.assign(cinema, this.cinemaFields(input));
    await repo.save(cinema);
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

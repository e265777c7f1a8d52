import { In, type DataSource } from 'typeorm';
import { byKeys, findByUuids, groupByKeys } from '../../../../runtime/loaders';
import { foldText } from '../../../../runtime/text';
import { Cinema, Hall, Seat } from './cinema.entity';

export class CinemaService {
  constructor(private readonly dataSource: DataSource) {}

  async list(city?: string | null): Promise<Cinema[]> {
    const where = city ? { cityKey: foldText(city) } : {};
    return this.dataSource
      .getRepository(Cinema)
      .find({ where, order: { city: 'ASC', name: 'ASC' } });
  }

  cinemasByIds(ids: readonly string[]): Promise<(Cinema | null)[]> {
    return findByUuids(this.dataSource.getRepository(Cinema), ids);
  }

  hallsByIds(ids: readonly string[]): Promise<(Hall | null)[]> {
    return findByUuids(this.dataSource.getRepository(Hall), ids);
  }

  async hallsByCinemaIds(cinemaIds: readonly string[]): Promise<Hall[][]> {
    const rows = await this.dataSource
      .getRepository(Hall)
      .find({ where: { cinemaId: In([...cinemaIds]) }, order: { name: 'ASC' } });
    return groupByKeys(cinemaIds, rows, (h) => h.cinemaId);
  }

  async seatsByHallIds(hallIds: readonly string[]): Promise<Seat[][]> {
    const rows = await this.dataSource.getRepository(Seat).find({
      where: { hallId: In([...hallIds]) },
      order: { row: 'ASC', column: 'ASC' },
    });
    return groupByKeys(hallIds, rows, (s) => s.hallId);
  }

  async seatsByIds(ids: readonly string[]): Promise<(Seat | null)[]> {
    const rows = await this.dataSource.getRepository(Seat).findBy({ id: In([...ids]) });
    return byKeys(ids, rows, (s) => s.id);
  }

  /** Seats that can be sold at all (not blocked), per hall. */
  async sellableSeatCounts(hallIds: readonly string[]): Promise<number[]> {
    const rows: { hall_id: string; n: string }[] = await this.dataSource.query(
      `SELECT hall_id, count(*) AS n FROM seats
       WHERE hall_id = ANY($1) AND NOT blocked GROUP BY hall_id`,
      [[...hallIds]],
    );
    const map = new Map(rows.map((r) => [r.hall_id, Number(r.n)]));
    return hallIds.map((id) => map.get(id) ?? 0);
  }
}

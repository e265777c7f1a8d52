import type { DataSource } from 'typeorm';
import type { SeatVersionLedger } from './seat-hold.store';

/**
 * The memory store's version ledger in the cinemas database (`seat_map_versions`): one row
 * per showtime whose seat map ever changed, holding the highest version reserved so far.
 */
export class PostgresSeatVersionLedger implements SeatVersionLedger {
  constructor(private readonly dataSource: DataSource) {}

  async load(): Promise<Map<string, number>> {
    const rows: Array<{ showtime_id: string; reserved: string }> = await this.dataSource.query(
      'SELECT showtime_id, reserved FROM seat_map_versions',
    );
    return new Map(rows.map((r) => [r.showtime_id, Number(r.reserved)]));
  }

  /** One statement: concurrent reservations never hand out the same block twice. */
  async reserve(showtimeId: string, count: number): Promise<number> {
    const [row]: Array<{ reserved: string }> = await this.dataSource.query(
      `INSERT INTO seat_map_versions AS v (showtime_id, reserved) VALUES ($1, $2)
       ON CONFLICT (showtime_id) DO UPDATE SET reserved = v.reserved + EXCLUDED.reserved
       RETURNING reserved`,
      [showtimeId, count],
    );
    return Number(row.reserved);
  }
}

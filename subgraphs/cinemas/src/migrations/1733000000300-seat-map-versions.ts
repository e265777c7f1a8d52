import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * The embedded default keeps seat holds in memory; this table is what keeps a showtime's
 * seat-map version from going back when that process restarts (issue 9 item 5): the store
 * reserves versions here before it issues them, and starts from `reserved` after a restart.
 * Redis deployments keep their counters in Redis and never write it.
 */
export class SeatMapVersions1733000000300 implements MigrationInterface {
  name = 'SeatMapVersions1733000000300';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`
      CREATE TABLE seat_map_versions (
        showtime_id uuid PRIMARY KEY REFERENCES showtimes (id) ON DELETE CASCADE,
        reserved bigint NOT NULL CHECK (reserved >= 0)
      )`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query('DROP TABLE seat_map_versions');
  }
}

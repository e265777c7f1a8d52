import type { MigrationInterface, QueryRunner } from 'typeorm';
import { createOutboxTable, dropOutboxTable } from '../../../../runtime/events/migrations';

/**
 * A showtime never overlaps another in its hall, the cleaning gap after each included: an
 * exclusion constraint makes that true under any concurrency. Plus the outbox that carries
 * showtime events to the other subgraphs.
 */
export class ScheduleIntegrity1732700000000 implements MigrationInterface {
  name = 'ScheduleIntegrity1732700000000';

  async up(q: QueryRunner): Promise<void> {
    await q.query('CREATE EXTENSION IF NOT EXISTS btree_gist');
    // The end of the cleaning gap is stored: timestamptz + interval is not immutable, so it
    // cannot appear in the constraint's expression.
    await q.query('ALTER TABLE showtimes ADD COLUMN busy_until timestamptz');
    await q.query(`UPDATE showtimes SET busy_until = ends_at + interval '15 minutes'`);
    await q.query(`ALTER TABLE showtimes ALTER COLUMN busy_until SET NOT NULL,
      ADD CONSTRAINT showtimes_busy_after_end CHECK (busy_until >= ends_at)`);
    await q.query(`ALTER TABLE showtimes ADD CONSTRAINT showtimes_no_overlap
      EXCLUDE USING gist (hall_id WITH =, tstzrange(starts_at, busy_until) WITH &&)
      WHERE (status = 'SCHEDULED')`);
    await createOutboxTable(q);
  }

  async down(q: QueryRunner): Promise<void> {
    await dropOutboxTable(q);
    await q.query('ALTER TABLE showtimes DROP CONSTRAINT showtimes_no_overlap');
    await q.query('ALTER TABLE showtimes DROP COLUMN busy_until');
  }
}

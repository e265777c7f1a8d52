import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Creation times at millisecond precision, what JavaScript dates carry: a cursor made from a
 * row's `createdAt` then compares exactly with the column, and no row of the same
 * millisecond is skipped between pages.
 */
export class MillisecondTimestamps1732900000000 implements MigrationInterface {
  name = 'MillisecondTimestamps1732900000000';

  async up(q: QueryRunner): Promise<void> {
    await q.query('ALTER TABLE bookings ALTER COLUMN created_at TYPE timestamptz(3)');
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query('ALTER TABLE bookings ALTER COLUMN created_at TYPE timestamptz');
  }
}

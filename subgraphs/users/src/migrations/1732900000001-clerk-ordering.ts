import type { MigrationInterface, QueryRunner } from 'typeorm';

/** Clerk's own `updated_at` of the last event applied: a late, older delivery changes nothing. */
export class ClerkOrdering1732900000001 implements MigrationInterface {
  name = 'ClerkOrdering1732900000001';

  async up(q: QueryRunner): Promise<void> {
    await q.query('ALTER TABLE users ADD COLUMN clerk_updated_at bigint');
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query('ALTER TABLE users DROP COLUMN clerk_updated_at');
  }
}

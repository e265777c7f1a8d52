import type { MigrationInterface, QueryRunner } from 'typeorm';

/** The index the retention job prunes applied Clerk event ids by (`CLERK_EVENTS_RETENTION`). */
export class ClerkEventRetention1733100000000 implements MigrationInterface {
  name = 'ClerkEventRetention1733100000000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(
      'CREATE INDEX IF NOT EXISTS clerk_events_received_at_idx ON clerk_events (received_at)',
    );
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query('DROP INDEX IF EXISTS clerk_events_received_at_idx');
  }
}

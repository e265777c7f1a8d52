import type { MigrationInterface, QueryRunner } from 'typeorm';

export class UserDeletionAndWebhooks1732600000000 implements MigrationInterface {
  name = 'UserDeletionAndWebhooks1732600000000';

  async up(q: QueryRunner): Promise<void> {
    await q.query('ALTER TABLE users ADD COLUMN deleted_at timestamptz');
    // One row per Clerk webhook event applied: a replayed event id changes nothing.
    await q.query(`
      CREATE TABLE clerk_events (
        id text PRIMARY KEY,
        type text NOT NULL,
        user_id text,
        received_at timestamptz NOT NULL DEFAULT now()
      )`);
    await q.query('CREATE INDEX users_name_idx ON users (lower(name))');
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query('DROP INDEX users_name_idx');
    await q.query('DROP TABLE clerk_events');
    await q.query('ALTER TABLE users DROP COLUMN deleted_at');
  }
}

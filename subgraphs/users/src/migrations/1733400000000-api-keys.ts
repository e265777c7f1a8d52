import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Partner keys of the public graph. Only a key's SHA-256 is kept (unique: it is what a
 * presented key is found by); `created_at` to the millisecond, as the list's cursors carry it.
 */
export class ApiKeys1733400000000 implements MigrationInterface {
  name = 'ApiKeys1733400000000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`
      CREATE TABLE api_keys (
        id uuid PRIMARY KEY,
        name text NOT NULL,
        owner text NOT NULL,
        requests_per_minute int NOT NULL CHECK (requests_per_minute > 0),
        key_hash text NOT NULL UNIQUE CHECK (key_hash ~ '^[0-9a-f]{64}$'),
        key_prefix text NOT NULL,
        created_by text,
        created_at timestamptz(3) NOT NULL DEFAULT now(),
        revoked_at timestamptz(3)
      )`);
    await q.query('CREATE INDEX api_keys_created_idx ON api_keys (created_at DESC, id)');
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query('DROP TABLE api_keys');
  }
}

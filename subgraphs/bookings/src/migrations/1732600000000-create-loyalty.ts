import type { MigrationInterface, QueryRunner } from 'typeorm';

export class CreateLoyalty1732600000000 implements MigrationInterface {
  name = 'CreateLoyalty1732600000000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`
      CREATE TABLE loyalty_accounts (
        user_id text PRIMARY KEY,
        points int NOT NULL DEFAULT 0 CHECK (points >= 0),
        tier text NOT NULL DEFAULT 'BRONZE' CHECK (tier IN ('BRONZE', 'SILVER', 'GOLD', 'PLATINUM')),
        total_spent bigint NOT NULL DEFAULT 0 CHECK (total_spent >= 0),
        created_at timestamptz NOT NULL DEFAULT now(),
        updated_at timestamptz NOT NULL DEFAULT now()
      )`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query('DROP TABLE loyalty_accounts');
  }
}

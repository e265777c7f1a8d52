import type { MigrationInterface, QueryRunner } from 'typeorm';
import { createConsumerTables, dropConsumerTables } from '../../../../runtime/events/migrations';

/** The cinemas subgraph's projection of movies (running time, status), fed by movie events. */
export class MovieRuntimes1732700000001 implements MigrationInterface {
  name = 'MovieRuntimes1732700000001';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`
      CREATE TABLE movie_runtimes (
        movie_id uuid PRIMARY KEY,
        title text NOT NULL,
        duration_minutes int NOT NULL,
        status text NOT NULL,
        updated_at timestamptz NOT NULL
      )`);
    await createConsumerTables(q);
  }

  async down(q: QueryRunner): Promise<void> {
    await dropConsumerTables(q);
    await q.query('DROP TABLE movie_runtimes');
  }
}

import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * The movies subgraph's projection of where and when movies play, fed by the cinemas
 * subgraph's showtime events, so `movies(filter: { city })` never calls cinemas.
 */
export class MovieShowings1732700000001 implements MigrationInterface {
  name = 'MovieShowings1732700000001';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`
      CREATE TABLE movie_showings (
        showtime_id uuid PRIMARY KEY,
        movie_id uuid NOT NULL,
        city_key text NOT NULL,
        starts_at timestamptz NOT NULL,
        status text NOT NULL,
        updated_at timestamptz NOT NULL DEFAULT now()
      )`);
    await q.query(`CREATE INDEX movie_showings_city_idx
      ON movie_showings (city_key, movie_id, starts_at) WHERE status = 'SCHEDULED'`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query('DROP TABLE movie_showings');
  }
}

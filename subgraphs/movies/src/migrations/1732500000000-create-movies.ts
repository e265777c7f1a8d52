import type { MigrationInterface, QueryRunner } from 'typeorm';

export class CreateMovies1732500000000 implements MigrationInterface {
  name = 'CreateMovies1732500000000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`
      CREATE TABLE movies (
        id uuid PRIMARY KEY,
        title text NOT NULL CHECK (length(title) BETWEEN 1 AND 300),
        original_title text NOT NULL,
        synopsis text NOT NULL DEFAULT '',
        duration_minutes int NOT NULL CHECK (duration_minutes BETWEEN 1 AND 600),
        age_rating text NOT NULL CHECK (age_rating IN ('P', 'K', 'T13', 'T16', 'T18')),
        genres text[] NOT NULL DEFAULT '{}',
        director text NOT NULL DEFAULT '',
        "cast" text[] NOT NULL DEFAULT '{}',
        languages text[] NOT NULL DEFAULT '{}',
        release_date date NOT NULL,
        poster_url text,
        trailer_url text,
        status text NOT NULL CHECK (status IN ('COMING_SOON', 'NOW_SHOWING', 'ARCHIVED')),
        search_text text NOT NULL DEFAULT '',
        created_at timestamptz NOT NULL DEFAULT now(),
        updated_at timestamptz NOT NULL DEFAULT now()
      )`);
    await q.query(
      `CREATE INDEX movies_status_release_idx ON movies (status, release_date DESC, id)`,
    );
    await q.query(`CREATE INDEX movies_genres_idx ON movies USING gin (genres)`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query('DROP TABLE movies');
  }
}

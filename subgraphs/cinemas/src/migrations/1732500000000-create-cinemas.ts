import type { MigrationInterface, QueryRunner } from 'typeorm';

export class CreateCinemas1732500000000 implements MigrationInterface {
  name = 'CreateCinemas1732500000000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`
      CREATE TABLE cinemas (
        id uuid PRIMARY KEY,
        name text NOT NULL,
        city text NOT NULL,
        city_key text NOT NULL,
        address text NOT NULL,
        latitude double precision,
        longitude double precision,
        created_at timestamptz NOT NULL DEFAULT now()
      )`);
    await q.query('CREATE INDEX cinemas_city_key_idx ON cinemas (city_key)');
    await q.query(`
      CREATE TABLE halls (
        id uuid PRIMARY KEY,
        cinema_id uuid NOT NULL REFERENCES cinemas (id),
        name text NOT NULL,
        rows int NOT NULL CHECK (rows BETWEEN 1 AND 26),
        columns int NOT NULL CHECK (columns BETWEEN 1 AND 60),
        capacity int NOT NULL CHECK (capacity >= 0),
        created_at timestamptz NOT NULL DEFAULT now(),
        UNIQUE (cinema_id, name)
      )`);
    await q.query(`
      CREATE TABLE seats (
        id uuid PRIMARY KEY,
        hall_id uuid NOT NULL REFERENCES halls (id),
        row_label text NOT NULL,
        number int NOT NULL,
        column_index int NOT NULL,
        type text NOT NULL CHECK (type IN ('STANDARD', 'VIP', 'COUPLE', 'PREMIUM', 'ACCESSIBLE')),
        blocked boolean NOT NULL DEFAULT false,
        UNIQUE (hall_id, row_label, number),
        UNIQUE (hall_id, row_label, column_index)
      )`);
    await q.query(`
      CREATE TABLE showtimes (
        id uuid PRIMARY KEY,
        movie_id uuid NOT NULL,
        hall_id uuid NOT NULL REFERENCES halls (id),
        starts_at timestamptz NOT NULL,
        ends_at timestamptz NOT NULL,
        format text NOT NULL CHECK (format IN ('2D', '3D', 'IMAX')),
        language text NOT NULL,
        subtitles text,
        price_table jsonb NOT NULL,
        status text NOT NULL DEFAULT 'SCHEDULED' CHECK (status IN ('SCHEDULED', 'CANCELLED')),
        created_at timestamptz NOT NULL DEFAULT now(),
        CHECK (ends_at > starts_at)
      )`);
    await q.query('CREATE INDEX showtimes_movie_starts_idx ON showtimes (movie_id, starts_at)');
    await q.query('CREATE INDEX showtimes_hall_starts_idx ON showtimes (hall_id, starts_at)');
    await q.query('CREATE INDEX showtimes_starts_idx ON showtimes (starts_at)');
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query('DROP TABLE showtimes');
    await q.query('DROP TABLE seats');
    await q.query('DROP TABLE halls');
    await q.query('DROP TABLE cinemas');
  }
}

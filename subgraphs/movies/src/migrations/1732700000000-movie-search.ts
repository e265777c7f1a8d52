import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Ranked, typo-tolerant search. Text is folded (case, Vietnamese diacritics, đ) in the
 * application before it is stored or searched (runtime/text.ts), which keeps the indexed
 * expressions immutable; full-text ('simple' configuration) matches words, pg_trgm tolerates
 * typos and partial words.
 */
export class MovieSearch1732700000000 implements MigrationInterface {
  name = 'MovieSearch1732700000000';

  async up(q: QueryRunner): Promise<void> {
    await q.query('CREATE EXTENSION IF NOT EXISTS pg_trgm');
    await q.query(`ALTER TABLE movies ADD COLUMN search_title text NOT NULL DEFAULT ''`);
    await q.query(`ALTER TABLE movies ADD COLUMN search_vector tsvector
      GENERATED ALWAYS AS (to_tsvector('simple', search_text)) STORED`);
    await q.query('CREATE INDEX movies_search_vector_idx ON movies USING gin (search_vector)');
    await q.query(
      'CREATE INDEX movies_search_trgm_idx ON movies USING gin (search_text gin_trgm_ops)',
    );
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query('DROP INDEX movies_search_trgm_idx');
    await q.query('DROP INDEX movies_search_vector_idx');
    await q.query('ALTER TABLE movies DROP COLUMN search_vector');
    await q.query('ALTER TABLE movies DROP COLUMN search_title');
  }
}

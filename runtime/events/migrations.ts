import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Creates the transactional outbox of a producing subgraph. Called from that subgraph's own
 * migration, so that the table lives in the same database as the state it reports on and an
 * event can be written in the same transaction as the change.
 */
export async function createOutboxTable(q: QueryRunner): Promise<void> {
  await q.query(`
    CREATE TABLE outbox (
      seq bigserial PRIMARY KEY,
      id uuid NOT NULL UNIQUE,
      stream text NOT NULL,
      type text NOT NULL,
      aggregate_id text NOT NULL,
      payload jsonb NOT NULL,
      occurred_at timestamptz NOT NULL,
      published_at timestamptz,
      attempts int NOT NULL DEFAULT 0,
      last_error text
    )`);
  // The relay only ever looks for what is still unpublished, in order: keep that index tiny.
  await q.query('CREATE INDEX outbox_unpublished_idx ON outbox (seq) WHERE published_at IS NULL');
}

/** Reverts `createOutboxTable` (a migration's `down`). */
export async function dropOutboxTable(q: QueryRunner): Promise<void> {
  await q.query('DROP TABLE IF EXISTS outbox');
}

/**
 * Creates what a consuming subgraph needs to be idempotent (`processed_events`) and to keep
 * what it could not process (`dead_letters`). Called from that subgraph's own migration, so
 * that "mark processed" commits atomically with the effect of the event.
 */
export async function createConsumerTables(q: QueryRunner): Promise<void> {
  await q.query(`
    CREATE TABLE processed_events (
      consumer text NOT NULL,
      event_id uuid NOT NULL,
      processed_at timestamptz NOT NULL DEFAULT now(),
      PRIMARY KEY (consumer, event_id)
    )`);
  await q.query(`
    CREATE TABLE dead_letters (
      id bigserial PRIMARY KEY,
      consumer text NOT NULL,
      stream text NOT NULL,
      event_id uuid NOT NULL,
      event jsonb NOT NULL,
      error text NOT NULL,
      attempts int NOT NULL,
      created_at timestamptz NOT NULL DEFAULT now()
    )`);
  // At-least-once delivery may report the same failure twice (a crash between recording it
  // and acknowledging it): one row per consumer and event, whatever happens.
  await q.query(
    'CREATE UNIQUE INDEX dead_letters_consumer_event_idx ON dead_letters (consumer, event_id)',
  );
}

/** Reverts `createConsumerTables` (a migration's `down`). */
export async function dropConsumerTables(q: QueryRunner): Promise<void> {
  await q.query('DROP TABLE IF EXISTS dead_letters');
  await q.query('DROP TABLE IF EXISTS processed_events');
}

/**
 * The index `pruneExpiredRows(OUTBOX_RETENTION)` finds published rows by: partial, so the
 * rows still waiting for the relay stay out of it. For a producer's later migration (the
 * outbox table exists already).
 */
export async function createOutboxRetentionIndex(q: QueryRunner): Promise<void> {
  await q.query(
    `CREATE INDEX IF NOT EXISTS outbox_published_at_idx
       ON outbox (published_at) WHERE published_at IS NOT NULL`,
  );
}

/** The index `pruneExpiredRows(PROCESSED_EVENTS_RETENTION)` finds old ledger rows by. */
export async function createConsumerRetentionIndex(q: QueryRunner): Promise<void> {
  await q.query(
    'CREATE INDEX IF NOT EXISTS processed_events_processed_at_idx ON processed_events (processed_at)',
  );
}

/** The index `pruneExpiredRows(DEAD_LETTERS_RETENTION)` finds old dead letters by. */
export async function createDeadLettersRetentionIndex(q: QueryRunner): Promise<void> {
  await q.query(
    'CREATE INDEX IF NOT EXISTS dead_letters_created_at_idx ON dead_letters (created_at)',
  );
}

/** Reverts `createDeadLettersRetentionIndex`. */
export async function dropDeadLettersRetentionIndex(q: QueryRunner): Promise<void> {
  await q.query('DROP INDEX IF EXISTS dead_letters_created_at_idx');
}

/**
 * The migration of a consuming subgraph created before dead letters were pruned: the index
 * `DEAD_LETTERS_RETENTION` prunes by. One class for every such subgraph (movies, cinemas);
 * each runs it once in its own database.
 */
export class DeadLetterRetention1733500000000 implements MigrationInterface {
  name = 'DeadLetterRetention1733500000000';

  async up(q: QueryRunner): Promise<void> {
    await createDeadLettersRetentionIndex(q);
  }

  async down(q: QueryRunner): Promise<void> {
    await dropDeadLettersRetentionIndex(q);
  }
}

/** Reverts `createOutboxRetentionIndex` and `createConsumerRetentionIndex`. */
export async function dropRetentionIndexes(q: QueryRunner): Promise<void> {
  await q.query('DROP INDEX IF EXISTS outbox_published_at_idx');
  await q.query('DROP INDEX IF EXISTS processed_events_processed_at_idx');
}

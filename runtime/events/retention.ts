import type { DataSource } from 'typeorm';
import type { Logger } from '../logger';

/**
 * A table whose rows are kept for the event retention and then pruned: `column` is when a
 * row stopped being needed for anything but deduplication, and `extraMs` keeps rows that
 * much longer than the retention.
 */
export interface RetentionTarget {
  table: string;
  column: string;
  extraMs?: number;
}

/**
 * Published outbox rows: after publication they serve only to look at; unpublished rows
 * (`published_at IS NULL`) are never pruned, whatever their age.
 */
export const OUTBOX_RETENTION: RetentionTarget = { table: 'outbox', column: 'published_at' };

/**
 * The idempotency ledger of `handleOnce`. Pruning an id allows a redelivery of that event to
 * be applied again, so the ledger outlives every redelivery the transports still make: a
 * redelivery is dead-lettered instead of applied once the entry is older than the retention
 * (`refuseStale`), and the ledger keeps its rows an hour longer than that, for the clocks of
 * Redis and PostgreSQL to differ and for an event the relay published twice (a crash between
 * publishing and marking it: the copy follows within seconds) to count from the first copy.
 */
export const PROCESSED_EVENTS_RETENTION: RetentionTarget = {
  table: 'processed_events',
  column: 'processed_at',
  extraMs: 3_600_000,
};

/**
 * Events a consumer gave up on (`recordDeadLetter`): kept for someone to look at and replay,
 * 30 days beyond the retention, and then pruned, so that a consumer failing on every event
 * for weeks does not grow its database without end.
 */
export const DEAD_LETTERS_RETENTION: RetentionTarget = {
  table: 'dead_letters',
  column: 'created_at',
  extraMs: 30 * 24 * 3_600_000,
};

/** Rows deleted per statement: short transactions, short locks. */
const DEFAULT_BATCH_SIZE = 1000;
/** Table and column names are interpolated into SQL: code constants only, checked. */
const IDENTIFIER = /^[a-z_][a-z0-9_]*$/;

export interface PruneOptions {
  /** Rows per DELETE. Default 1000. */
  batchSize?: number;
  /** The clock; tests move it. Default `Date.now`. */
  now?: () => number;
}

/**
 * Deletes the rows of `target` older than the retention (plus its `extraMs`), a batch per
 * statement until none is left. Each batch takes its rows with `FOR UPDATE SKIP LOCKED`, so
 * instances pruning at the same time split the work instead of queueing behind each other,
 * and a row deleted by another one is simply not there: running it anywhere, any number of
 * times, is safe. Returns how many rows went.
 */
export async function pruneExpiredRows(
  dataSource: DataSource,
  target: RetentionTarget,
  retentionMs: number,
  options: PruneOptions = {},
): Promise<number> {
  if (!IDENTIFIER.test(target.table) || !IDENTIFIER.test(target.column)) {
    throw new Error(`Invalid retention target ${target.table}.${target.column}`);
  }
  const batchSize = options.batchSize ?? DEFAULT_BATCH_SIZE;
  if (!Number.isInteger(batchSize) || batchSize < 1) {
    throw new Error(`batchSize must be a positive integer, got ${batchSize}`);
  }
  const now = (options.now ?? Date.now)();
  const cutoff = new Date(now - retentionMs - (target.extraMs ?? 0));
  // ctid = ANY(ARRAY(...)) is a TID scan: the DELETE touches exactly the rows selected,
  // through the index on the time column, without a second index lookup.
  const sql = `
    DELETE FROM ${target.table}
     WHERE ctid = ANY(ARRAY(
       SELECT ctid FROM ${target.table}
        WHERE ${target.column} < $1
        LIMIT $2
        FOR UPDATE SKIP LOCKED))`;
  let total = 0;
  for (;;) {
    const result = await dataSource.query<[unknown[], number]>(sql, [cutoff, batchSize]);
    const deleted = Number(result[1] ?? 0);
    total += deleted;
    if (deleted < batchSize) return total;
  }
}

export interface EventRetentionOptions {
  dataSource: DataSource;
  log: Logger;
  /** `config.events.retentionHours`. */
  retentionHours: number;
  /** The tables of this database to prune, e.g. `[OUTBOX_RETENTION]`. */
  targets: readonly RetentionTarget[];
  /** Between passes. Default 15 minutes; the first pass runs within the first interval. */
  intervalMs?: number;
  batchSize?: number;
  now?: () => number;
}

/**
 * Prunes `targets` every `intervalMs`, each instance on its own (the deletes are safe to run
 * concurrently). The first pass comes at a random point of the first interval, so that
 * instances started together do not all prune at once and short-lived ones still prune.
 * Returns how to stop it (waits for a pass in progress).
 */
export function startEventRetention(options: EventRetentionOptions): () => Promise<void> {
  const { dataSource, log, targets } = options;
  const retentionMs = options.retentionHours * 3_600_000;
  const intervalMs = options.intervalMs ?? 15 * 60_000;
  let stopped = false;
  let timer: NodeJS.Timeout | undefined;
  let running: Promise<void> | undefined;

  const pass = async () => {
    for (const target of targets) {
      if (stopped) return;
      try {
        const pruned = await pruneExpiredRows(dataSource, target, retentionMs, options);
        if (pruned > 0) log.info({ table: target.table, pruned }, 'pruned expired rows');
      } catch (err) {
        log.warn({ err, table: target.table }, 'pruning expired rows failed; will retry');
      }
    }
  };
  const schedule = (delay: number) => {
    timer = setTimeout(() => {
      running = pass().finally(() => {
        running = undefined;
        if (!stopped) schedule(intervalMs);
      });
    }, delay);
    timer.unref();
  };
  schedule(Math.floor(Math.random() * intervalMs));

  return async () => {
    stopped = true;
    clearTimeout(timer);
    await running;
  };
}

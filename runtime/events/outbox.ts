import { randomUUID } from 'node:crypto';
import type { DataSource, EntityManager } from 'typeorm';
import type { Logger } from '../logger';
import { assertStreamName, describeError, toError, type DomainEvent, type NewEvent } from './event';
import type { EventTransport } from './transport';

/** Rows per INSERT: PostgreSQL takes at most 65,535 parameters per statement (6 per row). */
const INSERT_CHUNK = 5000;

/**
 * Records events in the outbox within the caller's transaction, so that they exist if and
 * only if the state change they describe commits: nothing is announced that did not happen,
 * and nothing that happened goes unannounced. The relay publishes them after the commit;
 * call `relay.notify()` then to publish without waiting for its next poll.
 *
 * Throws unless `manager` is inside a transaction, since an outbox row written on its own
 * would defeat the point.
 */
export async function appendEvents<P = unknown>(
  manager: EntityManager,
  stream: string,
  events: ReadonlyArray<NewEvent<P>>,
): Promise<DomainEvent<P>[]> {
  assertStreamName(stream);
  if (!manager.queryRunner?.isTransactionActive) {
    throw new Error('appendEvents must run in the transaction that makes the change');
  }
  // The database's clock, not this instance's: every instance of a service writes to one
  // database, so "newer" means the same thing whichever instance made the change (consumers
  // keep the newest event per aggregate). clock_timestamp() moves within a transaction.
  const [{ now }] = await manager.query<{ now: string }[]>(
    `SELECT to_char(clock_timestamp() AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"') AS now`,
  );
  const occurredAt = now;
  const created: DomainEvent<P>[] = events.map((e) => ({
    id: randomUUID(),
    type: e.type,
    aggregateId: e.aggregateId,
    payload: e.payload,
    occurredAt,
  }));
  for (let start = 0; start < created.length; start += INSERT_CHUNK) {
    const chunk = created.slice(start, start + INSERT_CHUNK);
    const params: unknown[] = [];
    const rows = chunk.map((e) => {
      const n = params.length;
      params.push(
        e.id,
        stream,
        e.type,
        e.aggregateId,
        JSON.stringify(e.payload ?? null),
        occurredAt,
      );
      return `($${n + 1}, $${n + 2}, $${n + 3}, $${n + 4}, $${n + 5}::jsonb, $${n + 6})`;
    });
    await manager.query(
      `INSERT INTO outbox (id, stream, type, aggregate_id, payload, occurred_at)
       VALUES ${rows.join(', ')}`,
      params,
    );
  }
  return created;
}

export interface OutboxRelayOptions {
  dataSource: DataSource;
  transport: EventTransport;
  log: Logger;
  /** Rows published per transaction. Default 200. */
  batchSize?: number;
  /** How often the outbox is checked when nothing calls `notify()`. Default 200. */
  pollIntervalMs?: number;
  /** Longest wait between attempts while the transport keeps failing. Default 5000. */
  maxBackoffMs?: number;
  /**
   * A publish that takes longer is counted as failed (its rows stay unpublished and are sent
   * again: at-least-once), so that a hung transport cannot hold the rows' locks forever.
   * Default 10000.
   */
  publishTimeoutMs?: number;
}

interface OutboxRow {
  seq: string;
  id: string;
  stream: string;
  type: string;
  aggregate_id: string;
  payload: unknown;
  occurred_at: Date;
}

interface DrainResult {
  published: number;
  failed: boolean;
  /** The batch was full: more rows are probably waiting. */
  full: boolean;
}

/**
 * Publishes outbox rows to the transport, in `seq` order, and marks them published. Rows are
 * taken with `FOR UPDATE SKIP LOCKED` inside a transaction, so any number of relays (one per
 * instance) can run against one database without two of them publishing the same row at the
 * same time; a row is only marked once the transport accepted it, so a crash in between
 * publishes it again (consumers are idempotent). A failed publish counts an attempt on the
 * rows and they are retried on the next poll, with backoff while failures continue.
 *
 * Order: rows of one batch reach a stream in `seq` order; with several relays racing, batches
 * may interleave, and retries reorder anyway, so consumers must not rely on order.
 */
export class OutboxRelay {
  private readonly dataSource: DataSource;
  private readonly transport: EventTransport;
  private readonly log: Logger;
  private readonly batchSize: number;
  private readonly pollIntervalMs: number;
  private readonly maxBackoffMs: number;
  private readonly publishTimeoutMs: number;
  private running = false;
  /** Tells a loop left over from before a stop()/start() pair that it is no longer wanted. */
  private generation = 0;
  private loop: Promise<void> | undefined;
  private notified = false;
  private wake: (() => void) | undefined;

  constructor(options: OutboxRelayOptions) {
    this.dataSource = options.dataSource;
    this.transport = options.transport;
    this.log = options.log;
    this.batchSize = options.batchSize ?? 200;
    this.pollIntervalMs = options.pollIntervalMs ?? 200;
    this.maxBackoffMs = options.maxBackoffMs ?? 5000;
    this.publishTimeoutMs = options.publishTimeoutMs ?? 10_000;
    if (!Number.isInteger(this.batchSize) || this.batchSize < 1) {
      throw new Error(`batchSize must be a positive integer, got ${this.batchSize}`);
    }
  }

  /** Starts polling the outbox; a no-op when already running. */
  start(): void {
    if (this.running) return;
    this.running = true;
    const generation = ++this.generation;
    const previous = this.loop ?? Promise.resolve();
    this.loop = previous.then(() => this.run(generation));
  }

  /** Stops polling; resolves when the drain in progress (if any) has finished. */
  async stop(): Promise<void> {
    this.running = false;
    this.wake?.();
    await this.loop;
  }

  /** Asks for a drain now, e.g. right after a transaction that appended events committed. */
  notify(): void {
    this.notified = true;
    this.wake?.();
  }

  /** Publishes one batch of pending rows; returns how many were published. */
  async drainOnce(): Promise<number> {
    return (await this.drain()).published;
  }

  private async run(generation: number): Promise<void> {
    const wanted = () => this.running && this.generation === generation;
    let failures = 0;
    while (wanted()) {
      this.notified = false;
      let result: DrainResult;
      try {
        result = await this.drain();
      } catch (err) {
        // The database failed: nothing was marked, so whatever reached the transport is
        // published again (at-least-once) and the rest is retried.
        this.log.error({ err }, 'outbox relay: drain failed');
        result = { published: 0, failed: true, full: false };
      }
      if (!wanted()) break;
      failures = result.failed ? failures + 1 : 0;
      if (!result.failed && (result.full || this.notified)) continue;
      const delay = result.failed
        ? Math.min(this.maxBackoffMs, this.pollIntervalMs * 2 ** Math.min(failures - 1, 16))
        : this.pollIntervalMs;
      await this.sleep(delay);
    }
  }

  private async drain(): Promise<DrainResult> {
    // Nearly every poll finds the outbox empty. One indexed read (outbox_unpublished_idx)
    // outside a transaction says so in one round trip, where the transaction costs a query
    // runner, BEGIN, the locking read and COMMIT, five times a second per relay. A row
    // committed just after this read waits for the next poll (or `notify()`), exactly as it
    // would had it committed just after the locking read; rows another relay holds are seen
    // here and then skipped below, as before.
    const pending: unknown[] = await this.dataSource.query(
      'SELECT 1 FROM outbox WHERE published_at IS NULL LIMIT 1',
    );
    if (pending.length === 0) return { published: 0, failed: false, full: false };
    return this.dataSource.transaction(async (manager) => {
      const rows: OutboxRow[] = await manager.query(
        `SELECT seq, id, stream, type, aggregate_id, payload, occurred_at
           FROM outbox
          WHERE published_at IS NULL
          ORDER BY seq
          LIMIT $1
          FOR UPDATE SKIP LOCKED`,
        [this.batchSize],
      );
      if (rows.length === 0) return { published: 0, failed: false, full: false };

      const byStream = new Map<string, OutboxRow[]>();
      for (const row of rows) {
        const list = byStream.get(row.stream);
        if (list) list.push(row);
        else byStream.set(row.stream, [row]);
      }

      const published: string[] = [];
      let failed = false;
      for (const [stream, streamRows] of byStream) {
        try {
          await this.publishWithTimeout(stream, streamRows.map(toEvent));
          for (const row of streamRows) published.push(row.seq);
        } catch (thrown) {
          failed = true;
          const error = toError(thrown);
          this.log.warn(
            { err: error, stream, count: streamRows.length },
            'outbox relay: publish failed; will retry',
          );
          await manager.query(
            `UPDATE outbox SET attempts = attempts + 1, last_error = $2
              WHERE seq = ANY($1::bigint[])`,
            [streamRows.map((r) => r.seq), describeError(error, 2000)],
          );
        }
      }
      if (published.length > 0) {
        await manager.query(
          'UPDATE outbox SET published_at = now() WHERE seq = ANY($1::bigint[])',
          [published],
        );
      }
      return { published: published.length, failed, full: rows.length === this.batchSize };
    });
  }

  private async publishWithTimeout(stream: string, events: DomainEvent[]): Promise<void> {
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(
        () => reject(new Error(`Publishing to ${stream} took over ${this.publishTimeoutMs} ms`)),
        this.publishTimeoutMs,
      );
    });
    try {
      await Promise.race([this.transport.publish(stream, events), timeout]);
    } finally {
      clearTimeout(timer);
    }
  }

  /** Waits `ms`, or less when `notify()` or `stop()` is called meanwhile. */
  private sleep(ms: number): Promise<void> {
    if (!this.running || this.notified) return Promise.resolve();
    return new Promise<void>((resolve) => {
      const done = () => {
        clearTimeout(timer);
        this.wake = undefined;
        resolve();
      };
      const timer = setTimeout(done, ms);
      this.wake = done;
    });
  }
}

function toEvent(row: OutboxRow): DomainEvent {
  return {
    id: row.id,
    type: row.type,
    aggregateId: row.aggregate_id,
    payload: row.payload,
    occurredAt: new Date(row.occurred_at).toISOString(),
  };
}

import { DataSource } from 'typeorm';
import { testDatabaseUrl } from '../../tests/support/services';
import { uniquePrefix } from '../../tests/support/test-config';
import { waitFor } from '../../tests/support/wait-for';
import { dropDatabase, ensureDatabase } from '../database';
import { createLogger } from '../logger';
import {
  createConsumerRetentionIndex,
  createConsumerTables,
  createDeadLettersRetentionIndex,
  createOutboxRetentionIndex,
  createOutboxTable,
} from './migrations';
import {
  DEAD_LETTERS_RETENTION,
  OUTBOX_RETENTION,
  PROCESSED_EVENTS_RETENTION,
  pruneExpiredRows,
  startEventRetention,
} from './retention';

const log = createLogger('retention-test', 'silent');
const HOUR = 3_600_000;
const RETENTION = 168 * HOUR;

describe('event retention', () => {
  const url = (() => {
    const u = new URL(testDatabaseUrl);
    u.pathname = `/${uniquePrefix()}retention`;
    return u.toString();
  })();
  let dataSource: DataSource;
  /** A clock the tests set; rows are written at real time, pruning looks from `now`. */
  let now = Date.now();
  const clock = () => now;

  beforeAll(async () => {
    await ensureDatabase(url);
    dataSource = new DataSource({ type: 'postgres', url, entities: [], logging: false });
    await dataSource.initialize();
    const q = dataSource.createQueryRunner();
    try {
      await createOutboxTable(q);
      await createConsumerTables(q);
      await createOutboxRetentionIndex(q);
      await createConsumerRetentionIndex(q);
      await createDeadLettersRetentionIndex(q);
    } finally {
      await q.release();
    }
  });

  beforeEach(async () => {
    now = Date.now();
    await dataSource.query('TRUNCATE outbox, processed_events, dead_letters');
  });

  afterAll(async () => {
    await dataSource?.destroy();
    await dropDatabase(url);
  });

  /** `n` outbox rows published `publishedAgoMs` before now (null: not published yet). */
  const addOutbox = async (n: number, publishedAgoMs: number | null) => {
    await dataSource.query(
      `INSERT INTO outbox (id, stream, type, aggregate_id, payload, occurred_at, published_at)
       SELECT gen_random_uuid(), 'test', 'test.happened', 'a', '{}', $2, $3
         FROM generate_series(1, $1)`,
      [
        n,
        new Date(now - (publishedAgoMs ?? 10 * RETENTION)),
        publishedAgoMs === null ? null : new Date(now - publishedAgoMs),
      ],
    );
  };
  /** `n` processed event ids recorded `agoMs` before now. */
  const addProcessed = async (n: number, agoMs: number) => {
    await dataSource.query(
      `INSERT INTO processed_events (consumer, event_id, processed_at)
       SELECT 'group', gen_random_uuid(), $2 FROM generate_series(1, $1)`,
      [n, new Date(now - agoMs)],
    );
  };
  const count = async (table: string, where = 'true') =>
    Number((await dataSource.query(`SELECT count(*)::int AS n FROM ${table} WHERE ${where}`))[0].n);

  it('prunes outbox rows published before the retention, in batches, never unpublished ones', async () => {
    await addOutbox(5, RETENTION + HOUR);
    await addOutbox(2, RETENTION - HOUR);
    await addOutbox(3, null);
    const pruned = await pruneExpiredRows(dataSource, OUTBOX_RETENTION, RETENTION, {
      batchSize: 2,
      now: clock,
    });
    expect(pruned).toBe(5);
    expect(await count('outbox', 'published_at IS NOT NULL')).toBe(2);
    expect(await count('outbox', 'published_at IS NULL')).toBe(3);
  });

  it('keeps processed event ids an hour beyond the retention, then prunes them', async () => {
    await addProcessed(4, RETENTION + 2 * HOUR);
    // Past the retention, within the extra hour: a redelivery is refused only from the
    // retention on, so the id must still be there for a redelivery made just before.
    await addProcessed(2, RETENTION + HOUR / 2);
    await addProcessed(3, HOUR);
    expect(
      await pruneExpiredRows(dataSource, PROCESSED_EVENTS_RETENTION, RETENTION, { now: clock }),
    ).toBe(4);
    expect(await count('processed_events')).toBe(5);
    now += HOUR;
    expect(
      await pruneExpiredRows(dataSource, PROCESSED_EVENTS_RETENTION, RETENTION, { now: clock }),
    ).toBe(2);
    expect(await count('processed_events')).toBe(3);
  });

  it('keeps dead letters 30 days beyond the retention, then prunes them', async () => {
    const DAY = 24 * HOUR;
    const addDeadLetters = (n: number, agoMs: number) =>
      dataSource.query(
        `INSERT INTO dead_letters (consumer, stream, event_id, event, error, attempts, created_at)
         SELECT 'group', 'test', gen_random_uuid(), '{}', 'boom', 5, $2 FROM generate_series(1, $1)`,
        [n, new Date(now - agoMs)],
      );
    await addDeadLetters(3, RETENTION + 31 * DAY);
    await addDeadLetters(2, RETENTION + 29 * DAY);
    await addDeadLetters(1, HOUR);
    expect(
      await pruneExpiredRows(dataSource, DEAD_LETTERS_RETENTION, RETENTION, { now: clock }),
    ).toBe(3);
    expect(await count('dead_letters')).toBe(3);
  });

  it('lets several instances prune at once, each row once', async () => {
    await addProcessed(300, RETENTION + 2 * HOUR);
    await addProcessed(10, HOUR);
    const counts = await Promise.all(
      Array.from({ length: 4 }, () =>
        pruneExpiredRows(dataSource, PROCESSED_EVENTS_RETENTION, RETENTION, {
          batchSize: 25,
          now: clock,
        }),
      ),
    );
    expect(counts.reduce((a, b) => a + b, 0)).toBe(300);
    expect(await count('processed_events')).toBe(10);
  });

  it('finds expired rows through an index (migrations add one per pruned table)', async () => {
    await dataSource.transaction(async (tx) => {
      // Tiny tables favour a sequential scan; what matters is that an index exists to use.
      await tx.query('SET LOCAL enable_seqscan = off');
      const plan = async (table: string, column: string) =>
        (
          await tx.query<Array<{ 'QUERY PLAN': string }>>(
            `EXPLAIN SELECT ctid FROM ${table} WHERE ${column} < now() LIMIT 10`,
          )
        )
          .map((r) => r['QUERY PLAN'])
          .join('\n');
      expect(await plan('outbox', 'published_at')).toMatch(/outbox_published_at_idx/);
      expect(await plan('processed_events', 'processed_at')).toMatch(
        /processed_events_processed_at_idx/,
      );
      expect(await plan('dead_letters', 'created_at')).toMatch(/dead_letters_created_at_idx/);
    });
  });

  it('runs periodically until stopped', async () => {
    await addOutbox(3, RETENTION + HOUR);
    await addProcessed(3, RETENTION + 2 * HOUR);
    const stop = startEventRetention({
      dataSource,
      log,
      retentionHours: 168,
      targets: [OUTBOX_RETENTION, PROCESSED_EVENTS_RETENTION],
      intervalMs: 10,
      now: clock,
    });
    try {
      await waitFor(
        async () => (await count('outbox')) + (await count('processed_events')) === 0,
        'the periodic prune',
      );
    } finally {
      await stop();
    }
  });
});

import { randomUUID } from 'node:crypto';
import { DataSource } from 'typeorm';
import { testDatabaseUrl, testRedisUrl } from '../../tests/support/services';
import { uniquePrefix } from '../../tests/support/test-config';
import { dropDatabase, ensureDatabase } from '../database';
import { createLogger } from '../logger';
import { closeRedis, createRedis } from '../redis';
import { handleOnce, recordDeadLetter } from './consumer';
import type { DomainEvent } from './event';
import { createConsumerTables, createOutboxTable } from './migrations';
import { appendEvents, OutboxRelay } from './outbox';
import { InProcessTransport } from './in-process-transport';
import { RedisStreamsTransport } from './redis-streams-transport';
import type { EventTransport, SubscribeOptions } from './transport';
import { deferred, waitFor } from '../../tests/support/wait-for';

const log = createLogger('events-test', 'silent');

function makeEvents(count: number, type = 'test.happened'): DomainEvent<{ n: number }>[] {
  return Array.from({ length: count }, (_, n) => ({
    id: randomUUID(),
    type,
    aggregateId: `agg-${n}`,
    payload: { n },
    occurredAt: new Date().toISOString(),
  }));
}

function databaseUrl(name: string): string {
  const url = new URL(testDatabaseUrl);
  url.pathname = `/${name}`;
  return url.toString();
}

/** Deletes every Redis key under a test's prefix. */
async function deleteRedisKeys(prefix: string): Promise<void> {
  const redis = createRedis(testRedisUrl);
  try {
    let cursor = '0';
    do {
      const [next, keys] = await redis.scan(cursor, 'MATCH', `${prefix}*`, 'COUNT', 500);
      if (keys.length > 0) await redis.del(...keys);
      cursor = next;
    } while (cursor !== '0');
  } finally {
    await closeRedis(redis);
  }
}

const transports: Array<[string, (keyPrefix: string) => EventTransport]> = [
  ['Redis Streams', (keyPrefix) => new RedisStreamsTransport(testRedisUrl, keyPrefix, { log })],
  ['in-process', () => new InProcessTransport({ log })],
];

describe.each(transports)('event backbone over the %s transport', (_name, createTransport) => {
  const prefix = uniquePrefix();
  const url = databaseUrl(`${prefix}events`);
  let dataSource: DataSource;
  let transport: EventTransport;
  let streams = 0;
  const nextStream = () => `test-${++streams}`;
  const stoppers: Array<() => Promise<void>> = [];

  /** Subscribes, and stops the subscription after the test whatever happens. */
  const subscribe = (options: SubscribeOptions) => {
    const subscription = transport.subscribe(options);
    stoppers.push(() => subscription.stop());
    return subscription;
  };
  const startRelay = (relayTransport: EventTransport, batchSize: number) => {
    const relay = new OutboxRelay({
      dataSource,
      transport: relayTransport,
      log,
      batchSize,
      pollIntervalMs: 20,
    });
    relay.start();
    stoppers.push(() => relay.stop());
    return relay;
  };
  const noDeadLetters = (event: DomainEvent, error: Error): Promise<void> => {
    throw new Error(`unexpected dead letter ${event.id}: ${error.message}`);
  };

  beforeAll(async () => {
    await ensureDatabase(url);
    dataSource = new DataSource({ type: 'postgres', url, entities: [], logging: false });
    await dataSource.initialize();
    const q = dataSource.createQueryRunner();
    try {
      await createOutboxTable(q);
      await createConsumerTables(q);
      await q.query('CREATE TABLE ledger (id serial PRIMARY KEY, event_id uuid NOT NULL)');
    } finally {
      await q.release();
    }
    transport = createTransport(`moviehub-test:${prefix}`);
  });

  afterEach(async () => {
    await Promise.all(stoppers.splice(0).map((stop) => stop()));
  });

  afterAll(async () => {
    await transport?.close();
    await dataSource?.destroy();
    await dropDatabase(url);
    await deleteRedisKeys(`moviehub-test:${prefix}`);
  });

  it('delivers every outbox event exactly once while two relays race over the outbox', async () => {
    const stream = nextStream();
    const total = 300;
    const published = new Map<string, number>();
    // Counts what the relays hand to the transport: a row published twice shows here.
    const counting: EventTransport = {
      publish: async (s, events) => {
        await transport.publish(s, events);
        for (const e of events) published.set(e.id, (published.get(e.id) ?? 0) + 1);
      },
      subscribe: (options) => transport.subscribe(options),
      close: async () => {},
    };
    const received = new Map<string, number>();
    const payloads = new Set<number>();
    subscribe({
      stream,
      group: 'exactly-once',
      consumer: 'c1',
      handler: (event) => {
        received.set(event.id, (received.get(event.id) ?? 0) + 1);
        payloads.add((event.payload as { n: number }).n);
        return Promise.resolve();
      },
      onDeadLetter: noDeadLetters,
    });
    const relays = [startRelay(counting, 7), startRelay(counting, 7)];

    // Producers commit while the relays run, and wake both after each commit.
    const appended: string[] = [];
    for (let t = 0; t < total / 10; t++) {
      const events = await dataSource.transaction((tx) =>
        appendEvents(
          tx,
          stream,
          Array.from({ length: 10 }, (_, i) => ({
            type: 'test.happened',
            aggregateId: `agg-${t}`,
            payload: { n: t * 10 + i },
          })),
        ),
      );
      appended.push(...events.map((e) => e.id));
      for (const relay of relays) relay.notify();
    }

    await waitFor(() => received.size === total, `${total} events delivered`);
    // Delivery may come before the relay's commit marks the rows: wait for that too.
    await waitFor(async () => {
      const [row] = await dataSource.query(
        'SELECT count(*)::int AS n FROM outbox WHERE stream = $1 AND published_at IS NULL',
        [stream],
      );
      return row.n === 0;
    }, 'every row marked published');
    expect([...published.keys()].sort()).toEqual([...appended].sort());
    expect([...published.values()].every((n) => n === 1)).toBe(true);
    expect([...received.keys()].sort()).toEqual([...appended].sort());
    expect([...received.values()].every((n) => n === 1)).toBe(true);
    expect(payloads.size).toBe(total);
  });

  it('skips rows another relay holds, and publishes them once it let go', async () => {
    const stream = nextStream();
    await dataSource.transaction((tx) =>
      appendEvents(tx, stream, [{ type: 'test.happened', aggregateId: 'a', payload: {} }]),
    );
    const relay = new OutboxRelay({ dataSource, transport, log });
    const other = dataSource.createQueryRunner();
    await other.connect();
    try {
      // What another relay's drain holds while it publishes.
      await other.startTransaction();
      await other.query('SELECT seq FROM outbox WHERE stream = $1 FOR UPDATE', [stream]);
      expect(await relay.drainOnce()).toBe(0);
      await other.rollbackTransaction();
    } finally {
      await other.release();
    }
    expect(await relay.drainOnce()).toBe(1);
  });

  it('polls an empty outbox without opening a transaction', async () => {
    const relay = new OutboxRelay({ dataSource, transport, log });
    // What earlier tests left pending is published first: the outbox is empty after.
    while ((await relay.drainOnce()) > 0);
    const transaction = jest.spyOn(dataSource, 'transaction');
    try {
      expect(await relay.drainOnce()).toBe(0);
      expect(transaction).not.toHaveBeenCalled();
    } finally {
      transaction.mockRestore();
    }
    const stream = nextStream();
    await dataSource.transaction((tx) =>
      appendEvents(tx, stream, [{ type: 'test.happened', aggregateId: 'a', payload: {} }]),
    );
    expect(await relay.drainOnce()).toBe(1);
  });

  it('relays again after a stop and a start, and stops promptly', async () => {
    const stream = nextStream();
    const relay = new OutboxRelay({ dataSource, transport, log, pollIntervalMs: 60_000 });
    relay.start();
    relay.start();
    await relay.stop();
    relay.start();
    stoppers.push(() => relay.stop());
    const delivered = deferred<DomainEvent>();
    subscribe({
      stream,
      group: 'restarted',
      consumer: 'c1',
      handler: (e) => Promise.resolve(delivered.resolve(e)),
      onDeadLetter: noDeadLetters,
    });
    const [event] = await dataSource.transaction((tx) =>
      appendEvents(tx, stream, [{ type: 'test.happened', aggregateId: 'a', payload: null }]),
    );
    // The poll interval is a minute: only notify() can get it there in time.
    relay.notify();
    expect(await delivered.wait('the notified event')).toEqual(event);
    const started = Date.now();
    await relay.stop();
    expect(Date.now() - started).toBeLessThan(1000);
  });

  it('never publishes the events of a rolled-back transaction, nor outside a transaction', async () => {
    const stream = nextStream();
    const event = { type: 'test.happened', aggregateId: 'a', payload: {} };
    await expect(
      dataSource.transaction(async (tx) => {
        await appendEvents(tx, stream, [event]);
        throw new Error('rolled back');
      }),
    ).rejects.toThrow('rolled back');
    await expect(appendEvents(dataSource.manager, stream, [event])).rejects.toThrow(/transaction/);
    const rows = await dataSource.query('SELECT 1 FROM outbox WHERE stream = $1', [stream]);
    expect(rows).toHaveLength(0);
  });

  it('counts a failed publish on the row and publishes it on the next drain', async () => {
    const stream = nextStream();
    let failNext = true;
    const flaky: EventTransport = {
      publish: async (s, events) => {
        if (failNext) {
          failNext = false;
          throw new Error('transport down');
        }
        await transport.publish(s, events);
      },
      subscribe: (options) => transport.subscribe(options),
      close: async () => {},
    };
    const relay = new OutboxRelay({ dataSource, transport: flaky, log });
    const [event] = await dataSource.transaction((tx) =>
      appendEvents(tx, stream, [{ type: 'test.happened', aggregateId: 'a', payload: { n: 1 } }]),
    );
    const delivered = deferred<DomainEvent>();
    subscribe({
      stream,
      group: 'after-failure',
      consumer: 'c1',
      handler: (e) => Promise.resolve(delivered.resolve(e)),
      onDeadLetter: noDeadLetters,
    });

    expect(await relay.drainOnce()).toBe(0);
    const [failed] = await dataSource.query(
      'SELECT attempts, last_error, published_at FROM outbox WHERE id = $1',
      [event.id],
    );
    expect(failed).toMatchObject({ attempts: 1, published_at: null });
    expect(failed.last_error).toContain('transport down');

    expect(await relay.drainOnce()).toBe(1);
    expect(await delivered.wait('the event after a failed publish')).toEqual(event);
    const [done] = await dataSource.query('SELECT published_at FROM outbox WHERE id = $1', [
      event.id,
    ]);
    expect(done.published_at).toBeInstanceOf(Date);
  });

  it('retries a handler that fails twice, then delivers', async () => {
    const stream = nextStream();
    const [event] = makeEvents(1);
    const calls: string[] = [];
    const delivered = deferred<DomainEvent>();
    subscribe({
      stream,
      group: 'retrying',
      consumer: 'c1',
      retryAfterMs: 50,
      maxAttempts: 5,
      handler: (e) => {
        calls.push(e.id);
        if (calls.length <= 2) throw new Error(`failure ${calls.length}`);
        delivered.resolve(e);
        return Promise.resolve();
      },
      onDeadLetter: noDeadLetters,
    });
    await transport.publish(stream, [event]);
    expect(await delivered.wait('the third delivery')).toEqual(event);
    expect(calls).toEqual([event.id, event.id, event.id]);
  });

  it('dead-letters an event that always fails, exactly once, and moves on', async () => {
    const stream = nextStream();
    const group = 'dead-lettering';
    const [poison, good, marker] = makeEvents(3);
    let poisonCalls = 0;
    let deadLetterCalls = 0;
    const goodDone = deferred();
    const deadLettered = deferred();
    const markerDone = deferred();
    const record = (e: DomainEvent, error: Error, attempts: number) =>
      recordDeadLetter(dataSource, group, stream, e, error, attempts);
    const options = {
      stream,
      group,
      retryAfterMs: 20,
      maxAttempts: 3,
      handler: (e: DomainEvent) => {
        if (e.id === poison.id) {
          poisonCalls += 1;
          throw new Error('cannot apply this event');
        }
        if (e.id === good.id) goodDone.resolve();
        if (e.id === marker.id) markerDone.resolve();
        return Promise.resolve();
      },
      onDeadLetter: async (e: DomainEvent, error: Error, attempts: number) => {
        deadLetterCalls += 1;
        await record(e, error, attempts);
        deadLettered.resolve();
      },
    };
    const first = subscribe({ ...options, consumer: 'c1' });
    await transport.publish(stream, [poison, good]);
    await goodDone.wait('the event after the poison one');
    await deadLettered.wait('the dead letter');

    const rows = await dataSource.query('SELECT * FROM dead_letters WHERE consumer = $1', [group]);
    expect(rows).toHaveLength(1);
    expect(rows[0]).toMatchObject({ stream, event_id: poison.id, attempts: 3, event: poison });
    expect(rows[0].error).toContain('cannot apply this event');
    expect(poisonCalls).toBe(3);

    // Acknowledged for good: another instance that would reclaim anything still pending at
    // once (retryAfterMs 1) sees only the new marker.
    await first.stop();
    subscribe({ ...options, consumer: 'c2', retryAfterMs: 1 });
    await transport.publish(stream, [marker]);
    await markerDone.wait('the marker');
    expect(poisonCalls).toBe(3);
    expect(deadLetterCalls).toBe(1);
  });

  it('gives a consumer group started after the events were published all of them', async () => {
    const stream = nextStream();
    // A group that was there all along, and one of a subgraph that was down meanwhile.
    const early: string[] = [];
    subscribe({
      stream,
      group: 'early',
      consumer: 'c1',
      handler: (e) => Promise.resolve(void early.push(e.id)),
      onDeadLetter: noDeadLetters,
    });
    const relay = new OutboxRelay({ dataSource, transport, log });
    const events = await dataSource.transaction((tx) =>
      appendEvents(
        tx,
        stream,
        [1, 2, 3, 4, 5].map((n) => ({
          type: 'test.happened',
          aggregateId: `a${n}`,
          payload: { n },
        })),
      ),
    );
    while ((await relay.drainOnce()) > 0);
    await waitFor(() => early.length === events.length, 'the early group');

    const late: DomainEvent[] = [];
    subscribe({
      stream,
      group: 'late',
      consumer: 'c1',
      handler: (e) => Promise.resolve(void late.push(e)),
      onDeadLetter: noDeadLetters,
    });
    await waitFor(() => late.length === events.length, 'the late group');
    expect(late).toEqual(events);
  });

  it('shares a group between its instances: each event is handled by one of them', async () => {
    const stream = nextStream();
    const events = makeEvents(60);
    const handledBy = new Map<string, string[]>();
    for (const consumer of ['c1', 'c2']) {
      subscribe({
        stream,
        group: 'shared',
        consumer,
        handler: async (e) => {
          handledBy.set(e.id, [...(handledBy.get(e.id) ?? []), consumer]);
          // Let the other instance take a turn.
          await new Promise((resolve) => setImmediate(resolve));
        },
        onDeadLetter: noDeadLetters,
      });
    }
    for (let i = 0; i < events.length; i += 10) {
      await transport.publish(stream, events.slice(i, i + 10));
    }
    await waitFor(() => handledBy.size === events.length, 'every event handled');
    expect([...handledBy.values()].every((by) => by.length === 1)).toBe(true);
  });

  describe('handleOnce', () => {
    const ledgerRows = async (eventId: string): Promise<number> => {
      const rows = await dataSource.query('SELECT 1 FROM ledger WHERE event_id = $1', [eventId]);
      return rows.length;
    };
    const applyTo = (event: DomainEvent) => async (tx: { query: DataSource['query'] }) => {
      await tx.query('INSERT INTO ledger (event_id) VALUES ($1)', [event.id]);
    };

    it('applies an event once; a redelivery is a no-op', async () => {
      const [event] = makeEvents(1);
      expect(await handleOnce(dataSource, 'ledger', event, applyTo(event))).toBe(true);
      expect(await handleOnce(dataSource, 'ledger', event, applyTo(event))).toBe(false);
      expect(await ledgerRows(event.id)).toBe(1);
      // Another consumer of the same event is independent.
      expect(await handleOnce(dataSource, 'audit', event, async () => {})).toBe(true);
    });

    it('applies concurrent deliveries of one event once', async () => {
      const [event] = makeEvents(1);
      const results = await Promise.all(
        Array.from({ length: 5 }, () => handleOnce(dataSource, 'ledger', event, applyTo(event))),
      );
      expect(results.filter(Boolean)).toHaveLength(1);
      expect(await ledgerRows(event.id)).toBe(1);
    });

    it('records nothing when the effect fails, so that a retry applies it', async () => {
      const [event] = makeEvents(1);
      await expect(
        handleOnce(dataSource, 'ledger', event, async (tx) => {
          await applyTo(event)(tx);
          throw new Error('effect failed');
        }),
      ).rejects.toThrow('effect failed');
      expect(await ledgerRows(event.id)).toBe(0);
      expect(await handleOnce(dataSource, 'ledger', event, applyTo(event))).toBe(true);
      expect(await ledgerRows(event.id)).toBe(1);
    });

    it('turns an event delivered twice through the transport into one effect', async () => {
      const stream = nextStream();
      const [event] = makeEvents(1);
      const outcomes: boolean[] = [];
      subscribe({
        stream,
        group: 'ledger-projection',
        consumer: 'c1',
        handler: async (e) => {
          outcomes.push(await handleOnce(dataSource, 'ledger-projection', e, applyTo(e)));
        },
        onDeadLetter: noDeadLetters,
      });
      // As a relay does when it crashed between publishing and marking the row published.
      await transport.publish(stream, [event]);
      await transport.publish(stream, [event]);
      await waitFor(() => outcomes.length === 2, 'both deliveries');
      expect(outcomes).toEqual([true, false]);
      expect(await ledgerRows(event.id)).toBe(1);
    });
  });

  it('refuses to publish or subscribe once closed', async () => {
    const other = createTransport(`moviehub-test:${prefix}closed:`);
    const subscription = other.subscribe({
      stream: 'closing',
      group: 'g',
      consumer: 'c',
      handler: async () => {},
      onDeadLetter: noDeadLetters,
    });
    await other.close();
    await subscription.stop();
    await expect(other.publish('closing', makeEvents(1))).rejects.toThrow(/closed/);
    expect(() =>
      other.subscribe({
        stream: 'closing',
        group: 'g',
        consumer: 'c',
        handler: async () => {},
        onDeadLetter: noDeadLetters,
      }),
    ).toThrow(/closed/);
  });
});

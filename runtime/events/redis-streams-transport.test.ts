import { randomUUID } from 'node:crypto';
import { testRedisUrl } from '../../tests/support/services';
import { uniquePrefix } from '../../tests/support/test-config';
import { createLogger } from '../logger';
import { closeRedis, createRedis } from '../redis';
import type { DomainEvent } from './event';
import { subscriptionConnectionName } from './redis-streams-transport';
import { RedisStreamsTransport } from './redis-streams-transport';
import { deferred, waitFor } from '../../tests/support/wait-for';

const log = createLogger('events-test', 'silent');

function makeEvent(n = 0): DomainEvent<{ n: number }> {
  return {
    id: randomUUID(),
    type: 'test.happened',
    aggregateId: `agg-${n}`,
    payload: { n },
    occurredAt: new Date().toISOString(),
  };
}

const noDeadLetters = (event: DomainEvent, error: Error): Promise<void> => {
  throw new Error(`unexpected dead letter ${event.id}: ${error.message}`);
};

describe('RedisStreamsTransport specifics', () => {
  const keyPrefix = `moviehub-test:${uniquePrefix()}`;
  const redis = createRedis(testRedisUrl);
  const transport = new RedisStreamsTransport(testRedisUrl, keyPrefix, { log });
  const stoppers: Array<() => Promise<void>> = [];

  afterEach(async () => {
    await Promise.all(stoppers.splice(0).map((stop) => stop()));
  });

  afterAll(async () => {
    await transport.close();
    const keys = await redis.keys(`${keyPrefix}*`);
    if (keys.length > 0) await redis.del(...keys);
    await closeRedis(redis);
  });

  /** The ids of a stream's first `count` entries, oldest first. */
  const entryIds = async (key: string, count = 1000) =>
    ((await redis.xrange(key, '-', '+', 'COUNT', count)) as Array<[string, string[]]>).map(
      ([id]) => id,
    );
  /** Reads `count` new entries as `consumer` of `group`, without acknowledging them. */
  const readAs = async (key: string, group: string, consumer: string, count: number) => {
    const reply = (await redis.xreadgroup(
      'GROUP',
      group,
      consumer,
      'COUNT',
      count,
      'STREAMS',
      key,
      '>',
    )) as Array<[string, Array<[string, string[]]>]>;
    return reply[0][1].map(([id]) => id);
  };
  const consumersOf = async (key: string, group: string) =>
    ((await redis.xinfo('CONSUMERS', key, group)) as string[][]).map((c) => c[1]);

  it('stores events under `${keyPrefix}events:${stream}`, and publishing never trims', async () => {
    const key = `${keyPrefix}events:stored`;
    expect(transport.streamKey('stored')).toBe(key);
    // A group that has read nothing yet: past 100,000 entries (what XADD MAXLEN ~ used to
    // keep), none of its events may go.
    await redis.xgroup('CREATE', key, 'not-yet', '0', 'MKSTREAM');
    const total = 101_000;
    let last: DomainEvent | undefined;
    for (let i = 0; i < total; i += 5000) {
      const batch = Array.from({ length: Math.min(5000, total - i) }, (_, n) => makeEvent(i + n));
      await transport.publish('stored', batch);
      last = batch[batch.length - 1];
    }
    expect(await redis.xlen(key)).toBe(total);
    const [firstId] = await entryIds(key, 1);
    const [[, fields]] = (await redis.xrevrange(key, '+', '-', 'COUNT', 1)) as [[string, string[]]];
    expect(JSON.parse(fields[1])).toEqual(last);
    expect(await transport.trimStream('stored')).toBe(0);
    expect(await redis.xlen(key)).toBe(total);
    // Its first read still starts at the very first event.
    expect(await readAs(key, 'not-yet', 'c1', 1)).toEqual([firstId]);
    await redis.del(key);
  });

  it('trims only what every consumer group has acknowledged', async () => {
    const key = transport.streamKey('trim');
    await redis.xgroup('CREATE', key, 'fast', '0', 'MKSTREAM');
    await redis.xgroup('CREATE', key, 'slow', '0', 'MKSTREAM');
    await transport.publish(
      'trim',
      Array.from({ length: 10 }, (_, n) => makeEvent(n)),
    );
    const ids = await entryIds(key);

    // Nobody has read anything: everything stays.
    expect(await transport.trimStream('trim')).toBe(0);
    // One group read and acknowledged all; the other has not read them: everything stays.
    await redis.xack(key, 'fast', ...(await readAs(key, 'fast', 'f1', 10)));
    expect(await transport.trimStream('trim')).toBe(0);
    expect(await entryIds(key)).toEqual(ids);

    // The slow group read all and acknowledged the first four: those four go, and the six
    // it still has pending (delivered, unacknowledged) stay.
    const read = await readAs(key, 'slow', 's1', 10);
    await redis.xack(key, 'slow', ...read.slice(0, 4));
    expect(await transport.trimStream('trim')).toBe(4);
    expect(await entryIds(key)).toEqual(ids.slice(4));
    // An acknowledgement out of order does not let an older pending entry go.
    await redis.xack(key, 'slow', read[9]);
    expect(await transport.trimStream('trim')).toBe(0);

    await redis.xack(key, 'slow', ...read.slice(4, 9));
    expect(await transport.trimStream('trim')).toBe(6);
    expect(await redis.xlen(key)).toBe(0);
    // Later events still get later ids, and both groups read them.
    const later = makeEvent(11);
    await transport.publish('trim', [later]);
    expect(await readAs(key, 'slow', 's1', 10)).toHaveLength(1);
  });

  it('keeps the events of a stream without groups for the retention, then trims them', async () => {
    let now = Date.now();
    const aging = new RedisStreamsTransport(testRedisUrl, keyPrefix, {
      log,
      retentionMs: 3_600_000,
      now: () => now,
    });
    try {
      await aging.publish('nogroups', [makeEvent(1), makeEvent(2)]);
      expect(await aging.trimStream('nogroups')).toBe(0);
      now += 2 * 3_600_000;
      expect(await aging.trimStream('nogroups')).toBe(2);
    } finally {
      await aging.close();
    }
  });

  it('trims on its own, every upkeep interval', async () => {
    const periodic = new RedisStreamsTransport(testRedisUrl, keyPrefix, {
      log,
      upkeepIntervalMs: 20,
    });
    try {
      const key = periodic.streamKey('periodic');
      await redis.xgroup('CREATE', key, 'g', '0', 'MKSTREAM');
      await periodic.publish('periodic', [makeEvent(1), makeEvent(2)]);
      await redis.xack(key, 'g', ...(await readAs(key, 'g', 'c', 10)));
      await waitFor(async () => (await redis.xlen(key)) === 0, 'the periodic trim');
    } finally {
      await periodic.close();
    }
  });

  it('removes consumers of stopped instances: idle ones at once, others once their entries are claimed', async () => {
    const cleaning = new RedisStreamsTransport(testRedisUrl, keyPrefix, {
      log,
      idleConsumerMs: 0,
    });
    try {
      const key = cleaning.streamKey('consumers');
      await cleaning.publish('consumers', [makeEvent(1), makeEvent(2)]);
      await redis.xgroup('CREATE', key, 'g', '0', 'MKSTREAM');
      // Two instances that stopped: one with nothing pending, one that died holding two
      // unacknowledged events.
      await redis.xgroup('CREATECONSUMER', key, 'g', 'stopped-idle');
      expect(await readAs(key, 'g', 'died-busy', 2)).toHaveLength(2);

      // The consumer with pending entries is kept: removing it would drop them.
      expect(await cleaning.removeIdleConsumers('consumers', 'g')).toEqual(['stopped-idle']);
      expect(await consumersOf(key, 'g')).toEqual(['died-busy']);

      // A live instance takes its entries over (XAUTOCLAIM); then it goes, the live one stays.
      const handled: DomainEvent[] = [];
      const both = deferred<void>();
      const subscription = cleaning.subscribe({
        stream: 'consumers',
        group: 'g',
        consumer: 'survivor',
        retryAfterMs: 1,
        handler: (e) => {
          handled.push(e);
          if (handled.length === 2) both.resolve();
          return Promise.resolve();
        },
        onDeadLetter: noDeadLetters,
      });
      stoppers.push(() => subscription.stop());
      await both.wait('the claimed events');
      await waitFor(async () => {
        const [pending] = (await redis.xpending(key, 'g')) as [number];
        return pending === 0;
      }, 'the claimed events acknowledged');
      const report = await cleaning.upkeep();
      expect(report.removedConsumers).toEqual(['consumers/g/died-busy']);
      expect(await consumersOf(key, 'g')).toEqual(['survivor']);
    } finally {
      await cleaning.close();
    }
  });

  it('dead-letters, without running the handler, a redelivery older than the retention', async () => {
    const retentionMs = 3_600_000;
    const later = Date.now() + 2 * retentionMs;
    const old = new RedisStreamsTransport(testRedisUrl, keyPrefix, {
      log,
      retentionMs,
      now: () => later,
    });
    try {
      const key = old.streamKey('stale');
      const event = makeEvent();
      await old.publish('stale', [event]);
      // Delivered to an instance that died before acknowledging (perhaps after applying it).
      await redis.xgroup('CREATE', key, 'crashed', '0', 'MKSTREAM');
      await readAs(key, 'crashed', 'gone', 1);

      let handled = 0;
      const letter = deferred<{ event: DomainEvent; error: Error; attempts: number }>();
      const redelivery = old.subscribe({
        stream: 'stale',
        group: 'crashed',
        consumer: 'back',
        retryAfterMs: 1,
        handler: () => Promise.resolve(void (handled += 1)),
        onDeadLetter: (e, error, attempts) =>
          Promise.resolve(letter.resolve({ event: e, error, attempts })),
      });
      stoppers.push(() => redelivery.stop());
      const dead = await letter.wait('the dead letter');
      expect(dead.event).toEqual(event);
      expect(dead.error.message).toMatch(/beyond the event retention/);
      expect(handled).toBe(0);

      // A first delivery of the same old entry, to a group that never had it, is applied.
      const fresh = deferred<DomainEvent>();
      const first = old.subscribe({
        stream: 'stale',
        group: 'late-group',
        consumer: 'c1',
        handler: (e) => Promise.resolve(fresh.resolve(e)),
        onDeadLetter: noDeadLetters,
      });
      stoppers.push(() => first.stop());
      expect(await fresh.wait('the first delivery')).toEqual(event);
    } finally {
      await Promise.all(stoppers.splice(0).map((stop) => stop()));
      await old.close();
    }
  });

  it('takes over the unacknowledged events of a consumer that crashed', async () => {
    const key = transport.streamKey('crash');
    const event = makeEvent();
    await transport.publish('crash', [event]);
    // An instance reads the event, then dies before acknowledging it.
    await redis.xgroup('CREATE', key, 'projection', '0', 'MKSTREAM');
    const read = await redis.xreadgroup('GROUP', 'projection', 'crashed', 'STREAMS', key, '>');
    expect(read).toHaveLength(1);

    const recovered = deferred<DomainEvent>();
    const subscription = transport.subscribe({
      stream: 'crash',
      group: 'projection',
      consumer: 'survivor',
      retryAfterMs: 50,
      handler: (e) => Promise.resolve(recovered.resolve(e)),
      onDeadLetter: noDeadLetters,
    });
    stoppers.push(() => subscription.stop());
    expect(await recovered.wait('the recovered event')).toEqual(event);
    await subscription.stop();
    const [pending] = (await redis.xpending(key, 'projection')) as [number];
    expect(pending).toBe(0);
  });

  it('drops a malformed entry instead of retrying it forever, and moves on', async () => {
    const key = transport.streamKey('malformed');
    await redis.xadd(key, '*', 'event', '{not json');
    await redis.xadd(key, '*', 'something', 'else');
    const event = makeEvent();
    await transport.publish('malformed', [event]);
    const received = deferred<DomainEvent>();
    const subscription = transport.subscribe({
      stream: 'malformed',
      group: 'tolerant',
      consumer: 'c1',
      handler: (e) => Promise.resolve(received.resolve(e)),
      onDeadLetter: noDeadLetters,
    });
    stoppers.push(() => subscription.stop());
    expect(await received.wait('the good event')).toEqual(event);
    await subscription.stop();
    const [pending] = (await redis.xpending(key, 'tolerant')) as [number];
    expect(pending).toBe(0);
  });

  it('dead-letters without running the handler an event whose deliveries never finished', async () => {
    // Deliveries that never completed (the instance crashed in the handler each time) leave
    // a delivery count above maxAttempts: the event must not crash instances forever.
    const key = transport.streamKey('poison');
    const event = makeEvent();
    await transport.publish('poison', [event]);
    await redis.xgroup('CREATE', key, 'crashy', '0', 'MKSTREAM');
    await redis.xreadgroup('GROUP', 'crashy', 'gone', 'STREAMS', key, '>');
    const [[id]] = (await redis.xpending(key, 'crashy', '-', '+', 1)) as [[string]];
    for (let i = 0; i < 2; i++) await redis.xclaim(key, 'crashy', 'gone', 0, id);

    let handled = 0;
    const deadLettered = deferred<{ event: DomainEvent; error: Error; attempts: number }>();
    const subscription = transport.subscribe({
      stream: 'poison',
      group: 'crashy',
      consumer: 'c1',
      maxAttempts: 3,
      retryAfterMs: 1,
      handler: () => Promise.resolve(void (handled += 1)),
      onDeadLetter: (e, error, attempts) =>
        Promise.resolve(deadLettered.resolve({ event: e, error, attempts })),
    });
    stoppers.push(() => subscription.stop());
    const letter = await deadLettered.wait('the dead letter');
    expect(letter.event).toEqual(event);
    expect(letter.attempts).toBe(3);
    expect(letter.error.message).toMatch(/without the handler completing/);
    expect(handled).toBe(0);
  });

  it('stops at once, without waiting for its blocking read to time out', async () => {
    const slow = new RedisStreamsTransport(testRedisUrl, keyPrefix, { log, blockMs: 10_000 });
    const options = {
      stream: 'quiet',
      group: 'g',
      consumer: `c-${randomUUID()}`,
      retryAfterMs: 60_000,
      handler: async () => {},
      onDeadLetter: noDeadLetters,
    };
    const subscription = slow.subscribe(options);
    try {
      // Its connection is named after it: wait until that connection is blocked reading.
      const name = subscriptionConnectionName(options);
      await waitFor(async () => {
        const clients = String(await redis.client('LIST')).split('\n');
        return clients.some((c) => c.includes(` name=${name} `) && c.includes('cmd=xreadgroup'));
      }, 'the blocking read');
      const started = Date.now();
      await subscription.stop();
      expect(Date.now() - started).toBeLessThan(2000);
    } finally {
      await slow.close();
    }
  });
});

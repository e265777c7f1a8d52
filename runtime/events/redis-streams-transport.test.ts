import { randomUUID } from 'node:crypto';
import { testRedisUrl } from '../../tests/support/services';
import { uniquePrefix } from '../../tests/support/test-stack';
import { createLogger } from '../logger';
import { closeRedis, createRedis } from '../redis';
import type { DomainEvent } from './event';
import { subscriptionConnectionName } from './redis-streams-transport';
import { RedisStreamsTransport } from './transport';
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

const noDeadLetters = async (event: DomainEvent, error: Error) => {
  throw new Error(`unexpected dead letter ${event.id}: ${error.message}`);
};

describe('RedisStreamsTransport specifics', () => {
  const keyPrefix = `moviehub-test:${uniquePrefix()}`;
  const redis = createRedis(testRedisUrl);
  const transport = new RedisStreamsTransport(testRedisUrl, keyPrefix, { log, maxLength: 1000 });
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

  it('stores events under `${keyPrefix}events:${stream}`, trimmed to about maxLength', async () => {
    const key = `${keyPrefix}events:trimmed`;
    expect(transport.streamKey('trimmed')).toBe(key);
    const events = Array.from({ length: 3000 }, (_, n) => makeEvent(n));
    for (let i = 0; i < events.length; i += 500) {
      await transport.publish('trimmed', events.slice(i, i + 500));
    }
    const length = await redis.xlen(key);
    expect(length).toBeGreaterThanOrEqual(1000);
    expect(length).toBeLessThan(3000);
    const [[, fields]] = (await redis.xrevrange(key, '+', '-', 'COUNT', 1)) as [[string, string[]]];
    expect(JSON.parse(fields[1]!)).toEqual(events[events.length - 1]);
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
      handler: async (e) => recovered.resolve(e),
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
      handler: async (e) => received.resolve(e),
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
      handler: async () => void (handled += 1),
      onDeadLetter: async (e, error, attempts) =>
        deadLettered.resolve({ event: e, error, attempts }),
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

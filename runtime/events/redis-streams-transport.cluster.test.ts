import { randomUUID } from 'node:crypto';
import {
  redisServerAvailable,
  startRedisCluster,
  type RedisClusterHandle,
} from '../../tests/support/redis-cluster';
import { waitFor } from '../../tests/support/wait-for';
import { createLogger } from '../logger';
import { closeRedis, createRedis, isCluster, type RedisClient } from '../redis';
import type { DomainEvent } from './event';
import { RedisStreamsTransport } from './redis-streams-transport';

const log = createLogger('events-test', 'silent');
const onDeadLetter = (event: DomainEvent, error: Error): Promise<void> => {
  throw new Error(`unexpected dead letter ${event.id}: ${error.message}`);
};
const describeCluster = redisServerAvailable() ? describe : describe.skip;

const makeEvent = (n: number): DomainEvent<{ n: number }> => ({
  id: randomUUID(),
  type: 'test.happened',
  aggregateId: `agg-${n}`,
  payload: { n },
  occurredAt: new Date().toISOString(),
});

describeCluster('RedisStreamsTransport on a Redis Cluster', () => {
  let cluster: RedisClusterHandle;
  let redis: RedisClient;
  let transport: RedisStreamsTransport;
  const keyPrefix = 'moviehub-test:cluster:';

  beforeAll(async () => {
    cluster = await startRedisCluster();
    redis = createRedis(cluster.url);
    transport = new RedisStreamsTransport(cluster.url, keyPrefix, {
      log,
      blockMs: 50,
      errorBackoffMs: 50,
    });
  });
  afterAll(async () => {
    await transport?.close();
    if (redis) await closeRedis(redis);
    await cluster?.stop();
  });

  it('publishes, consumes and acknowledges, then trims, on a cluster client', async () => {
    expect(isCluster(redis)).toBe(true);
    const seen: number[] = [];
    const subscription = transport.subscribe({
      stream: 'plain',
      group: 'test-plain',
      consumer: 'c1',
      onDeadLetter,
      handler: (event) => {
        seen.push((event.payload as { n: number }).n);
        return Promise.resolve();
      },
    });
    await transport.publish('plain', [makeEvent(1), makeEvent(2), makeEvent(3)]);
    await waitFor(() => seen.length === 3, 'three deliveries');
    expect(seen).toEqual([1, 2, 3]);
    const key = transport.streamKey('plain');
    await waitFor(
      async () => Number((await redis.xpending(key, 'test-plain'))[0]) === 0,
      'every entry acknowledged',
    );
    // The upkeep scripts (one key each) run on the stream's node.
    expect(await transport.trimStream('plain')).toBe(3);
    expect(await transport.removeIdleConsumers('plain', 'test-plain', 'c1')).toEqual([]);
    await subscription.stop();
  });

  it('reclaims what a failed handler left pending (XAUTOCLAIM on the stream’s node)', async () => {
    let calls = 0;
    const delivered: number[] = [];
    const subscription = transport.subscribe({
      stream: 'retried',
      group: 'test-retried',
      consumer: 'c1',
      retryAfterMs: 20,
      onDeadLetter,
      handler: (event) => {
        calls += 1;
        if (calls === 1) return Promise.reject(new Error('first delivery fails'));
        delivered.push((event.payload as { n: number }).n);
        return Promise.resolve();
      },
    });
    await transport.publish('retried', [makeEvent(7)]);
    await waitFor(() => delivered.length === 1, 'the redelivery');
    expect(calls).toBe(2);
    await subscription.stop();
  });

  it('loses nothing when the stream’s primary fails over', async () => {
    const seen = new Set<number>();
    const subscription = transport.subscribe({
      stream: 'failover',
      group: 'test-failover',
      consumer: 'c1',
      retryAfterMs: 200,
      onDeadLetter,
      handler: (event) => {
        seen.add((event.payload as { n: number }).n);
        return Promise.resolve();
      },
    });
    await transport.publish('failover', [makeEvent(1), makeEvent(2)]);
    await waitFor(() => seen.size === 2, 'deliveries before the failover');
    // Acknowledgements not yet replicated when the primary dies come back as redeliveries
    // (at-least-once): hence a set.
    await cluster.failover({ key: transport.streamKey('failover') });
    // Publishing right after the failover may meet the cluster still settling: retry as the
    // outbox relay does.
    await waitFor(
      () =>
        transport.publish('failover', [makeEvent(3), makeEvent(4)]).then(
          () => true,
          () => false,
        ),
      'a publish after the failover',
      20_000,
    );
    await waitFor(() => seen.has(3) && seen.has(4), 'deliveries after the failover', 20_000);
    expect([...seen].sort()).toEqual([1, 2, 3, 4]);
    await subscription.stop();
  });
});

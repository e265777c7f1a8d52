import {
  redisServerAvailable,
  startRedisCluster,
  type RedisClusterHandle,
} from '../tests/support/redis-cluster';
import { waitFor } from '../tests/support/wait-for';
import { createPubSubTransport, PubSubUnavailableError, type ClosablePubSub } from './pubsub';

const describeCluster = redisServerAvailable() ? describe : describe.skip;

describeCluster('Redis pub/sub on a Redis Cluster', () => {
  let cluster: RedisClusterHandle;
  const transports: ClosablePubSub[] = [];
  const transport = () => {
    const t = createPubSubTransport(cluster.url, 'moviehub-test:cluster:');
    transports.push(t);
    return t;
  };

  beforeAll(async () => {
    cluster = await startRedisCluster();
  });
  afterAll(async () => {
    await Promise.all(transports.map((t) => t.close()));
    await cluster?.stop();
  });

  it('delivers a message to listeners of every instance, whichever node each listens on', async () => {
    const [a, b, publisher] = [transport(), transport(), transport()];
    const fromA = await a.listen('seats:1');
    const fromB = await b.listen('seats:1');
    await publisher.publish('seats:1', { seat: 'A1' });
    await expect(fromA.next()).resolves.toEqual({ value: { seat: 'A1' }, done: false });
    await expect(fromB.next()).resolves.toEqual({ value: { seat: 'A1' }, done: false });
    await fromA.return!();
    await fromB.return!();
  });

  it('after a failover, a listener either still hears or is told; listening again works', async () => {
    const listener = transport();
    const publisher = transport();
    const heard = await listener.listen('seats:2');
    await cluster.failover();
    // A publish right after the failover may meet the cluster settling: the caller retries.
    await waitFor(
      () =>
        publisher.publish('seats:2', { n: 1 }).then(
          () => true,
          () => false,
        ),
      'a publish after the failover',
      20_000,
    );
    const outcome = await heard.next().then(
      (result) => result.value,
      (err: unknown) => err,
    );
    if (outcome instanceof Error) {
      expect(outcome).toBeInstanceOf(PubSubUnavailableError);
    } else {
      expect(outcome).toEqual({ n: 1 });
    }
    await heard.return!();
    // Listening again (what a told client does) reaches a live node.
    const again = await waitFor(
      () =>
        listener.listen('seats:2').then(
          (it) => it,
          () => false as const,
        ),
      'listening again',
      20_000,
    );
    await publisher.publish('seats:2', { n: 2 });
    await expect(again.next()).resolves.toEqual({ value: { n: 2 }, done: false });
    await again.return!();
  });
});

import {
  redisServerAvailable,
  startRedisCluster,
  type RedisClusterHandle,
} from '../../../tests/support/redis-cluster';
import { deferred } from '../../../tests/support/wait-for';
import { closeRedis, createRedis, type RedisClient } from '../../../runtime/redis';
import { CatalogCache, type InvalidatedType } from './catalog-cache';

const describeCluster = redisServerAvailable() ? describe : describe.skip;
const log = { warn: () => undefined };

describeCluster('CatalogCache on a Redis Cluster', () => {
  let cluster: RedisClusterHandle;
  const connections: RedisClient[] = [];
  const caches: CatalogCache[] = [];
  const connect = () => {
    const redis = createRedis(cluster.url);
    connections.push(redis);
    return redis;
  };
  const instance = async () => {
    const cache = new CatalogCache({
      redis: connect(),
      subscriber: connect(),
      keyPrefix: 'moviehub-test:cluster:',
      log,
    });
    caches.push(cache);
    await cache.start();
    return cache;
  };

  beforeAll(async () => {
    cluster = await startRedisCluster();
  });
  afterAll(async () => {
    await Promise.all(caches.map((cache) => cache.stop()));
    await Promise.all(connections.map((redis) => closeRedis(redis)));
    await cluster?.stop();
  });

  it('raises the generations in one script (one hash tag) and tells the other instances', async () => {
    const a = await instance();
    const b = await instance();
    const before = b.stamp();
    expect(before).not.toBeNull();
    const heard = deferred<readonly InvalidatedType[]>();
    b.onInvalidated((types) => heard.resolve(types));
    await a.invalidate(['Movie', 'Hall']);
    await expect(heard.wait('the invalidation heard by the other instance')).resolves.toEqual([
      'Movie',
      'Hall',
    ]);
    expect(b.stamp()).toBe(a.stamp());
    expect(b.stamp()).not.toBe(before);
  });
});

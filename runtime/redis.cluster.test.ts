import { Cluster, Redis } from 'ioredis';
import {
  redisServerAvailable,
  startRedisCluster,
  type RedisClusterHandle,
} from '../tests/support/redis-cluster';
import {
  closeRedis,
  createRedis,
  deleteKeys,
  isCluster,
  isRedisUnavailable,
  parseClusterUrl,
  scanKeys,
} from './redis';

describe('Redis Cluster URLs and errors', () => {
  it('reads the nodes and credentials of a redis+cluster:// URL', () => {
    expect(parseClusterUrl('redis+cluster://u:p%40ss@10.0.0.1:7000,[::1]:7001/0')).toEqual({
      nodes: [
        { host: '10.0.0.1', port: 7000 },
        { host: '::1', port: 7001 },
      ],
      username: 'u',
      password: 'p@ss',
    });
    expect(() => parseClusterUrl('redis+cluster://a:1,b')).toThrow(/"b" is not host:port/);
  });

  it('counts a cluster not serving a slot as unavailable, a CROSSSLOT as a bug', () => {
    for (const message of [
      'CLUSTERDOWN The cluster is down',
      'CLUSTERDOWN Hash slot not served',
      'TRYAGAIN Multiple keys request during rehashing of slot',
      'Too many Cluster redirections. Last error: ReplyError: MOVED 3999 127.0.0.1:6381',
      'Failed to refresh slots cache.',
      'None of startup nodes is available',
      "Cluster isn't ready and enableOfflineQueue options is false",
      'Cluster is ended.',
    ]) {
      expect([message, isRedisUnavailable(new Error(message))]).toEqual([message, true]);
    }
    const crossSlot = new Error("CROSSSLOT Keys in request don't hash to the same slot");
    expect(isRedisUnavailable(crossSlot)).toBe(false);
    const wrapped = new Error('pipeline failed', { cause: new Error('CLUSTERDOWN down') });
    expect(isRedisUnavailable(wrapped)).toBe(true);
  });
});

const describeCluster = redisServerAvailable() ? describe : describe.skip;

describeCluster('createRedis on a Redis Cluster', () => {
  let cluster: RedisClusterHandle;
  beforeAll(async () => {
    cluster = await startRedisCluster({ replicasPerPrimary: 0 });
  });
  afterAll(() => cluster?.stop());

  it('gives a Cluster for redis+cluster://, a Redis otherwise', async () => {
    const redis = createRedis(cluster.url);
    const single = createRedis(`redis://127.0.0.1:${cluster.nodes[0].port}`, { lazyConnect: true });
    expect(redis).toBeInstanceOf(Cluster);
    expect(isCluster(redis)).toBe(true);
    expect(single).toBeInstanceOf(Redis);
    expect(isCluster(single)).toBe(false);
    await redis.set('k', 'v');
    expect(await redis.get('k')).toBe('v');
    // Switched off once ready: a command while the cluster is down fails at once.
    expect(redis.options.enableOfflineQueue).toBe(false);
    await closeRedis(redis);
    await closeRedis(single);
    expect(redis.status).toBe('end');
  });

  it('scans and deletes keys on every primary', async () => {
    const redis = createRedis(cluster.url);
    const keys = Array.from({ length: 30 }, (_, i) => `moviehub-test:scan:${i}`);
    await Promise.all(keys.map((key) => redis.set(key, '1')));
    const found: string[] = [];
    for await (const batch of scanKeys(redis, 'moviehub-test:scan:*')) found.push(...batch);
    expect(found.sort()).toEqual([...keys].sort());
    expect(await deleteKeys(redis, 'moviehub-test:scan:*')).toBe(30);
    expect(await redis.exists(...keys.slice(0, 1))).toBe(0);
    await closeRedis(redis);
  });
});

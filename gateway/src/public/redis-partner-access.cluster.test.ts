import {
  redisServerAvailable,
  startRedisCluster,
  type RedisClusterHandle,
} from '../../../tests/support/redis-cluster';
import { closeRedis, createRedis, type RedisClient } from '../../../runtime/redis';
import { RedisPartnerAccess } from './redis-partner-access';

const describeCluster = redisServerAvailable() ? describe : describe.skip;
const KEY = `mh_live_${'a'.repeat(43)}`;

describeCluster('RedisPartnerAccess on a Redis Cluster', () => {
  let cluster: RedisClusterHandle;
  let redis: RedisClient;

  beforeAll(async () => {
    cluster = await startRedisCluster();
    redis = createRedis(cluster.url, { enableAutoPipelining: true });
  });
  afterAll(async () => {
    if (redis) await closeRedis(redis);
    await cluster?.stop();
  });

  it('checks the key and takes from its bucket in one script (record and bucket share a slot)', async () => {
    let asked = 0;
    const access = new RedisPartnerAccess(redis, 'moviehub-test:cluster:', () => {
      asked += 1;
      return Promise.resolve({ id: 'k1', requestsPerMinute: 2 });
    });
    const now = 1_000_000;
    const first = await access.admit(KEY, now);
    expect(first).toMatchObject({ kind: 'admitted', apiKeyId: 'k1' });
    // The script wrote nothing itself: the users subgraph writes the record (here: nobody),
    // so this asks again, and the bucket (kept in Redis) runs dry at two a minute.
    expect((await access.admit(KEY, now)).kind).toBe('admitted');
    expect((await access.admit(KEY, now)).kind).toBe('limited');
    expect(asked).toBe(3);
  });
});

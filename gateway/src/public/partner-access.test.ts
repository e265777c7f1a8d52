import { randomBytes, randomUUID } from 'node:crypto';
import {
  activeApiKeyRecord,
  API_KEY_PREFIX,
  apiKeyHash,
  apiKeyRecordKey,
  REVOKED_API_KEY_RECORD,
} from '../../../runtime/contracts/api-keys';
import { closeRedis, createRedis, type RedisClient } from '../../../runtime/redis';
import { testRedisUrl } from '../../../tests/support/services';
import { uniquePrefix } from '../../../tests/support/test-config';
import { MemoryPartnerAccess } from './memory-partner-access';
import type { ApiKeyVerifier, PartnerAccess } from './partner-access';
import { RedisPartnerAccess } from './redis-partner-access';

/** The fake clock's start; every `now` in this file is T0 plus something. */
const T0 = 1_700_000_000_000;

/**
 * The users subgraph as the gateway sees it: keys by hash, answering verifications, and
 * (with Redis) writing the records the way its registry does.
 */
class FakeUsers {
  private readonly keys = new Map<string, { id: string; rpm: number; revoked: boolean }>();
  verifications = 0;

  constructor(
    private readonly redis?: RedisClient,
    private readonly prefix = '',
  ) {}

  async issue(rpm: number): Promise<string> {
    const key = API_KEY_PREFIX + randomBytes(32).toString('base64url');
    const id = randomUUID();
    this.keys.set(apiKeyHash(key), { id, rpm, revoked: false });
    await this.redis?.set(this.recordKey(key), activeApiKeyRecord(id, rpm));
    return key;
  }

  async revoke(key: string): Promise<void> {
    this.keys.get(apiKeyHash(key))!.revoked = true;
    await this.redis?.set(this.recordKey(key), REVOKED_API_KEY_RECORD);
  }

  /** Redis losing a record (eviction, a flush): the next request must ask again. */
  async forget(key: string): Promise<void> {
    await this.redis?.del(this.recordKey(key));
  }

  readonly verify: ApiKeyVerifier = async (hash) => {
    this.verifications += 1;
    const key = this.keys.get(hash);
    const found = key && !key.revoked ? { id: key.id, requestsPerMinute: key.rpm } : null;
    if (found)
      await this.redis?.set(
        apiKeyRecordKey(this.prefix, hash),
        activeApiKeyRecord(found.id, found.requestsPerMinute),
        'NX',
      );
    return found;
  };

  idOf(key: string): string {
    return this.keys.get(apiKeyHash(key))!.id;
  }

  private recordKey(key: string): string {
    return apiKeyRecordKey(this.prefix, apiKeyHash(key));
  }
}

interface Harness {
  users: FakeUsers;
  access: PartnerAccess;
  /** Another gateway instance (Redis: its own connection; memory: the one process). */
  peer: PartnerAccess;
}

interface Implementation {
  harness(): Harness;
  teardown(): Promise<void>;
}

function memoryImplementation(): Implementation {
  return {
    harness: () => {
      const users = new FakeUsers();
      const access = new MemoryPartnerAccess(users.verify);
      return { users, access, peer: access };
    },
    teardown: async () => {},
  };
}

function redisImplementation(): Implementation {
  const connections: RedisClient[] = [];
  const prefixes: string[] = [];
  const connect = () => {
    const redis = createRedis(testRedisUrl);
    connections.push(redis);
    return redis;
  };
  return {
    harness: () => {
      const prefix = `moviehub-test:${uniquePrefix()}`;
      prefixes.push(prefix);
      const users = new FakeUsers(connect(), prefix);
      return {
        users,
        access: new RedisPartnerAccess(connect(), prefix, users.verify),
        peer: new RedisPartnerAccess(connect(), prefix, users.verify),
      };
    },
    teardown: async () => {
      const [redis] = connections;
      for (const prefix of prefixes) {
        const keys = await redis.keys(`${prefix}*`);
        if (keys.length > 0) await redis.del(...keys);
      }
      await Promise.all(connections.map((connection) => closeRedis(connection)));
    },
  };
}

describe.each([
  ['memory', memoryImplementation],
  ['redis', redisImplementation],
])('%s partner access', (_name, implementation) => {
  const impl = implementation();
  afterAll(() => impl.teardown());

  it('refuses what is not a key without asking anyone', async () => {
    const { users, access } = impl.harness();
    for (const key of ['', 'secret', 'mh_live_short', `mh_test_${'a'.repeat(43)}`]) {
      expect(await access.admit(key, T0)).toEqual({ kind: 'refused' });
    }
    expect(users.verifications).toBe(0);
  });

  it('refuses a well-formed key nobody issued', async () => {
    const { access } = impl.harness();
    const key = API_KEY_PREFIX + randomBytes(32).toString('base64url');
    expect(await access.admit(key, T0)).toEqual({ kind: 'refused' });
  });

  it("admits a key's burst, then limits it with when to retry", async () => {
    const { users, access } = impl.harness();
    const key = await users.issue(3);
    const id = users.idOf(key);
    const seen = [];
    for (let i = 0; i < 4; i++) seen.push(await access.admit(key, T0));
    expect(seen).toEqual([
      {
        kind: 'admitted',
        apiKeyId: id,
        rate: { limit: 3, remaining: 2, resetSeconds: 20, retryAfterSeconds: 0 },
      },
      {
        kind: 'admitted',
        apiKeyId: id,
        rate: { limit: 3, remaining: 1, resetSeconds: 40, retryAfterSeconds: 0 },
      },
      {
        kind: 'admitted',
        apiKeyId: id,
        rate: { limit: 3, remaining: 0, resetSeconds: 60, retryAfterSeconds: 20 },
      },
      {
        kind: 'limited',
        apiKeyId: id,
        rate: { limit: 3, remaining: 0, resetSeconds: 60, retryAfterSeconds: 20 },
      },
    ]);
    // 3 a minute: one more every 20 s, and not before.
    expect((await access.admit(key, T0 + 19_999)).kind).toBe('limited');
    expect((await access.admit(key, T0 + 20_000)).kind).toBe('admitted');
    expect((await access.admit(key, T0 + 20_000)).kind).toBe('limited');
  });

  it('refills continuously, up to a full bucket and no more', async () => {
    const { users, access } = impl.harness();
    const key = await users.issue(60);
    for (let i = 0; i < 60; i++) expect((await access.admit(key, T0)).kind).toBe('admitted');
    const limited = await access.admit(key, T0 + 500);
    expect(limited).toMatchObject({ kind: 'limited', rate: { retryAfterSeconds: 1 } });
    expect((await access.admit(key, T0 + 1000)).kind).toBe('admitted');
    // An hour idle fills the bucket to 60, not 3,600.
    const later = T0 + 3_600_000;
    let admitted = 0;
    while ((await access.admit(key, later)).kind === 'admitted') admitted += 1;
    expect(admitted).toBe(60);
  });

  it('gives back nothing when a clock is behind the last request', async () => {
    const { users, access } = impl.harness();
    const key = await users.issue(2);
    await access.admit(key, T0 + 10_000);
    await access.admit(key, T0 + 10_000);
    expect((await access.admit(key, T0)).kind).toBe('limited');
  });

  it('keeps one bucket per key, shared by every instance', async () => {
    const { users, access, peer } = impl.harness();
    const [one, two] = [await users.issue(4), await users.issue(4)];
    const kinds = [];
    for (let i = 0; i < 3; i++) {
      kinds.push((await access.admit(one, T0)).kind, (await peer.admit(one, T0)).kind);
    }
    expect(kinds).toEqual(['admitted', 'admitted', 'admitted', 'admitted', 'limited', 'limited']);
    expect((await peer.admit(two, T0)).kind).toBe('admitted');
  });

  it('refuses a revoked key from the next request on, on every instance', async () => {
    const { users, access, peer } = impl.harness();
    const key = await users.issue(100);
    expect((await access.admit(key, T0)).kind).toBe('admitted');
    expect((await peer.admit(key, T0)).kind).toBe('admitted');
    await users.revoke(key);
    expect(await access.admit(key, T0)).toEqual({ kind: 'refused' });
    expect(await peer.admit(key, T0)).toEqual({ kind: 'refused' });
  });
});

describe('redis partner access', () => {
  const impl = redisImplementation();
  afterAll(() => impl.teardown());

  it('checks a key Redis has a record of without asking the users subgraph', async () => {
    const { users, access } = impl.harness();
    const key = await users.issue(10);
    await access.admit(key, T0);
    await users.revoke(key);
    await access.admit(key, T0);
    expect(users.verifications).toBe(0);
  });

  it('asks once for a key Redis lost, then knows it again', async () => {
    const { users, access, peer } = impl.harness();
    const key = await users.issue(10);
    await access.admit(key, T0);
    await users.forget(key);
    expect((await access.admit(key, T0)).kind).toBe('admitted');
    expect((await peer.admit(key, T0)).kind).toBe('admitted');
    expect(users.verifications).toBe(1);
  });

  it('answers SERVICE_UNAVAILABLE when Redis cannot be reached', async () => {
    const users = new FakeUsers();
    const down = createRedis(testRedisUrl);
    await closeRedis(down);
    const access = new RedisPartnerAccess(down, 'x:', users.verify);
    await expect(access.admit(await users.issue(5), T0)).rejects.toMatchObject({
      extensions: { code: 'SERVICE_UNAVAILABLE' },
    });
  });
});

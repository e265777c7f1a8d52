import {
  API_KEY_VERIFY_PATH,
  apiKeyHash,
  apiKeyRecordKey,
  type ApiKeyVerifyResponse,
} from '../../../../runtime/contracts/api-keys';
import { IDENTITY_HEADER, signIdentity, type Identity } from '../../../../runtime/identity';
import { callInternal } from '../../../../runtime/internal-client';
import { createLogger } from '../../../../runtime/logger';
import { closeRedis, createRedis, type RedisClient } from '../../../../runtime/redis';
import { startSubgraph, type RunningSubgraph } from '../../../../runtime/subgraph-server';
import { postGraphQL } from '../../../../tests/support/http-client';
import {
  deleteTestKeys,
  dropTestDatabases,
  testConfig,
} from '../../../../tests/support/test-config';
import { usersSubgraph } from '../schema';
import { RedisApiKeyRegistry } from './api-key.registry';

/**
 * The users subgraph's side of partner keys, alone against real PostgreSQL and Redis: the
 * records the gateways read (written on issue, overwritten on revocation, written back on a
 * verification only where nothing is), and the verification route, for the gateway only.
 */
const log = createLogger('api-key-test', 'silent');
const GATEWAY: Identity = { userId: null, role: null, service: 'gateway' };
const ADMIN: Identity = { userId: 'key-admin', role: 'ADMIN' };

describe('partner keys in the users subgraph', () => {
  const config = testConfig();
  let users: RunningSubgraph;
  let redis: RedisClient;
  const record = (key: string) =>
    redis.get(apiKeyRecordKey(config.redis.keyPrefix, apiKeyHash(key)));

  beforeAll(async () => {
    users = await startSubgraph(usersSubgraph, config);
    redis = createRedis(config.redis.url!);
  });
  afterAll(async () => {
    await users?.stop();
    if (redis) await closeRedis(redis);
    await deleteTestKeys(config);
    await dropTestDatabases(config);
  });

  const graphql = async (query: string, variables: Record<string, unknown>) => {
    const res = await postGraphQL(users.url, query, variables, {
      headers: { [IDENTITY_HEADER]: signIdentity(ADMIN, config.internalSecret, 'users') },
    });
    expect(res.errors).toBeUndefined();
    return res.data!;
  };
  const issue = async () =>
    (
      await graphql(
        `
          mutation ($input: CreateApiKeyInput!) {
            createApiKey(input: $input) {
              key
              apiKey {
                id
                requestsPerMinute
              }
            }
          }
        `,
        { input: { name: 'Listings', owner: 'Partner', requestsPerMinute: 90 } },
      )
    ).createApiKey as { key: string; apiKey: { id: string; requestsPerMinute: number } };
  const revoke = async (id: string) =>
    (await graphql('mutation ($id: ID!) { revokeApiKey(id: $id) }', { id })).revokeApiKey;
  const verify = (hash: unknown, identity: Identity = GATEWAY) =>
    callInternal<ApiKeyVerifyResponse & { code?: string }>(
      'users',
      `${users.url.replace(/\/graphql$/, '')}${API_KEY_VERIFY_PATH}`,
      { hash },
      { identity, secret: config.internalSecret },
    );

  it('writes a key for the gateways on issue, and overwrites it with revoked on revocation', async () => {
    const { key, apiKey } = await issue();
    expect(await record(key)).toBe(`active:${apiKey.id}:90`);
    expect(await revoke(apiKey.id)).toBe(true);
    expect(await record(key)).toBe('revoked');
  });

  it('answers the gateway from the database and writes back what Redis lost', async () => {
    const { key, apiKey } = await issue();
    await redis.del(apiKeyRecordKey(config.redis.keyPrefix, apiKeyHash(key)));
    expect(await verify(apiKeyHash(key))).toEqual({
      status: 200,
      body: { apiKey: { id: apiKey.id, requestsPerMinute: 90 } },
    });
    expect(await record(key)).toBe(`active:${apiKey.id}:90`);

    await revoke(apiKey.id);
    await redis.del(apiKeyRecordKey(config.redis.keyPrefix, apiKeyHash(key)));
    expect((await verify(apiKeyHash(key))).body).toEqual({ apiKey: null });
    expect(await record(key)).toBe('revoked');
  });

  it('never brings back a key revoked while it was being verified', async () => {
    const registry = new RedisApiKeyRegistry(redis, config.redis.keyPrefix, log);
    const { key, apiKey } = await issue();
    // A verification read the row before the revocation committed, and writes it back after
    // the revocation's record: it writes only where nothing is.
    await revoke(apiKey.id);
    await registry.remember(apiKeyHash(key), {
      id: apiKey.id,
      requestsPerMinute: 90,
      revoked: false,
    });
    expect(await record(key)).toBe('revoked');
  });

  it('remembers an unknown hash for a while', async () => {
    const hash = apiKeyHash('mh_live_never-issued');
    expect((await verify(hash)).body).toEqual({ apiKey: null });
    const key = apiKeyRecordKey(config.redis.keyPrefix, hash);
    expect(await redis.get(key)).toBe('unknown');
    expect(await redis.ttl(key)).toBeGreaterThan(0);
  });

  it('answers only the gateway, and only for a hash', async () => {
    const { key } = await issue();
    const other = await verify(apiKeyHash(key), { userId: null, role: null, service: 'bookings' });
    expect(other.status).toBe(403);
    for (const hash of [key, 'ABC', 42, null]) {
      const bad = await verify(hash);
      expect([hash, bad.status, bad.body.code]).toEqual([hash, 400, 'BAD_USER_INPUT']);
    }
    const unsigned = await fetch(`${users.url.replace(/\/graphql$/, '')}${API_KEY_VERIFY_PATH}`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ hash: apiKeyHash(key) }),
    });
    expect(unsigned.status).toBe(401);
  });
});

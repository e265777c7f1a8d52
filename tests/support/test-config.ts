/**
 * A test's configuration and what it leaves behind: keys, a unique prefix, databases and
 * Redis keys. Apart from `test-stack.ts` so that unit tests which only need a configuration
 * or a prefix do not load the whole supergraph (gateway, four subgraphs, seeding).
 */
import { randomBytes } from 'node:crypto';
import { rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { databaseUrlFor, loadConfig, SUBGRAPH_NAMES, type AppConfig } from '../../runtime/config';
import { dropDatabase } from '../../runtime/database';
import { closeRedis, createRedis, deleteKeys } from '../../runtime/redis';
import { generateKeyPair, type KeyPair } from '../../scripts/dev-token';
import { testDatabaseUrl, testRedisUrl } from './services';

/** One key pair per test process: minting is slow-ish and any key works for the tests. */
let keys: KeyPair | undefined;
export const testKeys = (): KeyPair => (keys ??= generateKeyPair());

/** A unique name for this run's databases and Redis keys, so runs never see each other. */
export const uniquePrefix = (): string =>
  `t${Date.now().toString(36)}${randomBytes(3).toString('hex')}_`;

/** `VNPAY_SERVER_IP` of every test configuration. */
export const TEST_SERVER_IP = '192.0.2.10';

/** A configuration for tests: real PostgreSQL and Redis, unique databases and key prefix. */
export function testConfig(env: Record<string, string> = {}): AppConfig {
  const prefix = uniquePrefix();
  return loadConfig('local', {
    NODE_ENV: 'test',
    PORT: '0',
    HOST: '127.0.0.1',
    DATABASE_URL: testDatabaseUrl,
    DATABASE_NAME_PREFIX: prefix,
    DATABASE_POOL_SIZE: '4',
    REDIS_URL: testRedisUrl,
    REDIS_KEY_PREFIX: `moviehub-test:${prefix}`,
    CLERK_JWT_KEY: testKeys().publicKeyPem,
    INTERNAL_SECRET: randomBytes(24).toString('hex'),
    // A documentation address (RFC 5737): tests tell it from the loopback and the host's.
    VNPAY_SERVER_IP: TEST_SERVER_IP,
    // Mail of a test goes to a folder of its own, never into the checkout.
    MAIL_DIR: join(tmpdir(), `moviehub-mail-${prefix}`),
    ...env,
  });
}

/** Drops every database a test configuration may have created (and its mail folder). */
export async function dropTestDatabases(config: AppConfig): Promise<void> {
  await Promise.all(SUBGRAPH_NAMES.map((name) => dropDatabase(databaseUrlFor(config, name))));
  if (config.mail.dir.startsWith(join(tmpdir(), 'moviehub-mail-'))) {
    await rm(config.mail.dir, { recursive: true, force: true });
  }
}

/** Deletes every Redis key of a test configuration's prefix (holds, versions, streams), on
 * every primary when the tests run on a Redis Cluster (TEST_REDIS_URL=redis+cluster://...). */
export async function deleteTestKeys(config: AppConfig): Promise<void> {
  if (!config.redis.url || !config.redis.keyPrefix.startsWith('moviehub-test:')) return;
  const redis = createRedis(config.redis.url);
  try {
    await deleteKeys(redis, `${config.redis.keyPrefix}*`);
  } finally {
    await closeRedis(redis);
  }
}

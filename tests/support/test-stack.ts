import { Redis } from 'ioredis';
import { randomBytes } from 'node:crypto';
import { closeRedis } from '../../runtime/redis';
import {
  databaseUrlFor,
  loadConfig,
  SUBGRAPH_NAMES,
  type AppConfig,
  type SubgraphName,
} from '../../runtime/config';
import { dropDatabase } from '../../runtime/database';
import type { Role } from '../../runtime/identity';
import {
  generateKeyPair,
  mintToken,
  type KeyPair,
  type TokenClaims,
} from '../../scripts/dev-token';
import { seedDemoData } from '../../scripts/seed/seed';
import { startStack, type Stack } from '../../scripts/stack';
import { testDatabaseUrl, testRedisUrl } from './services';

/** One key pair per test process: minting is slow-ish and any key works for the tests. */
let keys: KeyPair | undefined;
export const testKeys = (): KeyPair => (keys ??= generateKeyPair());

/** A unique name for this run's databases and Redis keys, so runs never see each other. */
export const uniquePrefix = (): string =>
  `t${Date.now().toString(36)}${randomBytes(3).toString('hex')}_`;

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
    ...env,
  });
}

/** Drops every database a test configuration may have created. */
export async function dropTestDatabases(config: AppConfig): Promise<void> {
  await Promise.all(SUBGRAPH_NAMES.map((name) => dropDatabase(databaseUrlFor(config, name))));
}

/** Deletes every Redis key of a test configuration's prefix (holds, versions, streams). */
export async function deleteTestKeys(config: AppConfig): Promise<void> {
  if (!config.redis.url || !config.redis.keyPrefix.startsWith('moviehub-test:')) return;
  const redis = new Redis(config.redis.url);
  try {
    let cursor = '0';
    do {
      const [next, keys] = await redis.scan(
        cursor,
        'MATCH',
        `${config.redis.keyPrefix}*`,
        'COUNT',
        500,
      );
      cursor = next;
      if (keys.length > 0) await redis.del(...keys);
    } while (cursor !== '0');
  } finally {
    await closeRedis(redis);
  }
}

export interface GraphQLResponse<T = Record<string, any>> {
  status: number;
  headers: Headers;
  data?: T | null;
  errors?: Array<{ message: string; path?: (string | number)[]; extensions?: Record<string, any> }>;
}

export interface RequestOptions {
  token?: string;
  headers?: Record<string, string>;
  operationName?: string;
}

/** POSTs one GraphQL request, as a front end would. */
export async function postGraphQL<T = Record<string, any>>(
  url: string,
  query: string,
  variables: Record<string, unknown> = {},
  options: RequestOptions = {},
): Promise<GraphQLResponse<T>> {
  const res = await fetch(url, {
    method: 'POST',
    headers: {
      'content-type': 'application/json',
      ...(options.token ? { authorization: `Bearer ${options.token}` } : {}),
      ...options.headers,
    },
    body: JSON.stringify({ query, variables, operationName: options.operationName }),
  });
  const body = (await res.json()) as { data?: T; errors?: GraphQLResponse['errors'] };
  return { status: res.status, headers: res.headers, ...body };
}

export interface TestStack {
  readonly config: AppConfig;
  readonly stack: Stack;
  readonly gatewayUrl: string;
  token(userId: string, role?: Role, extra?: Partial<TokenClaims>): string;
  query<T = Record<string, any>>(
    query: string,
    variables?: Record<string, unknown>,
    options?: RequestOptions,
  ): Promise<GraphQLResponse<T>>;
  restartSubgraph(name: SubgraphName): Promise<void>;
  /** How many Redis subscribers listen to a showtime's seat events (leak checks). */
  redisSubscribers(showtimeId: string): Promise<number>;
  stop(): Promise<void>;
}

/**
 * The whole supergraph on free ports over fresh databases (seeded with the demo data unless
 * told otherwise). `stop()` closes everything and drops the databases.
 */
export async function startTestStack(
  options: { seed?: boolean; env?: Record<string, string> } = {},
): Promise<TestStack> {
  const config = testConfig(options.env);
  let stack: Stack;
  try {
    stack = await startStack(config);
    if (options.seed !== false) {
      await seedDemoData({
        users: stack.subgraphs.users.dataSource,
        movies: stack.subgraphs.movies.dataSource,
        cinemas: stack.subgraphs.cinemas.dataSource,
        bookings: stack.subgraphs.bookings.dataSource,
      });
    }
  } catch (err) {
    await dropTestDatabases(config).catch(() => {});
    throw err;
  }
  const gatewayUrl = `http://127.0.0.1:${stack.gateway.port}/graphql`;
  let redis: Redis | undefined;
  return {
    config,
    stack,
    gatewayUrl,
    token: (userId, role = 'CUSTOMER', extra = {}) =>
      mintToken(testKeys().privateKeyPem, { userId, role, ...extra }),
    query: (query, variables, opts) => postGraphQL(gatewayUrl, query, variables, opts),
    restartSubgraph: async (name) => {
      await stack.restartSubgraph(name);
    },
    redisSubscribers: async (showtimeId) => {
      redis ??= new Redis(config.redis.url!);
      const channel = `${config.redis.keyPrefix}seat-events:${showtimeId}`;
      const reply = (await redis.call('PUBSUB', 'NUMSUB', channel)) as [string, number];
      return Number(reply[1]);
    },
    stop: async () => {
      await stack.stop();
      await dropTestDatabases(config);
      await deleteTestKeys(config);
      if (redis) await closeRedis(redis);
    },
  };
}

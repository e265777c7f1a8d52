import { closeRedis, createRedis, isCluster, type RedisClient } from '../../runtime/redis';
import type { AppConfig, SubgraphName } from '../../runtime/config';
import type { Role } from '../../runtime/identity';
import { mintToken, type TokenClaims } from '../../scripts/dev-token';
import { seedDemoData } from '../../scripts/seed/seed';
import { startStack, type Stack } from '../../scripts/stack';
import { seatChannel } from '../../subgraphs/cinemas/src/seat/seat-topic';
import { postGraphQL, type GraphQLResponse, type RequestOptions } from './http-client';
import { deleteTestKeys, dropTestDatabases, testConfig, testKeys } from './test-config';

// The helpers that need no stack live apart (unit tests import them from there); the
// end-to-end tests find them here too.
export {
  deleteTestKeys,
  dropTestDatabases,
  testConfig,
  testKeys,
  uniquePrefix,
} from './test-config';
export {
  NotJsonResponseError,
  postGraphQL,
  type GraphQLResponse,
  type RequestOptions,
} from './http-client';

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
      await seedDemoData(
        {
          users: stack.subgraphs.users.dataSource,
          movies: stack.subgraphs.movies.dataSource,
          cinemas: stack.subgraphs.cinemas.dataSource,
          bookings: stack.subgraphs.bookings.dataSource,
        },
        undefined,
        { internalSecret: config.internalSecret },
      );
    }
  } catch (err) {
    await dropTestDatabases(config).catch(() => {});
    throw err;
  }
  const gatewayUrl = `http://127.0.0.1:${stack.gateway.port}/graphql`;
  let redis: RedisClient | undefined;
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
      redis ??= createRedis(config.redis.url!);
      const channel = seatChannel(config.redis.keyPrefix, showtimeId);
      // A cluster's subscribers listen on any node: NUMSUB counts one node's, so sum them.
      const nodes = isCluster(redis) ? redis.nodes('all') : [redis];
      let count = 0;
      for (const node of nodes) {
        const reply = (await node.call('PUBSUB', 'NUMSUB', channel)) as [string, number];
        count += Number(reply[1]);
      }
      return count;
    },
    stop: async () => {
      await stack.stop();
      await dropTestDatabases(config);
      await deleteTestKeys(config);
      if (redis) await closeRedis(redis);
    },
  };
}

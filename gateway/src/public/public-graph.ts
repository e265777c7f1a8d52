import { Supergraph } from '@apollo/federation-internals';
import { ApolloServer } from '@apollo/server';
import { ApolloServerPluginCacheControl } from '@apollo/server/plugin/cacheControl';
import { ApolloServerPluginLandingPageDisabled } from '@apollo/server/plugin/disabled';
import { ApolloServerPluginLandingPageLocalDefault } from '@apollo/server/plugin/landingPage/default';
import { ANONYMOUS } from '../../../runtime/identity';
import { internalErrorLogPlugin } from '../../../runtime/metrics';
import { closeRedis, createRedis } from '../../../runtime/redis';
import {
  jsonErrorHandler,
  MAX_BODY_BYTES,
  operationLimitsPlugin,
} from '../../../runtime/query-limits';
import { gatewayApolloOptions } from '../apollo-route';
import type { GatewayRoutesContext } from '../routes-context';
import type { GatewayContext } from '../subgraph-client';
import { usersApiKeyVerifier } from './api-key-verifier';
import { contractGateway } from './contract-gateway';
import { KnownOperationTypesRule } from './known-operation-types';
import { MemoryPartnerAccess } from './memory-partner-access';
import type { ApiKeyVerifier, PartnerAccess } from './partner-access';
import { API_KEY_HEADER, partnerGate } from './partner-gate';
import { PERSISTED_QUERY_TTL_SECONDS, redisPersistedQueryCache } from './persisted-query-cache';
import { publicOperationLimits } from './public-limits';
import { publicApiSchema } from './public-schema';
import { RedisPartnerAccess } from './redis-partner-access';
import { apolloHandler, jsonBody } from '../../../runtime/apollo-http';

/** Where partners send their operations (and browsers find Sandbox). */
export const PUBLIC_GRAPH_PATH = '/public/graphql';

/**
 * The partner graph at `/public/graphql` (issue 14): the public API schema derived from the
 * supergraph's `@tag(name: "public")` (`public-schema.ts`), served by an Apollo Server of its
 * own over the private graph's executor (`contract-gateway.ts`), behind the key check and
 * rate limit (`partner-gate.ts`), with its own shape limits, automatic persisted queries
 * (in Redis, for every instance) and Sandbox on GET where the private graph shows it.
 * Partners run as anonymous callers (the catalog cache serves them as any anonymous
 * reader); the key's id is for limits and logs only.
 *
 * Not mounted when the supergraph served tags nothing public, or has no users subgraph to
 * issue keys (an operator's own composition): said once in the log.
 */
export async function mountPublicGraph(context: GatewayRoutesContext): Promise<void> {
  const { app, config, log, redis, supergraph, gateway, defer } = context;
  const { sdl: supergraphSdl, subgraphUrls } = supergraph.current;
  const schema = publicApiSchema(Supergraph.build(supergraphSdl));
  const usersUrl = subgraphUrls.get('users');
  if (!schema || !usersUrl) {
    log.info(
      `no partner graph at ${PUBLIC_GRAPH_PATH}: the supergraph ` +
        (schema ? 'has no users subgraph to issue API keys' : 'tags nothing public'),
    );
    return;
  }
  // Follows the users subgraph's URL across compositions (see below).
  let verifyWith = { usersUrl, verify: usersApiKeyVerifier(usersUrl, config.internalSecret) };
  const verify: ApiKeyVerifier = (hash, requestId) => verifyWith.verify(hash, requestId);
  // A connection of its own, whose checks of concurrent requests go in one write.
  const checks = config.redis.url
    ? createRedis(config.redis.url, { enableAutoPipelining: true })
    : undefined;
  if (checks) defer(() => closeRedis(checks));
  const access: PartnerAccess = checks
    ? new RedisPartnerAccess(checks, config.redis.keyPrefix, verify)
    : new MemoryPartnerAccess(verify);

  const contract = contractGateway(gateway, schema, supergraphSdl, 'public');
  // A new composition gets its public schema derived again, as at start; one the partner
  // graph cannot be derived from (a public field of a type that is not public, or nothing
  // public, or no users subgraph to check keys) is rejected whole, as it would fail a start.
  // Registered after the private graph (the gateway's own part): the contract's requests run
  // on the generation the private graph switched to in the same commit.
  defer(
    supergraph.follow('partner graph', (next) => {
      const nextSchema = publicApiSchema(Supergraph.build(next.sdl));
      const nextUsersUrl = next.subgraphUrls.get('users');
      if (!nextSchema || !nextUsersUrl) {
        throw new Error(
          `the partner graph at ${PUBLIC_GRAPH_PATH} cannot be served from it: it ` +
            (nextSchema ? 'has no users subgraph to issue API keys' : 'tags nothing public'),
        );
      }
      return () => {
        if (nextUsersUrl !== verifyWith.usersUrl) {
          verifyWith = {
            usersUrl: nextUsersUrl,
            verify: usersApiKeyVerifier(nextUsersUrl, config.internalSecret),
          };
        }
        contract.update(nextSchema, next.sdl);
      };
    }),
  );

  const apollo = new ApolloServer<GatewayContext>({
    gateway: contract,
    // Partners with a key may introspect: what they see is the public schema.
    introspection: true,
    validationRules: [KnownOperationTypesRule],
    // A request carrying the key header is never a "simple" one a browser sends unasked.
    csrfPrevention: {
      requestHeaders: [API_KEY_HEADER, 'x-apollo-operation-name', 'apollo-require-preflight'],
    },
    ...gatewayApolloOptions(config),
    persistedQueries: {
      ttl: PERSISTED_QUERY_TTL_SECONDS,
      // Without Redis, Apollo's bounded in-memory cache.
      ...(redis ? { cache: redisPersistedQueryCache(redis, config.redis.keyPrefix) } : {}),
    },
    plugins: [
      config.introspection ? sandbox() : ApolloServerPluginLandingPageDisabled(),
      operationLimitsPlugin(publicOperationLimits(config.limits)),
      // Answers are per key (its rate headers, and a key opens them at all): no shared cache
      // may keep one for another caller, so Apollo's `public, max-age` is never sent here.
      ApolloServerPluginCacheControl({ calculateHttpHeaders: false }),
      // Errors answered INTERNAL_SERVER_ERROR, logged with the request id.
      internalErrorLogPlugin(),
    ],
    logger: log,
  });
  await apollo.start();
  defer(() => apollo.stop());

  app.use(
    PUBLIC_GRAPH_PATH,
    (_req, res, next) => {
      res.setHeader('cache-control', 'private, no-store');
      res.setHeader('vary', 'X-Api-Key');
      next();
    },
    // The key first: a request without a good one is refused before its body is read.
    partnerGate(access, log),
    jsonBody(MAX_BODY_BYTES),
    // Partners are anonymous callers: a key opens the public graph, nothing else.
    apolloHandler(apollo, ({ res }) =>
      Promise.resolve({ requestId: res.locals.requestId as string, identity: ANONYMOUS }),
    ),
  );
  app.use(PUBLIC_GRAPH_PATH, jsonErrorHandler(log));
}

/**
 * Apollo Sandbox on the public schema, its `X-Api-Key` header there to fill in (Sandbox's
 * connection settings), opened on an example: the showtimes of the next day in a city.
 */
function sandbox() {
  const from = new Date();
  const to = new Date(from.getTime() + 24 * 3600_000);
  return ApolloServerPluginLandingPageLocalDefault({
    embed: { initialState: { sharedHeaders: { 'X-Api-Key': '' } } },
    includeCookies: false,
    document: SANDBOX_EXAMPLE,
    variables: { city: 'Hồ Chí Minh', from: from.toISOString(), to: to.toISOString() },
  });
}

const SANDBOX_EXAMPLE = `# Put your key in the X-Api-Key header (connection settings), then run.
query Showtimes($city: String!, $from: DateTime!, $to: DateTime!) {
  showtimes(city: $city, from: $from, to: $to, limit: 20) {
    id
    startsAt
    format
    language
    availableSeats
    availability { total available vip { available } }
    prices { seatType amount }
    movie { id title ageRating durationMinutes }
    hall { name cinema { name address city } }
  }
}
`;

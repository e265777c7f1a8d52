import { ApolloServer } from '@apollo/server';
import { ApolloServerPluginDrainHttpServer } from '@apollo/server/plugin/drainHttpServer';
import { ApolloServerPluginLandingPageDisabled } from '@apollo/server/plugin/disabled';
import { ApolloServerPluginLandingPageLocalDefault } from '@apollo/server/plugin/landingPage/default';
import cors from 'cors';
import express from 'express';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { SUBGRAPH_NAMES, type AppConfig, type SubgraphName } from '../../runtime/config';
import { formatError } from '../../runtime/errors';
import { internalReadinessHeaders, type ReadinessCheck } from '../../runtime/health';
import type { Identity } from '../../runtime/identity';
import { startHttpService } from '../../runtime/http-service';
import type { RunningService } from '../../runtime/lifecycle';
import { createLogger } from '../../runtime/logger';
import {
  assertListSizesDeclared,
  clarifyParseError,
  jsonErrorHandler,
  MAX_BODY_BYTES,
  operationLimitsPlugin,
  stringifyWithinCap,
} from '../../runtime/query-limits';
import { projectRoot } from '../../runtime/paths';
import { closeRedis, createRedis } from '../../runtime/redis';
import { apolloRoute } from './apollo-route';
import { createAuthenticator } from './authenticate';
import {
  catalogCacheUsableFor,
  mountCatalogCacheStats,
  startCatalogCache,
} from './cache/catalog-cache-service';
import { ExecutionGateway } from './execution/execution-gateway';
import { mountClerkWebhook } from './clerk-webhook';
import { mountVnpayRoutes } from './vnpay-routes';
import { SubgraphClient, type GatewayContext } from './subgraph-client';
import { serveWebSockets } from './websocket';

export interface GatewayOptions {
  /** The composed supergraph; read with {@link readSupergraph} when not given. */
  readonly supergraphSdl?: string;
  /**
   * The catalog cache of public subgraph answers (`cache/catalog-cache.ts`); on unless
   * false (benchmarks compare with and without it).
   */
  readonly catalogCache?: boolean;
}

/**
 * The composed supergraph the gateway serves: the file `SUPERGRAPH_PATH` names when set (so
 * operators roll out a new composition without a rebuild), else the committed
 * `schema/supergraph.graphql`. A missing or unreadable file is one sentence naming the path.
 */
export function readSupergraph(config: Pick<AppConfig, 'supergraphPath'>): string {
  const path = config.supergraphPath ?? join(projectRoot(), 'schema', 'supergraph.graphql');
  try {
    return readFileSync(path, 'utf8');
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    const why =
      code === 'ENOENT'
        ? 'no such file'
        : code === 'EACCES'
          ? 'permission denied'
          : code === 'EISDIR'
            ? 'it is a directory'
            : (err as Error).message;
    throw new Error(
      `Cannot read the supergraph at ${path} (SUPERGRAPH_PATH): ${why}; ` +
        'point SUPERGRAPH_PATH at a composed supergraph file, or unset it to use the built-in one',
    );
  }
}

const READY_TIMEOUT_MS = 1500;

/** Who a request runs as, for sharing identical queries in flight; none: never shared. */
const callerKeys = new WeakMap<Identity, string>();
function callerKey(identity: Identity | undefined): string | undefined {
  if (!identity) return undefined;
  let key = callerKeys.get(identity);
  if (key === undefined) {
    key = JSON.stringify([
      identity.userId,
      identity.role,
      identity.email ?? null,
      identity.service ?? null,
    ]);
    callerKeys.set(identity, key);
  }
  return key;
}

/** A subgraph is ready when its own /ready (its Postgres, its Redis) says so. */
function subgraphReadiness(
  name: SubgraphName,
  graphqlUrl: string,
  internalSecret: string,
): ReadinessCheck {
  const readyUrl = new URL(graphqlUrl);
  readyUrl.pathname = readyUrl.pathname.replace(/\/graphql\/?$/, '') + '/ready';
  return async () => {
    let res: Response;
    try {
      res = await fetch(readyUrl, {
        // Signed for the subgraph, so that it names what is down.
        headers: internalReadinessHeaders(internalSecret, name),
        signal: AbortSignal.timeout(READY_TIMEOUT_MS),
      });
    } catch {
      throw new Error(`${name} subgraph unreachable at ${readyUrl.host}`);
    }
    if (!res.ok) {
      const body = (await res.json().catch(() => null)) as {
        checks?: Record<string, string>;
      } | null;
      const down = Object.entries(body?.checks ?? {})
        .filter(([, state]) => state !== 'ok')
        .map(([dep, state]) => `${dep} ${state}`);
      throw new Error(`${name} subgraph not ready${down.length ? ` (${down.join('; ')})` : ''}`);
    }
  };
}

/**
 * The gateway: one HTTP server with `POST /graphql` (the supergraph), `GET /graphql`
 * (Apollo Sandbox where introspection is on), `/health` and `/ready`.
 */
export async function startGateway(
  config: AppConfig,
  options: GatewayOptions = {},
): Promise<RunningService> {
  const log = createLogger('gateway', config.logLevel);
  const authenticate = createAuthenticator(config.clerk);
  // Before anything opens a connection: a bad SUPERGRAPH_PATH leaves nothing behind.
  const supergraphSdl = options.supergraphSdl ?? readSupergraph(config);
  // CORS: the configured allowlist; in development with none, any origin (the local stack).
  const origins = config.cors.origins;
  const corsMiddleware = cors({
    origin: origins.length > 0 ? [...origins] : !config.isProduction,
    credentials: true,
  });

  const service = await startHttpService(
    {
      name: 'gateway',
      host: config.http.host,
      port: config.http.port,
      log,
      // Clients may send anything: only a safe id is echoed into logs and headers.
      requestIds: 'validate',
      before: [corsMiddleware],
      health: { internalSecret: config.internalSecret, audience: 'gateway' },
    },
    async ({ app, httpServer, defer }) => {
      app.set('trust proxy', true);
      const redis = config.redis.url ? createRedis(config.redis.url) : undefined;
      if (redis) defer(() => closeRedis(redis));
      const catalogCache =
        options.catalogCache === false
          ? undefined
          : await startCatalogCache({ config, log, redis, defer });

      const gateway = new ExecutionGateway({
        supergraphSdl,
        // Subgraphs are found through USERS_URL etc., whatever URL composition recorded.
        buildService: (name) =>
          new SubgraphClient(
            name,
            config.subgraphUrls[name as SubgraphName],
            config.internalSecret,
          ),
        logger: log,
        // Identical queries in flight share one execution, never across callers.
        callerOf: (context) => callerKey((context as Partial<GatewayContext>).identity),
        fetchCache: catalogCache && {
          cache: catalogCache,
          usableFor: (context) =>
            catalogCacheUsableFor((context as Partial<GatewayContext>).identity),
        },
      });
      const apollo = new ApolloServer<GatewayContext>({
        gateway,
        introspection: config.introspection,
        csrfPrevention: true,
        // Signals are ours: stopOnSignals drains every service, then closes connections.
        stopOnTerminationSignals: false,
        includeStacktraceInErrorResponses: !config.isProduction,
        formatError: (formatted) => formatError(clarifyParseError(formatted), config.isProduction),
        // A huge document fails while parsing; a result over the cap is never sent.
        parseOptions: { maxTokens: config.limits.maxTokens },
        stringifyResult: stringifyWithinCap(config.limits.maxResponseBytes, {
          shareSerialization: true,
        }),
        plugins: [
          ApolloServerPluginDrainHttpServer({ httpServer }),
          config.introspection
            ? ApolloServerPluginLandingPageLocalDefault({ embed: true, includeCookies: false })
            : ApolloServerPluginLandingPageDisabled(),
          // Shape, cost and text checks before the query planner runs.
          operationLimitsPlugin(config.limits),
        ],
        logger: log,
      });
      try {
        await apollo.start();
      } catch (err) {
        if (config.supergraphPath && !options.supergraphSdl) {
          throw new Error(
            `The supergraph at ${config.supergraphPath} (SUPERGRAPH_PATH) could not be loaded: ` +
              (err instanceof Error ? err.message : String(err)),
          );
        }
        throw err;
      }
      defer(() => apollo.stop());
      // Every list of the API schema must have a declared size, or the cost limit is blind.
      assertListSizesDeclared(gateway.schema!, 'the supergraph');

      if (catalogCache) mountCatalogCacheStats(app, catalogCache, config);
      mountClerkWebhook(app, config, log);
      mountVnpayRoutes(app, config, log);

      app.use(
        '/graphql',
        express.json({ limit: MAX_BODY_BYTES }),
        apolloRoute(apollo, async ({ req, res }) => {
          const requestId = res.locals.requestId as string;
          const { identity } = await authenticate(req.header('authorization'));
          return { requestId, identity };
        }),
      );
      // Malformed or oversized bodies: coded JSON errors, never Express's HTML page.
      app.use('/graphql', jsonErrorHandler(log));

      const webSockets = serveWebSockets({
        httpServer,
        apollo,
        supergraphSdl,
        config,
        authenticate,
        log,
      });
      defer(() => webSockets.dispose());

      return {
        readiness: () => ({
          ...Object.fromEntries(
            SUBGRAPH_NAMES.map((name) => [
              name,
              subgraphReadiness(name, config.subgraphUrls[name], config.internalSecret),
            ]),
          ),
          ...(redis ? { redis: async () => void (await redis.ping()) } : {}),
        }),
        value: undefined,
      };
    },
  );
  return { name: 'gateway', port: service.port, url: service.url, stop: service.stop };
}

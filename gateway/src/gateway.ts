import { ApolloServer } from '@apollo/server';
import { ApolloServerPluginDrainHttpServer } from '@apollo/server/plugin/drainHttpServer';
import { ApolloServerPluginLandingPageDisabled } from '@apollo/server/plugin/disabled';
import { ApolloServerPluginLandingPageLocalDefault } from '@apollo/server/plugin/landingPage/default';
import cors from 'cors';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { SUBGRAPH_NAMES, type AppConfig, type SubgraphName } from '../../runtime/config';
import { AppError } from '../../runtime/errors';
import { internalReadinessHeaders, type ReadinessCheck } from '../../runtime/health';
import type { Identity } from '../../runtime/identity';
import { startHttpService } from '../../runtime/http-service';
import type { RunningService } from '../../runtime/lifecycle';
import type { LoadSheddingOptions } from '../../runtime/load-shedding';
import { createLogger } from '../../runtime/logger';
import { metricsAccess, operationMetricsPlugin, subgraphFetchMetrics } from '../../runtime/metrics';
import {
  jsonErrorHandler,
  MAX_BODY_BYTES,
  operationLimitsPlugin,
  undeclaredListSizes,
} from '../../runtime/query-limits';
import { projectRoot } from '../../runtime/paths';
import { closeRedis, createRedis } from '../../runtime/redis';
import { gatewayApolloOptions } from './apollo-route';
import { createAuthenticator } from './authenticate';
import {
  catalogCacheUsableFor,
  mountCatalogCacheStats,
  startCatalogCache,
} from './cache/catalog-cache-service';
import { ExecutionGateway } from './execution/execution-gateway';
import { mountClerkWebhook } from './clerk-webhook';
import { mountVnpayRoutes } from './vnpay-routes';
import { mountSeatMapApp } from './app/seat-map-app';
import { mountPublicGraph } from './public/public-graph';
import type { GatewayRoutesContext } from './routes-context';
import { SubgraphClient, type GatewayContext } from './subgraph-client';
import { composition, LiveSupergraph, type Composition } from './live-supergraph';
import { subgraphUrl } from './subgraph-urls';
import { watchSupergraph } from './supergraph-source';
import { serveWebSockets } from './websocket';
import { apolloHandler, jsonBody } from '../../runtime/apollo-http';

export interface GatewayOptions {
  /**
   * The composed supergraph; read with {@link readSupergraph} when not given, and then
   * watched for changes when `SUPERGRAPH_PATH` names the file (see `supergraph-source.ts`).
   */
  readonly supergraphSdl?: string;
  /**
   * The catalog cache of public subgraph answers (`cache/catalog-cache.ts`); on unless
   * false (benchmarks compare with and without it).
   */
  readonly catalogCache?: boolean;
  /** The load gate's bounds (`runtime/load-shedding.ts`); its defaults unless given (tests). */
  readonly loadShedding?: LoadSheddingOptions;
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

/** One of our subgraphs is ready when its own /ready (its Postgres, its Redis) says so. */
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

/** Apollo's own service health check: any GraphQL server answers it. */
const TYPENAME_QUERY = JSON.stringify({
  query: 'query __ApolloServiceHealthCheck__ { __typename }',
});

/**
 * Another team's subgraph (any name but ours) has no /ready: it is ready when it answers a
 * GraphQL query.
 */
function graphqlReadiness(name: string, graphqlUrl: string): ReadinessCheck {
  return async () => {
    let res: Response;
    try {
      res = await fetch(graphqlUrl, {
        method: 'POST',
        headers: { 'content-type': 'application/json', accept: 'application/json' },
        body: TYPENAME_QUERY,
        signal: AbortSignal.timeout(READY_TIMEOUT_MS),
      });
    } catch {
      throw new Error(`${name} subgraph unreachable at ${new URL(graphqlUrl).host}`);
    }
    const body = (await res.json().catch(() => null)) as {
      data?: { __typename?: unknown } | null;
    } | null;
    if (!res.ok || typeof body?.data?.__typename !== 'string') {
      throw new Error(`${name} subgraph not ready (HTTP ${res.status})`);
    }
  };
}

const isOurs = (name: string): name is SubgraphName =>
  (SUBGRAPH_NAMES as readonly string[]).includes(name);

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
  /** A start failure caused by the file SUPERGRAPH_PATH names says so (and which file). */
  const fromSupergraphFile = (err: unknown): unknown =>
    config.supergraphPath && !options.supergraphSdl
      ? new Error(
          `The supergraph at ${config.supergraphPath} (SUPERGRAPH_PATH) could not be loaded: ` +
            (err instanceof Error ? err.message : String(err)),
        )
      : err;
  let initial: Composition;
  try {
    initial = composition(supergraphSdl, config.subgraphUrlOverrides);
  } catch (err) {
    throw fromSupergraphFile(err);
  }
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
      metrics: metricsAccess(config),
      loadShedding: options.loadShedding,
    },
    async ({ app, httpServer, metrics, loadGate, defer }) => {
      // X-Forwarded-For is believed only from a proxy of our own networks (loopback, private,
      // link-local), read from the right as proxies append: `req.ip` is then the address the
      // nearest such proxy saw, which a client cannot forge (with `true`, the leftmost entry,
      // the client's own). The same rule as the WebSocket limits' client address.
      app.set('trust proxy', 'loopback, linklocal, uniquelocal');
      const redis = config.redis.url ? createRedis(config.redis.url) : undefined;
      if (redis) defer(() => closeRedis(redis));
      const catalogCache =
        options.catalogCache === false
          ? undefined
          : await startCatalogCache({ config, log, redis, defer });

      const reloads = metrics.counter(
        'moviehub_gateway_supergraph_reloads_total',
        'New supergraph texts seen while running: applied, or rejected (the previous one kept serving)',
        ['outcome'],
      );
      // The composition served, and the parts that switch with it, in the order they follow
      // it: the private graph first (the partner graph's requests run on its generation), then
      // the partner graph, subscriptions and the warnings.
      const supergraph = new LiveSupergraph(initial, config.subgraphUrlOverrides, log, (outcome) =>
        reloads.bind(outcome).inc(),
      );
      // Queries and subscription events use the catalog cache alike, anonymous callers only.
      const fetchCache = catalogCache && {
        cache: catalogCache,
        usableFor: (context: unknown) =>
          catalogCacheUsableFor((context as Partial<GatewayContext> | undefined)?.identity),
      };
      const gateway = new ExecutionGateway({
        supergraphSdl,
        buildService: (name, composedUrl) => {
          const url = subgraphUrl(name, composedUrl, config.subgraphUrlOverrides);
          return new SubgraphClient(name, url, config.internalSecret, {
            metrics: subgraphFetchMetrics(metrics, name),
          });
        },
        logger: log,
        // Identical queries in flight share one execution, never across callers.
        callerOf: (context) => callerKey((context as Partial<GatewayContext>).identity),
        fetchCache,
      });
      const apollo = new ApolloServer<GatewayContext>({
        gateway,
        introspection: config.introspection,
        csrfPrevention: true,
        ...gatewayApolloOptions(config),
        plugins: [
          ApolloServerPluginDrainHttpServer({ httpServer }),
          config.introspection
            ? ApolloServerPluginLandingPageLocalDefault({ embed: true, includeCookies: false })
            : ApolloServerPluginLandingPageDisabled(),
          // Shape, cost and text checks before the query planner runs.
          operationLimitsPlugin(config.limits),
          operationMetricsPlugin(metrics),
        ],
        logger: log,
      });
      try {
        await apollo.start();
      } catch (err) {
        throw fromSupergraphFile(err);
      }
      defer(() => apollo.stop());
      defer(supergraph.follow('private graph', (next) => gateway.prepareUpdate(next.sdl)));
      // Our subgraphs refuse to start with a list of undeclared size, and a test holds the
      // committed supergraph to it: a list here without one comes from a subgraph that is not
      // ours, which the operator chose to compose. Served, with the cost limit told.
      const warnUndeclaredLists = () => {
        const undeclared = undeclaredListSizes(gateway.schema!);
        if (undeclared.length > 0) {
          log.warn(
            { lists: undeclared },
            'lists without a declared size (runtime/query-limits.ts LIST_SIZES): the query cost ' +
              'limit cannot tell how long they are',
          );
        }
      };
      warnUndeclaredLists();
      // The routes that call our subgraphs directly go where the gateway's fetches go now: the
      // URL of the composition served (USERS_URL … still win), read per call.
      const ourSubgraphUrl = (name: 'users' | 'bookings'): string => {
        const url = supergraph.current.subgraphUrls.get(name);
        if (url === undefined) {
          throw new AppError('SERVICE_UNAVAILABLE', `Service "${name}" is not composed`, {
            serviceName: name,
          });
        }
        return url;
      };

      if (catalogCache) mountCatalogCacheStats(app, catalogCache, config);
      mountClerkWebhook(app, config, log, ourSubgraphUrl);
      mountVnpayRoutes(app, config, log, ourSubgraphUrl);
      const routes: GatewayRoutesContext = {
        app,
        httpServer,
        config,
        log,
        redis,
        supergraph,
        gateway,
        authenticate,
        defer,
      };
      await mountPublicGraph(routes);
      mountSeatMapApp(routes);

      app.use(
        '/graphql',
        jsonBody(MAX_BODY_BYTES),
        apolloHandler(apollo, async ({ req, res }) => {
          const requestId = res.locals.requestId as string;
          const { identity } = await authenticate(req.header('authorization'));
          return { requestId, identity, clientIp: req.ip };
        }),
      );
      // Malformed or oversized bodies: coded JSON errors, never Express's HTML page.
      app.use('/graphql', jsonErrorHandler(log));

      const webSockets = serveWebSockets({
        httpServer,
        apollo,
        supergraph,
        config,
        authenticate,
        log,
        metrics,
        fetchCache,
        loadGate,
      });
      defer(() => webSockets.dispose());
      defer(supergraph.follow('warnings', () => warnUndeclaredLists));

      // The file (or URL) the supergraph comes from, watched from now on: every part follows.
      const reload = config.supergraphReload;
      if (!options.supergraphSdl && (config.supergraphPath || reload.url)) {
        const watching = watchSupergraph({
          path: config.supergraphPath,
          url: reload.url,
          urlPollMs: reload.urlPollMs,
          filePollMs: reload.filePollMs,
          currentHash: () => supergraph.current.hash,
          onText: async (sdl, origin) => void (await supergraph.apply(sdl, origin)),
          log,
        });
        defer(() => watching.close());
      }

      return {
        // Read per request of /ready: the subgraphs of the composition served now.
        readiness: () => ({
          ...Object.fromEntries(
            [...supergraph.current.subgraphUrls].map(([name, url]) => [
              name,
              isOurs(name)
                ? subgraphReadiness(name, url, config.internalSecret)
                : graphqlReadiness(name, url),
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

import { ApolloServer } from '@apollo/server';
import { ApolloServerPluginInlineTraceDisabled } from '@apollo/server/plugin/disabled';
import { ApolloServerPluginDrainHttpServer } from '@apollo/server/plugin/drainHttpServer';
import express from 'express';
import { randomUUID } from 'node:crypto';
import type { Server } from 'node:http';
import { GraphQLError, validate, type GraphQLFormattedError, type GraphQLSchema } from 'graphql';
import { WebSocketServer } from 'ws';
import type { DataSource } from 'typeorm';
import { databaseUrlFor, type AppConfig, type SubgraphName } from './config';
import {
  createDataSource,
  ensureDatabase,
  isDatabaseUnavailable,
  isStatementTimeout,
  QueryCounter,
  requestScope,
  runMigrations,
} from './database';
import { formatError } from './errors';
import {
  assertListSizesDeclared,
  checkOperationLimits,
  checkTextArguments,
  clarifyParseError,
  jsonErrorHandler,
  MAX_BODY_BYTES,
  operationLimitsPlugin,
  parseWithLimits,
  stringifyWithinCap,
} from './query-limits';
import { apolloHandler, jsonBody } from './apollo-http';
import { buildFederatedSchema } from './federation';
import { startHttpService } from './http-service';
import { IDENTITY_HEADER, verifyIdentity, type Identity } from './identity';
import type { RunningService } from './lifecycle';
import { createLogger, type Logger } from './logger';
import { createEventTransport } from './events/transport-factory';
import { createPubSubTransport } from './pubsub';
import { documentStore } from './document-store';
import { serveGraphqlWs } from './graphql-ws-server';
import { closeRedis, createRedis } from './redis';
import { anonymousCacheControl } from './anonymous-cache-control';
import type { RequestContext } from './request-context';
import type { AnySubgraphDefinition, SubgraphDeps } from './subgraph-definition';
import { metricsAccess, operationMetricsPlugin } from './metrics';

export interface RunningSubgraph extends RunningService {
  readonly dataSource: DataSource;
  readonly queryCounter: QueryCounter;
}

/**
 * A subgraph's `formatError`: a statement cancelled by `statement_timeout`, and a database
 * that cannot be reached or is not serving (a lost connection, a restart), become a coded
 * `SERVICE_UNAVAILABLE` saying so, retryable (never the SQL or the driver's message); then
 * the registry's masking.
 */
export function subgraphErrorFormatter(config: AppConfig) {
  return (formatted: GraphQLFormattedError, error: unknown): GraphQLFormattedError => {
    const original = error instanceof GraphQLError ? error.originalError : error;
    const unavailable = (message: string): GraphQLFormattedError => ({
      message,
      ...(formatted.path ? { path: formatted.path } : {}),
      ...(formatted.locations ? { locations: formatted.locations } : {}),
      extensions: { code: 'SERVICE_UNAVAILABLE' },
    });
    if (isStatementTimeout(original)) {
      return unavailable(
        `The database did not answer within the ${config.limits.statementTimeoutMs} ms ` +
          'statement timeout (DATABASE_STATEMENT_TIMEOUT_MS); try again, or ask for less',
      );
    }
    if (isDatabaseUnavailable(original)) {
      return unavailable('The database cannot be reached now; try again shortly');
    }
    return formatError(clarifyParseError(formatted), config.isProduction);
  };
}

/**
 * graphql-ws (graphql-transport-ws) on the subgraph's `/graphql`, for its Subscription root.
 * Only the gateway (or another service) may connect: `connection_init` must carry a valid
 * signed identity in `payload.headers`, else the socket closes with 4403. Operations get the
 * limits of HTTP (tokens, shape and cost, control characters) and errors the same format.
 */
function serveSubscriptions(
  httpServer: Server,
  schema: GraphQLSchema,
  config: AppConfig,
  log: Logger,
  contextFor: (identity: Identity) => unknown,
  audience: SubgraphName,
): () => Promise<void> {
  if (!schema.getSubscriptionType()) return async () => {};
  const wss = new WebSocketServer({
    server: httpServer,
    path: '/graphql',
    maxPayload: MAX_BODY_BYTES,
  });
  const format = subgraphErrorFormatter(config);
  const formatAll = (errors: readonly GraphQLError[]) =>
    errors.map((error) => format(error.toJSON(), error));
  const server = serveGraphqlWs(
    {
      schema,
      onConnect: (ctx) => {
        const headers = (ctx.connectionParams?.headers ?? {}) as Record<string, unknown>;
        const header = headers[IDENTITY_HEADER];
        const identity = verifyIdentity(
          typeof header === 'string' ? header : undefined,
          config.internalSecret,
          audience,
        );
        if (!identity) return false;
        (ctx.extra as unknown as { identity?: Identity }).identity = identity;
        return true;
      },
      onSubscribe: (_ctx, _id, payload) => {
        let document;
        try {
          document = parseWithLimits(payload.query, config.limits.maxTokens);
        } catch (error) {
          return [error as GraphQLError];
        }
        const invalid = validate(schema, document);
        if (invalid.length > 0) return invalid;
        const refused =
          checkOperationLimits(
            schema,
            document,
            payload.operationName,
            payload.variables,
            config.limits,
          ) ?? checkTextArguments(document, payload.operationName, payload.variables);
        if (refused) return [refused];
        return {
          schema,
          document,
          operationName: payload.operationName,
          variableValues: payload.variables,
        };
      },
      context: (ctx) => contextFor((ctx.extra as unknown as { identity: Identity }).identity),
      onNext: (_ctx, _id, _payload, _args, result) =>
        result.errors ? { ...result, errors: formatAll(result.errors) } : undefined,
      onError: (_ctx, _id, _payload, errors) => {
        log.warn({ errors: errors.map((e) => e.message) }, 'subscription error');
        return formatAll(errors);
      },
    },
    wss,
    { log, isProd: config.isProduction },
  );
  return async () => {
    await server.dispose();
    await new Promise<void>((resolve) => wss.close(() => resolve()));
  };
}

/** Opens a subgraph's database (creating it when missing) and applies pending migrations. */
export async function openSubgraphDatabase(
  definition: AnySubgraphDefinition,
  config: AppConfig,
  log: Logger,
  counter?: QueryCounter,
): Promise<DataSource> {
  const url = databaseUrlFor(config, definition.name);
  await ensureDatabase(url);
  const dataSource = createDataSource({
    url,
    entities: definition.entities,
    migrations: definition.migrations,
    log,
    poolSize: config.db.poolSize,
    counter,
    statementTimeoutMs: config.limits.statementTimeoutMs,
  });
  await dataSource.initialize();
  try {
    const applied = await runMigrations(dataSource);
    if (applied.length > 0) log.info({ applied }, 'migrations applied');
  } catch (err) {
    await dataSource.destroy();
    throw err;
  }
  return dataSource;
}

/**
 * Starts one subgraph as an HTTP service: `POST /graphql` (signed identity required),
 * `GET /health`, `GET /ready`. `stop()` stops its workers and subscriptions, drains in-flight
 * requests, then closes the pub/sub, Redis and database connections (the reverse of start).
 */
export async function startSubgraph(
  definition: AnySubgraphDefinition,
  config: AppConfig,
): Promise<RunningSubgraph> {
  const log = createLogger(definition.name, config.logLevel);
  const queryCounter = new QueryCounter();
  const service = await startHttpService(
    {
      name: `${definition.name} subgraph`,
      host: config.http.host,
      port: config.http.port,
      log,
      // Only signed callers get past /graphql; the id they send ties logs across services.
      requestIds: 'trust',
      health: { internalSecret: config.internalSecret, audience: definition.name },
      metrics: metricsAccess(config),
    },
    async ({ app, httpServer, metrics, defer }) => {
      const dataSource = await openSubgraphDatabase(definition, config, log, queryCounter);
      defer(async () => {
        if (dataSource.isInitialized) await dataSource.destroy();
      });
      // Commands issued in the same tick share one round trip (the seat counts of a list of
      // showtimes, say).
      const redis = config.redis.url
        ? createRedis(config.redis.url, { enableAutoPipelining: true })
        : undefined;
      if (redis) defer(() => closeRedis(redis));
      const pubSub = createPubSubTransport(config.redis.url, config.redis.keyPrefix);
      defer(() => pubSub.close());
      const events = createEventTransport(config, log);
      if (!events.shared) defer(() => events.transport.close());

      const schema = await buildFederatedSchema(definition.schema);
      assertListSizesDeclared(schema, `the ${definition.name} subgraph`);
      const deps: SubgraphDeps = {
        config,
        dataSource,
        redis,
        pubSub,
        events: events.transport,
        log,
      };
      const domain: unknown = definition.createApp(deps);
      const apollo = new ApolloServer<RequestContext>({
        schema,
        introspection: config.introspection,
        csrfPrevention: true,
        // Signals are ours: stopOnSignals drains every service, then closes connections.
        stopOnTerminationSignals: false,
        includeStacktraceInErrorResponses: !config.isProduction,
        formatError: subgraphErrorFormatter(config),
        // Bounded parsing, shape and cost, and response size: as at the gateway.
        parseOptions: { maxTokens: config.limits.maxTokens },
        // Documents come from the gateway's plans of clients' operations: kept by what they
        // hold, not by their JSON (a third of it), as at the gateway.
        documentStore: documentStore(),
        stringifyResult: stringifyWithinCap(config.limits.maxResponseBytes),
        plugins: [
          ApolloServerPluginDrainHttpServer({ httpServer }),
          // Federated traces wrap every field resolver; we report no usage to Apollo's cloud.
          ApolloServerPluginInlineTraceDisabled(),
          anonymousCacheControl(),
          operationLimitsPlugin(config.limits),
          operationMetricsPlugin(metrics),
        ],
        logger: log,
      });
      await apollo.start();
      defer(() => apollo.stop());

      if (definition.mountInternalRoutes) {
        const router = express.Router();
        router.use(jsonBody(MAX_BODY_BYTES), (req, res, next) => {
          const identity = verifyIdentity(
            req.header(IDENTITY_HEADER),
            config.internalSecret,
            definition.name,
          );
          if (!identity?.service) {
            log.warn({ ip: req.ip, path: req.path }, 'refused an internal call without a service');
            res.status(401).json({ error: 'UNAUTHENTICATED' });
            return;
          }
          res.locals.identity = identity;
          next();
        });
        definition.mountInternalRoutes(router, domain);
        router.use(jsonErrorHandler(log));
        app.use('/internal', router);
      }

      const graphql = apolloHandler(apollo, ({ req, res }) => {
        const requestId = res.locals.requestId as string;
        const base: RequestContext = {
          requestId,
          idempotencyKey: req.header('idempotency-key') ?? null,
          identity: res.locals.identity as Identity,
          log: log.child({ requestId }),
        };
        return Promise.resolve(definition.createContext(base, domain) as RequestContext);
      });
      const readBody = jsonBody(MAX_BODY_BYTES);
      // One layer: every layer is a turn of Express's router per request.
      app.use('/graphql', (req, res, next) => {
        // A subgraph port reached directly grants nothing: only signed callers get in, and
        // only their bodies are parsed (an unsigned caller's is drained unread).
        const identity = verifyIdentity(
          req.header(IDENTITY_HEADER),
          config.internalSecret,
          definition.name,
        );
        if (!identity) {
          log.warn(
            { requestId: res.locals.requestId as string, ip: req.ip },
            'refused a call without a valid identity',
          );
          res.status(401).json({
            errors: [
              {
                message: 'Missing or invalid internal identity',
                extensions: { code: 'UNAUTHENTICATED' },
              },
            ],
          });
          return;
        }
        res.locals.identity = identity;
        readBody(req, res, (error?: unknown) => {
          if (error) return next(error);
          const answer = () => graphql(req, res);
          // Statement counting (N+1 tests) needs async context tracking, which costs on
          // every promise: only under test. A rejection is Express's to pass on (a 500).
          (config.env === 'test' ? requestScope.run(true, answer) : answer()).catch(next);
        });
      });
      // Malformed or oversized bodies: coded JSON errors, never Express's HTML page.
      app.use('/graphql', jsonErrorHandler(log));

      defer(
        serveSubscriptions(
          httpServer,
          schema,
          config,
          log,
          (identity) =>
            definition.createContext(
              { requestId: randomUUID(), identity, log: log.child({ ws: true }) },
              domain,
            ),
          definition.name,
        ),
      );
      // Started last, stopped first; a failed listen stops them with the rest.
      for (const stop of definition.startWorkers?.(domain, deps) ?? []) defer(stop);

      return {
        readiness: () => ({
          postgres: async () => {
            await dataSource.query('SELECT 1');
          },
          ...(redis ? { redis: async () => void (await redis.ping()) } : {}),
        }),
        value: { dataSource },
      };
    },
  );
  return {
    name: definition.name,
    port: service.port,
    url: service.url,
    dataSource: service.value.dataSource,
    queryCounter,
    stop: service.stop,
  };
}

import express, { type ErrorRequestHandler, type Express, type RequestHandler } from 'express';
import { randomUUID } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import { mountHealthRoutes, type HealthRouteOptions, type ReadinessCheck } from './health';
import { listen } from './lifecycle';
import { createLoadGate, type LoadGate, type LoadSheddingOptions } from './load-shedding';
import { REQUEST_ID_HEADER, type Logger } from './logger';
import {
  httpMetrics,
  mountMetrics,
  serviceMetrics,
  type MetricsAccess,
  type ServiceMetrics,
} from './metrics';
import { once } from './once';
import { flushTraces, nameTracedPort } from './tracing';

/** Releases one resource (stops Apollo, closes Redis, ...). */
export type Disposer = () => Promise<void> | void;

/**
 * How a service treats an incoming `x-request-id`: `validate` (an edge facing clients) keeps
 * it only when it matches `/^[\w.-]{1,128}$/`, else makes a UUID; `trust` (a service behind
 * the gateway) keeps whatever its caller sent, making a UUID only when there is none.
 */
export type RequestIdPolicy = 'validate' | 'trust';

const SAFE_REQUEST_ID = /^[\w.-]{1,128}$/;

/**
 * How long an idle kept-alive connection stays open. Node's 5 s default raced the callers'
 * pools (the gateway's, a load balancer's): a socket the server closed just as a caller
 * reused it failed that request with ECONNRESET, and a mutation cannot be sent again. The
 * server announces this in `Keep-Alive: timeout=…`, and Node's and undici's pools close an
 * idle socket a second before it, so the caller always closes first. Longer than the 60 s
 * idle timeout of common load balancers, for the same reason.
 */
export const KEEP_ALIVE_TIMEOUT_MS = 65_000;

/**
 * How long a client of an edge service has to send a whole request, body included, and its
 * headers (then `408` and the connection closed). Node's defaults (300 s, 60 s) let a client
 * that announces a body and stalls hold a connection for five minutes, thousands of them at
 * little cost; 30 s is a 1 MiB body at 35 KB/s. They bound receiving the request only: an
 * answer that takes longer, an idle kept-alive connection and an upgraded WebSocket are not
 * cut. Behind the edge Node's defaults stay (the gateway is the only caller).
 */
export const EDGE_REQUEST_TIMEOUT_MS = 30_000;
/** See {@link EDGE_REQUEST_TIMEOUT_MS}; below it, as Node requires. */
export const EDGE_HEADERS_TIMEOUT_MS = 15_000;
/** How often Node looks for requests over those: its 30 s would let one last twice as long. */
const EDGE_CONNECTIONS_CHECKING_INTERVAL_MS = 5_000;

export interface HttpServiceOptions {
  readonly name: string;
  readonly host: string;
  /** 0 picks a free port. */
  readonly port: number;
  readonly log: Logger;
  readonly requestIds: RequestIdPolicy;
  /** Middleware that must run before everything else, `/health` included (CORS, say). */
  readonly before?: readonly RequestHandler[];
  /**
   * Who may read `/ready` details; see {@link mountHealthRoutes}. Its `audience` is the
   * service's name: the registry of its metrics and the name on its trace spans.
   */
  readonly health: Omit<HealthRouteOptions, 'log'>;
  /**
   * Who may read `/metrics` besides other services (signed identity): anyone when `open`
   * (outside production), and a scraper presenting `token` as a bearer token. Omitted: only
   * other services, as in production without `METRICS_TOKEN`.
   */
  readonly metrics?: Pick<MetricsAccess, 'open' | 'token'>;
  /** Printed once listening; the path of `url`. */
  readonly path?: string;
  /**
   * Refuse new requests (`/health`, `/ready` and `/metrics` aside) with a coded 503 while
   * the service is saturated (`runtime/load-shedding.ts`); `false`: never. By default on for
   * an edge facing clients (`requestIds: 'validate'`), whose callers retry, and off behind
   * it, where the edge already bounds what arrives.
   */
  readonly loadShedding?: LoadSheddingOptions | false;
}

/** What the caller's set-up gets: the app to mount routes on, the server, and the stack. */
export interface HttpServiceSetup {
  readonly app: Express;
  readonly httpServer: Server;
  /** The service's metrics, served at `/metrics`. */
  readonly metrics: ServiceMetrics;
  /**
   * The load gate of HTTP requests (`loadShedding`), for work that arrives otherwise (a
   * WebSocket's operations) to pass the same door; undefined when the service sheds nothing.
   */
  readonly loadGate?: LoadGate;
  /**
   * Registers how to release a resource just started; released in reverse order on `stop()`,
   * or at once when start-up fails later on.
   */
  readonly defer: (dispose: Disposer) => void;
}

/** What set-up returns: the readiness checks of `/ready`, and anything else for the caller. */
export interface HttpServiceParts<T> {
  readonly readiness: () => Record<string, ReadinessCheck>;
  readonly value: T;
}

export interface StartedHttpService<T> {
  readonly port: number;
  readonly url: string;
  readonly value: T;
  /** Releases everything registered with `defer`, last first; rethrows the first failure. */
  readonly stop: () => Promise<void>;
}

/** Runs every disposer, last registered first, even when one fails; the first error wins. */
async function disposeAll(stack: Disposer[]): Promise<void> {
  let first: unknown;
  let failed = false;
  for (const dispose of stack.splice(0).reverse()) {
    try {
      await dispose();
    } catch (err) {
      if (!failed) first = err;
      failed = true;
    }
  }
  if (failed) throw first;
}

/**
 * The one bootstrap of every HTTP service (the gateway, each subgraph): an Express app
 * (`x-powered-by` and ETags off) with the request id on `res.locals.requestId` and the response header,
 * every request counted and timed (`runtime/metrics.ts`), `GET /health`, `GET /ready` and
 * `GET /metrics`, the `http.Server`, then the caller's `setup` (routes,
 * Apollo, WebSockets, connections: each registered with `defer` as it starts), then `listen`.
 * If anything throws before the service listens (a busy port included), what was registered
 * is released in reverse order and the error rethrown, so a failed start leaves nothing open.
 */
export async function startHttpService<T>(
  options: HttpServiceOptions,
  setup: (service: HttpServiceSetup) => Promise<HttpServiceParts<T>>,
): Promise<StartedHttpService<T>> {
  const stack: Disposer[] = [flushTraces];
  const service = options.health.audience;
  const metrics = serviceMetrics(service);
  try {
    const app = express();
    app.disable('x-powered-by');
    // No ETags: every answer here is dynamic (GraphQL POSTs, health, internal routes) and no
    // client revalidates one, while Express hashes each body for it (SHA-1 over every
    // 30 KB seat map or showtime list).
    app.set('etag', false);
    // First: CORS preflights and refusals are requests too.
    app.use(httpMetrics(metrics));
    for (const handler of options.before ?? []) app.use(handler);
    // After CORS (a browser can read the 503 only with its headers), before any body is read
    // (the gate counts a request once its body has been read, by whichever parser reads it).
    const shedding = options.loadShedding ?? (options.requestIds === 'validate' ? {} : false);
    let loadGate: LoadGate | undefined;
    if (shedding) {
      const gate = createLoadGate(shedding, { log: options.log, metrics });
      stack.push(() => gate.stop());
      app.use(gate.middleware);
      loadGate = gate;
    }
    app.use((req, res, next) => {
      const incoming = req.headers[REQUEST_ID_HEADER] as string | undefined;
      const keep = options.requestIds === 'trust' || (incoming && SAFE_REQUEST_ID.test(incoming));
      const requestId = incoming && keep ? incoming : randomUUID();
      res.locals.requestId = requestId;
      res.setHeader(REQUEST_ID_HEADER, requestId);
      next();
    });
    // The checks close over what set-up opens: filled in once it has.
    let readiness: () => Record<string, ReadinessCheck> = () => ({});
    mountHealthRoutes(app, () => readiness(), { ...options.health, log: options.log });
    mountMetrics(app, metrics, {
      open: options.metrics?.open ?? false,
      token: options.metrics?.token,
      internalSecret: options.health.internalSecret,
      audience: service,
    });
    const edge = options.requestIds === 'validate';
    const httpServer = edge
      ? createServer(
          {
            requestTimeout: EDGE_REQUEST_TIMEOUT_MS,
            headersTimeout: EDGE_HEADERS_TIMEOUT_MS,
            connectionsCheckingInterval: EDGE_CONNECTIONS_CHECKING_INTERVAL_MS,
          },
          app,
        )
      : createServer(app);
    httpServer.keepAliveTimeout = KEEP_ALIVE_TIMEOUT_MS;
    // Last to go: the listening socket (Apollo's drain plugin usually closed it already).
    stack.push(
      () =>
        new Promise<void>((resolve) => {
          if (!httpServer.listening) return resolve();
          httpServer.close(() => resolve());
        }),
    );

    const parts = await setup({
      app,
      httpServer,
      metrics,
      loadGate,
      defer: (dispose) => stack.push(dispose),
    });
    readiness = parts.readiness;
    // Last: what no route answered, and any error no route handled, get coded JSON, never
    // Express's HTML page (which also shows a stack outside production).
    app.use((req, res) => {
      res.status(404).json({
        errors: [
          { message: `Nothing at ${req.method} ${req.path}`, extensions: { code: 'NOT_FOUND' } },
        ],
      });
    });
    app.use(lastErrorHandler(options.log));

    const port = await listen(httpServer, options.host, options.port);
    stack.push(nameTracedPort(port, service));
    const host = options.host === '0.0.0.0' ? 'localhost' : options.host;
    const url = `http://${host}:${port}${options.path ?? '/graphql'}`;
    options.log.info({ url }, `${options.name} ready`);
    return { port, url, value: parts.value, stop: once(() => disposeAll(stack)) };
  } catch (err) {
    // The start-up error is the one to report; a failure while cleaning up is secondary.
    await disposeAll(stack).catch((cleanup: unknown) =>
      options.log.warn({ err: cleanup }, 'cleanup after a failed start failed'),
    );
    throw err;
  }
}

/**
 * The errors no route handled (a body a route's own parser refused, a path Express could not
 * decode): a client's (4xx) answered with its status, anything else logged and answered 500.
 */
function lastErrorHandler(log: Logger): ErrorRequestHandler {
  return (err: unknown, req, res, next) => {
    if (res.headersSent) return next(err);
    const { status, statusCode } = (err ?? {}) as { status?: unknown; statusCode?: unknown };
    const httpStatus = Number(status ?? statusCode);
    if (httpStatus >= 400 && httpStatus < 500) {
      const tooLarge = httpStatus === 413;
      res.status(httpStatus).json({
        errors: [
          {
            message: tooLarge
              ? 'The request body is over the size limit'
              : 'The request could not be read (its path, content type or encoding)',
            extensions: { code: tooLarge ? 'PAYLOAD_TOO_LARGE' : 'BAD_REQUEST' },
          },
        ],
      });
      return;
    }
    log.error({ err, path: req.path }, 'request failed');
    res.status(500).json({
      errors: [{ message: 'Internal server error', extensions: { code: 'INTERNAL_SERVER_ERROR' } }],
    });
  };
}

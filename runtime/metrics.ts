import type {
  ApolloServerPlugin,
  GraphQLRequestContext,
  GraphQLRequestListener,
} from '@apollo/server';
import type { GraphQLError } from 'graphql';
import type { Express, Request, RequestHandler, Response } from 'express';
import { createHash, timingSafeEqual } from 'node:crypto';
import { collectDefaultMetrics, Registry, type Metric } from 'prom-client';
import type { AppConfig } from './config';
import { isPublicCode } from './errors';
import { isServiceCaller, withTimeout } from './health';
import type { Logger } from './logger';
import { tagActiveSpan } from './tracing';

/**
 * Prometheus metrics, one registry per service. In the embedded default the gateway and the
 * four subgraphs share one process, and each `/metrics` must show its own service: so every
 * service's metrics live in the registry of its name ({@link serviceMetrics}), created on
 * first use and kept for the process (a service stopped and started again, as the tests do,
 * carries on counting, as Prometheus counters do for a process). Nothing uses prom-client's
 * global registry, so no start can collide with an earlier one.
 *
 * Hot paths (every HTTP request, GraphQL operation and subgraph fetch) use {@link HotCounter}
 * and {@link HotHistogram}: each label set is bound once to plain numbers, so a request adds
 * to them without hashing labels or allocating (prom-client's own children hash their labels
 * on every call: about a microsecond a request). Values read from elsewhere (a table, Redis, an
 * open-connection count) are {@link SampledGauge}s, read when scraped.
 */

/** Request durations, seconds: 5 ms to 10 s. */
export const DURATION_BUCKETS: readonly number[] = [
  0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10,
];
/** Longest a scrape waits for one sampled source (a database or Redis query). */
const SAMPLE_TIMEOUT_MS = 2000;
/** The label value of whatever a bounded label set has no room for. */
export const OTHER = 'other';

type Labels<L extends string> = Readonly<Record<L, string>>;

/** The shape prom-client's registry reads from a metric (`get`, `reset`). */
interface MetricValue {
  labels: Record<string, string | number>;
  value: number;
  metricName?: string;
}

const labelsOf = <L extends string>(names: readonly L[], values: readonly string[]): Labels<L> =>
  Object.fromEntries(names.map((name, i) => [name, values[i] ?? ''])) as Labels<L>;

const keyOf = (values: readonly string[]) =>
  values.length === 1 ? values[0] : values.join('\u0000');

/** A metric as prom-client's registry reads one: name, help, type, `get` and `reset`. */
abstract class RegistryMetric {
  abstract readonly type: 'counter' | 'histogram' | 'gauge';
  readonly aggregator = 'sum';

  constructor(
    readonly name: string,
    readonly help: string,
  ) {}

  get() {
    return Promise.resolve({
      name: this.name,
      help: this.help,
      type: this.type,
      aggregator: this.aggregator,
      values: this.values(),
    });
  }

  abstract reset(): void;

  protected abstract values(): MetricValue[];
}

/** A metric whose series are bound once each, by label values (see the module comment). */
abstract class BoundMetric<L extends string, S> extends RegistryMetric {
  protected readonly series = new Map<string, S>();

  constructor(
    name: string,
    help: string,
    private readonly labelNames: readonly L[],
  ) {
    super(name, help);
  }

  /** The series of these label values (in the order of the label names). */
  bind(...values: string[]): S {
    const key = keyOf(values);
    let series = this.series.get(key);
    if (!series) {
      series = this.make(labelsOf(this.labelNames, values));
      this.series.set(key, series);
    }
    return series;
  }

  protected abstract make(labels: Labels<L>): S;
}

/** One series of a {@link HotCounter}: bound once, then an increment is one addition. */
export class CounterSeries {
  value = 0;
  constructor(readonly labels: Readonly<Record<string, string>>) {}

  inc(by = 1): void {
    this.value += by;
  }
}

/** A counter for hot paths (see the module comment). */
export class HotCounter<L extends string = string> extends BoundMetric<L, CounterSeries> {
  readonly type = 'counter';

  reset(): void {
    for (const s of this.series.values()) s.value = 0;
  }

  protected make(labels: Labels<L>): CounterSeries {
    return new CounterSeries(labels);
  }

  protected values(): MetricValue[] {
    return [...this.series.values()].map((s) => ({ labels: { ...s.labels }, value: s.value }));
  }
}

/** One series of a {@link HotHistogram}: counts per bucket, summed when scraped. */
export class HistogramSeries {
  /** Observations per bucket, not cumulative (the last one: above every bound). */
  readonly counts: number[];
  sum = 0;

  constructor(
    readonly labels: Readonly<Record<string, string>>,
    private readonly bounds: readonly number[],
  ) {
    this.counts = new Array<number>(bounds.length + 1).fill(0);
  }

  observe(value: number): void {
    this.sum += value;
    const bounds = this.bounds;
    let i = 0;
    while (i < bounds.length && value > bounds[i]) i++;
    this.counts[i] += 1;
  }

  /** Seconds since `startMs` (a `performance.now()` reading). */
  observeSince(startMs: number): void {
    this.observe((performance.now() - startMs) / 1000);
  }
}

/** A histogram for hot paths (see the module comment). */
export class HotHistogram<L extends string = string> extends BoundMetric<L, HistogramSeries> {
  readonly type = 'histogram';

  constructor(
    name: string,
    help: string,
    labelNames: readonly L[],
    private readonly bounds: readonly number[] = DURATION_BUCKETS,
  ) {
    super(name, help, labelNames);
  }

  reset(): void {
    for (const s of this.series.values()) {
      s.counts.fill(0);
      s.sum = 0;
    }
  }

  protected make(labels: Labels<L>): HistogramSeries {
    return new HistogramSeries(labels, this.bounds);
  }

  protected values(): MetricValue[] {
    const values: MetricValue[] = [];
    const bucket = `${this.name}_bucket`;
    for (const s of this.series.values()) {
      let cumulative = 0;
      this.bounds.forEach((le, i) => {
        cumulative += s.counts[i];
        values.push({ labels: { ...s.labels, le }, value: cumulative, metricName: bucket });
      });
      const count = cumulative + s.counts[this.bounds.length];
      values.push(
        { labels: { ...s.labels, le: '+Inf' }, value: count, metricName: bucket },
        { labels: { ...s.labels }, value: s.sum, metricName: `${this.name}_sum` },
        { labels: { ...s.labels }, value: count, metricName: `${this.name}_count` },
      );
    }
    return values;
  }
}

/** One reading of a sampled gauge: a value for a label set (none: the unlabelled series). */
export interface Sample<L extends string = string> {
  readonly labels?: Partial<Labels<L>>;
  readonly value: number;
}

/** Reads a sampled gauge's values now: samples, or one number for the unlabelled series. */
export type SampleSource<L extends string = string> = () =>
  Promise<readonly Sample<L>[] | number> | readonly Sample<L>[] | number;

/**
 * A gauge read when scraped, from the sources running instances add (a query of the
 * service's database, an open-connection count): the values of every source are summed per
 * label set. A source that fails or takes longer than 2 s is left out of that scrape (and
 * counted in `moviehub_metric_sample_failures_total`), never reported stale.
 */
export class SampledGauge<L extends string = string> extends RegistryMetric {
  readonly type = 'gauge';
  private readonly sources = new Set<SampleSource<L>>();
  /** What the last {@link collect} read: rendered by `get`. */
  private latest: MetricValue[] = [];

  constructor(
    name: string,
    help: string,
    private readonly labelNames: readonly L[],
    private readonly failures: HotCounter<'metric'>,
  ) {
    super(name, help);
  }

  /** Adds a source, read at every scrape; returns how to remove it (when its instance stops). */
  add(source: SampleSource<L>): () => void {
    this.sources.add(source);
    return () => void this.sources.delete(source);
  }

  /**
   * Reads every source (before the registry renders anything, so that a failure counted here
   * shows in the same scrape).
   */
  async collect(): Promise<void> {
    const totals = new Map<string, MetricValue>();
    await Promise.all(
      [...this.sources].map(async (read) => {
        let samples: readonly Sample<L>[] | number;
        try {
          samples = await withTimeout(Promise.resolve().then(read), SAMPLE_TIMEOUT_MS);
        } catch {
          this.failures.bind(this.name).inc();
          return;
        }
        for (const sample of typeof samples === 'number' ? [{ value: samples }] : samples) {
          const labels: Partial<Record<string, string>> = sample.labels ?? {};
          const values = this.labelNames.map((name) => String(labels[name] ?? ''));
          const key = keyOf(values);
          const total = totals.get(key);
          if (total) total.value += sample.value;
          else totals.set(key, { labels: labelsOf(this.labelNames, values), value: sample.value });
        }
      }),
    );
    this.latest = [...totals.values()];
  }

  reset(): void {
    this.latest = [];
  }

  protected values(): MetricValue[] {
    return this.latest;
  }
}

/**
 * Bound series for label values from an open set (operation names, routes): the first `max`
 * distinct values get series of their own, every later one shares {@link OTHER}, so no caller
 * can grow the number of series without bound. First come, first kept: the operations and
 * routes a service serves show up within its first requests.
 */
export class BoundedLabels<T> {
  private readonly known = new Map<string, T>();
  private other: T | undefined;

  constructor(
    private readonly max: number,
    private readonly bind: (value: string) => T,
  ) {}

  get(value: string): T {
    const known = this.known.get(value);
    if (known !== undefined) return known;
    if (this.known.size >= this.max) return (this.other ??= this.bind(OTHER));
    const bound = this.bind(value);
    this.known.set(value, bound);
    return bound;
  }
}

/**
 * An outcome label for a refused call: the registered code of its error (a bounded set:
 * `runtime/errors.ts`), or `error` for anything else.
 */
export function errorOutcome(err: unknown): string {
  const code = (err as { extensions?: { code?: unknown } } | null)?.extensions?.code;
  return isPublicCode(code) ? (code as string) : 'error';
}

type AnyMetric = HotCounter | HotHistogram | SampledGauge;

/** Node's own figures (CPU, memory, event loop, GC): collected once per process. */
let processMetrics: Registry | undefined;

/** The metrics of one service (see the module comment); `/metrics` renders {@link render}. */
export class ServiceMetrics {
  readonly registry = new Registry();
  private readonly own = new Map<string, AnyMetric>();
  private readonly sampleFailures: HotCounter<'metric'>;
  private withProcessMetrics = false;

  constructor(readonly service: string) {
    this.registry.setDefaultLabels({ service });
    this.sampleFailures = this.counter(
      'moviehub_metric_sample_failures_total',
      'Scrapes that left a sampled gauge out because its source failed or took over 2 s',
      ['metric'],
    );
  }

  counter<L extends string>(name: string, help: string, labelNames: readonly L[]): HotCounter<L> {
    return this.ensure(name, HotCounter, () => new HotCounter(name, help, labelNames));
  }

  histogram<L extends string>(
    name: string,
    help: string,
    labelNames: readonly L[],
    buckets: readonly number[] = DURATION_BUCKETS,
  ): HotHistogram<L> {
    return this.ensure(name, HotHistogram, () => new HotHistogram(name, help, labelNames, buckets));
  }

  sampled<L extends string>(
    name: string,
    help: string,
    labelNames: readonly L[] = [],
  ): SampledGauge<L> {
    return this.ensure(
      name,
      SampledGauge,
      () => new SampledGauge(name, help, labelNames, this.sampleFailures),
    );
  }

  /** The Prometheus text of this service, Node's process figures included. */
  async render(): Promise<string> {
    if (!this.withProcessMetrics) {
      this.withProcessMetrics = true;
      if (!processMetrics) {
        processMetrics = new Registry();
        collectDefaultMetrics({ register: processMetrics });
      }
      for (const { name } of processMetrics.getMetricsAsArray()) {
        this.registry.registerMetric(processMetrics.getSingleMetric(name)!);
      }
    }
    const sampled = [...this.own.values()].filter((m) => m instanceof SampledGauge);
    await Promise.all(sampled.map((gauge) => gauge.collect()));
    return this.registry.metrics();
  }

  /**
   * The metric of that name, made on first use: the modules of a service declare theirs once
   * per process, and a service started again finds them.
   */
  private ensure<M extends AnyMetric>(
    name: string,
    kind: abstract new (...args: never[]) => AnyMetric,
    make: () => M,
  ): M {
    const known = this.own.get(name);
    if (known) {
      if (!(known instanceof kind)) throw new Error(`Metric ${name} exists as another kind`);
      return known as M;
    }
    const made = make();
    this.own.set(name, made);
    // A prom-client metric as far as the registry reads one: name, help, type, get, reset.
    this.registry.registerMetric(made as unknown as Metric);
    return made;
  }
}

const services = new Map<string, ServiceMetrics>();

/** The metrics of the service of that name in this process (made on first use). */
export function serviceMetrics(service: string): ServiceMetrics {
  let metrics = services.get(service);
  if (!metrics) {
    metrics = new ServiceMetrics(service);
    services.set(service, metrics);
  }
  return metrics;
}

/** Who may read `/metrics` (see `AppConfig.metrics`). */
export interface MetricsAccess {
  /** Anyone (outside production). */
  readonly open: boolean;
  /** `Authorization: Bearer <token>` is let in. */
  readonly token?: string;
  /** A service identity signed with it for `audience` is let in. */
  readonly internalSecret: string;
  readonly audience: string;
}

/** Who may read `/metrics` under a configuration: anyone outside production, and `METRICS_TOKEN`. */
export function metricsAccess(
  config: Pick<AppConfig, 'isProduction' | 'metrics'>,
): Pick<MetricsAccess, 'open' | 'token'> {
  return { open: !config.isProduction, token: config.metrics.token };
}

const digest = (value: string) => createHash('sha256').update(value).digest();

/**
 * `GET /metrics`: the Prometheus text of `metrics`. Outside production anyone may read it; in
 * production only a scraper with the `METRICS_TOKEN` bearer token or another service (a
 * signed identity for this one), since the gateway's port faces the internet and the figures
 * say what runs and how busy it is. Anyone else gets 401.
 */
export function mountMetrics(app: Express, metrics: ServiceMetrics, access: MetricsAccess): void {
  const token = access.token ? digest(access.token) : undefined;
  const bearer = (req: Request) => {
    const header = req.header('authorization');
    if (!token || !header?.startsWith('Bearer ')) return false;
    return timingSafeEqual(digest(header.slice(7)), token);
  };
  app.get('/metrics', async (req, res) => {
    if (
      !access.open &&
      !bearer(req) &&
      !isServiceCaller(req, access.internalSecret, access.audience)
    ) {
      res.status(401).json({ error: 'UNAUTHENTICATED' });
      return;
    }
    let text: string;
    try {
      text = await metrics.render();
    } catch {
      res.status(500).json({ error: 'INTERNAL_SERVER_ERROR' });
      return;
    }
    res.type(metrics.registry.contentType).send(text);
  });
}

/** HTTP methods with series of their own; any other is `other`. */
const METHODS = ['GET', 'POST', 'PUT', 'PATCH', 'DELETE', 'HEAD', 'OPTIONS', OTHER] as const;
/** Status classes by the status' first digit; index 0: the client left before the answer. */
const STATUSES = ['aborted', '1xx', '2xx', '3xx', '4xx', '5xx'] as const;
/** Distinct routes (first path segments) with series of their own. */
const MAX_ROUTES = 32;
/** Distinct operation names with series of their own, per operation type. */
const MAX_OPERATIONS = 200;

/** A route's series: its duration, and its counts per method and status class (bound lazily). */
interface RouteSeries {
  readonly route: string;
  readonly duration: HistogramSeries;
  readonly counts: (CounterSeries | undefined)[];
}

const methodIndex = (method: string): number => {
  const i = (METHODS as readonly string[]).indexOf(method);
  return i < 0 ? METHODS.length - 1 : i;
};

/** The first segment of a request path: `/graphql?x` → `/graphql`. */
function firstSegment(url: string): string {
  let end = 1;
  while (end < url.length && url[end] !== '/' && url[end] !== '?') end++;
  return url.slice(0, end);
}

/** Whether `url` is in route `route` (its first segment is `route`): no string made. */
const inRoute = (url: string, route: string) =>
  url.startsWith(route) &&
  (url.length === route.length || url[route.length] === '/' || url[route.length] === '?');

const ROUTE_NAME = /^\/[\w.-]{0,40}$/;

/** When a request came (`performance.now()`), kept on its response for the 'close' listener. */
const STARTED_AT = Symbol('startedAt');
type TimedResponse = Response & { [STARTED_AT]?: number };

/**
 * Counts and times every HTTP request of a service: `moviehub_http_requests_total` by route,
 * method and status class, and `moviehub_http_request_duration_seconds` by route. The route
 * is the first path segment (`/graphql`, `/internal`, `/health`), or `unmatched` for a 404:
 * the routes of the app are few, while a 404 can be any path a client makes up.
 */
export function httpMetrics(metrics: ServiceMetrics): RequestHandler {
  const requests = metrics.counter(
    'moviehub_http_requests_total',
    'HTTP requests answered, by route (first path segment; unmatched: a 404), method and status class (aborted: the client left first)',
    ['route', 'method', 'status'],
  );
  const durations = metrics.histogram(
    'moviehub_http_request_duration_seconds',
    'Time from an HTTP request to the end of its answer, by route',
    ['route'],
  );
  const bind = (route: string): RouteSeries => ({
    route,
    duration: durations.bind(route),
    counts: [],
  });
  const byName = new BoundedLabels(MAX_ROUTES, (route) =>
    bind(ROUTE_NAME.test(route) ? route : OTHER),
  );
  const unmatched = bind('unmatched');
  const known: RouteSeries[] = [];
  const routeOf = (url: string): RouteSeries => {
    for (const series of known) if (inRoute(url, series.route)) return series;
    const series = byName.get(firstSegment(url));
    if (series.route !== OTHER) known.push(series);
    return series;
  };
  function finished(this: TimedResponse) {
    const start = this[STARTED_AT];
    if (start === undefined) return;
    const req = this.req;
    const series = this.statusCode === 404 ? unmatched : routeOf(req.originalUrl || req.url);
    const status = this.writableFinished ? Math.min(5, Math.floor(this.statusCode / 100)) : 0;
    const method = methodIndex(req.method);
    const count = (series.counts[method * STATUSES.length + status] ??= requests.bind(
      series.route,
      METHODS[method],
      STATUSES[status],
    ));
    count.inc();
    series.duration.observeSince(start);
  }

  return (_req, res: TimedResponse, next) => {
    res[STARTED_AT] = performance.now();
    // One shared listener (no closure per request); 'close' comes once, answered or not.
    res.on('close', finished);
    next();
  };
}

/** The operation types with series of their own; `invalid`: no operation could be resolved. */
type OperationKind = 'query' | 'mutation' | 'subscription' | 'invalid';

interface OperationSeries {
  readonly ok: CounterSeries;
  readonly failed: CounterSeries;
  readonly duration: HistogramSeries;
}

/**
 * An Apollo Server plugin counting and timing each GraphQL operation:
 * `moviehub_graphql_operations_total` by operation name, type and result (`error` when the
 * answer carries any error) and `moviehub_graphql_operation_duration_seconds` by name and
 * type. Names are bounded ({@link BoundedLabels}, 200 per type, then `other`); an anonymous
 * operation is `anonymous`, one that could not be parsed, validated or resolved `invalid`.
 * The active trace span (the HTTP request's, when tracing is on) is tagged with the
 * operation's name and type. Errors answered as `INTERNAL_SERVER_ERROR` are logged
 * ({@link internalErrorLogPlugin}).
 */
export function operationMetricsPlugin(metrics: ServiceMetrics): ApolloServerPlugin<object> {
  const operations = metrics.counter(
    'moviehub_graphql_operations_total',
    'GraphQL operations answered, by operation name, type and result (error: the answer has errors)',
    ['operation', 'type', 'result'],
  );
  const durations = metrics.histogram(
    'moviehub_graphql_operation_duration_seconds',
    'Time from receiving a GraphQL operation to its answer, by operation name and type',
    ['operation', 'type'],
  );
  const byKind = new Map<OperationKind, BoundedLabels<OperationSeries>>();
  for (const kind of ['query', 'mutation', 'subscription', 'invalid'] as const) {
    byKind.set(
      kind,
      new BoundedLabels(MAX_OPERATIONS, (name) => ({
        ok: operations.bind(name, kind, 'ok'),
        failed: operations.bind(name, kind, 'error'),
        duration: durations.bind(name, kind),
      })),
    );
  }
  return {
    unexpectedErrorProcessingRequest: logUnexpectedError,
    requestDidStart() {
      const start = performance.now();
      return Promise.resolve<GraphQLRequestListener<object>>({
        didEncounterErrors: logInternalErrors,
        didResolveOperation({ operationName, operation }) {
          if (operation) tagActiveSpan(operationName ?? 'anonymous', operation.operation);
          return Promise.resolve();
        },
        willSendResponse({ operation, operationName, response }) {
          const kind: OperationKind = operation ? operation.operation : 'invalid';
          const name = operation ? (operationName ?? 'anonymous') : 'invalid';
          const series = byKind.get(kind)!.get(name);
          const body = response.body;
          const failed =
            body.kind === 'single' ? body.singleResult.errors : body.initialResult.errors;
          (failed?.length ? series.failed : series.ok).inc();
          series.duration.observeSince(start);
          return Promise.resolve();
        },
      });
    },
  };
}

/** At most this many of a request's internal errors are told in its log line. */
const MAX_LOGGED_ERRORS = 10;

/** Whether an error is answered as `INTERNAL_SERVER_ERROR`: no registered code, or that one. */
function isInternal(error: GraphQLError): boolean {
  const code = error.extensions?.code;
  return code === 'INTERNAL_SERVER_ERROR' || !isPublicCode(code);
}

/** Apollo Server's logger, which is the service's pino logger (its `logger` option). */
const loggerOf = (requestContext: GraphQLRequestContext<object>) =>
  requestContext.logger as unknown as Pick<Logger, 'error'>;

const requestIdOf = (requestContext: GraphQLRequestContext<object>): unknown =>
  (requestContext.contextValue as { requestId?: unknown } | undefined)?.requestId;

/**
 * Logs a request's errors answered as `INTERNAL_SERVER_ERROR` (masked in production): the
 * client learns nothing of them, so the log is the only place they are found. One line per
 * request, as Apollo Server reports its errors once (`didEncounterErrors`: a failure before
 * or during execution, or the errors of the result): the request id, the operation, the
 * first error with its stack (its cause's, when it wraps one) and what the others say.
 */
function logInternalErrors(
  requestContext: GraphQLRequestContext<object> & { readonly errors: readonly GraphQLError[] },
): Promise<void> {
  const internal = requestContext.errors.filter(isInternal);
  if (internal.length === 0) return Promise.resolve();
  const [first] = internal;
  loggerOf(requestContext).error(
    {
      requestId: requestIdOf(requestContext),
      operationName: requestContext.operationName ?? requestContext.request.operationName ?? null,
      err: first.originalError ?? first,
      errors: internal.slice(0, MAX_LOGGED_ERRORS).map((error) => ({
        message: error.message,
        ...(error.path ? { path: error.path } : {}),
        ...(error.extensions?.serviceName ? { serviceName: error.extensions.serviceName } : {}),
      })),
      count: internal.length,
    },
    'answered INTERNAL_SERVER_ERROR',
  );
  return Promise.resolve();
}

/** A request Apollo Server failed to process at all (answered 500): logged as such. */
function logUnexpectedError({
  requestContext,
  error,
}: {
  requestContext: GraphQLRequestContext<object>;
  error: Error;
}): Promise<void> {
  loggerOf(requestContext).error(
    { requestId: requestIdOf(requestContext), err: error },
    'answered INTERNAL_SERVER_ERROR: the request could not be processed',
  );
  return Promise.resolve();
}

/**
 * An Apollo Server plugin that logs, once per request, the errors it answers as
 * `INTERNAL_SERVER_ERROR`, with the request id (the context's `requestId`). Part of
 * {@link operationMetricsPlugin}; on its own for a server without it.
 */
export function internalErrorLogPlugin(): ApolloServerPlugin<object> {
  return {
    unexpectedErrorProcessingRequest: logUnexpectedError,
    requestDidStart: () =>
      Promise.resolve<GraphQLRequestListener<object>>({ didEncounterErrors: logInternalErrors }),
  };
}

/** A subgraph fetch's series, bound to one subgraph (see {@link subgraphFetchMetrics}). */
export interface SubgraphFetchMetrics {
  readonly ok: CounterSeries;
  /** Answered, with GraphQL errors. */
  readonly errors: CounterSeries;
  /** No answer: unreachable, timed out, 5xx, refused. */
  readonly failed: CounterSeries;
  readonly duration: HistogramSeries;
}

/**
 * The gateway's fetches to one subgraph: `moviehub_gateway_subgraph_requests_total` by
 * subgraph and outcome (`ok`, `errors`: answered with GraphQL errors, `failed`: no answer),
 * `moviehub_gateway_subgraph_request_duration_seconds` by subgraph. Answers taken from the
 * catalog cache are not fetches and are not counted.
 */
export function subgraphFetchMetrics(
  metrics: ServiceMetrics,
  subgraph: string,
): SubgraphFetchMetrics {
  const requests = metrics.counter(
    'moviehub_gateway_subgraph_requests_total',
    'Requests from the gateway to a subgraph, by subgraph and outcome (errors: answered with GraphQL errors; failed: no answer)',
    ['subgraph', 'outcome'],
  );
  const durations = metrics.histogram(
    'moviehub_gateway_subgraph_request_duration_seconds',
    'Time for a subgraph to answer the gateway, by subgraph',
    ['subgraph'],
  );
  return {
    ok: requests.bind(subgraph, 'ok'),
    errors: requests.bind(subgraph, 'errors'),
    failed: requests.bind(subgraph, 'failed'),
    duration: durations.bind(subgraph),
  };
}

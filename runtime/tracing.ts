import { SpanKind, trace } from '@opentelemetry/api';
import type { Sampler, SpanProcessor } from '@opentelemetry/sdk-trace';
import type { IncomingMessage } from 'node:http';
import { loadConfig, type ServiceName } from './config';

/**
 * OpenTelemetry traces: from the gateway's HTTP request, through its fetches to the
 * subgraphs (W3C `traceparent` on each), into each subgraph's GraphQL execution, PostgreSQL
 * queries and Redis commands. Off unless `OTEL_EXPORTER_OTLP_ENDPOINT` is set, and then not
 * even loaded: the SDK and its instrumentations take 1.4 s and 30 MB to load, and with no
 * tracer provider the few calls below (`tagActiveSpan`) cost one lookup.
 *
 * The instrumentations patch `http`, `pg`, `ioredis` and `graphql` as they are required, so
 * tracing must start before anything requires them: each entry point starts it first
 * ({@link traceProcess}) and requires the service afterwards.
 */

export interface TracingOptions {
  /** The traces' `service.name`. */
  readonly serviceName: string;
  /** The OTLP/HTTP collector's base URL; traces go to `<endpoint>/v1/traces`. */
  readonly endpoint?: string;
  /** The share of incoming requests traced (default all). */
  readonly sampleRatio?: number;
  /** Instead of the OTLP exporter (tests: an in-memory exporter). */
  readonly spanProcessors?: SpanProcessor[];
}

interface Tracing {
  readonly processors: SpanProcessor[];
}

/** The process's tracing, once started: one SDK per process. */
let active: Tracing | undefined;

/**
 * Which service listens on which local port: in the embedded default all five share one
 * process (one `service.name`), and each incoming request's span says which one served it
 * (`moviehub.service`).
 */
const servicesByPort = new Map<number, string>();

/** Probes and scrapes, never traced: they would bury the requests that matter. */
const UNTRACED_PATHS = new Set(['/health', '/ready', '/metrics']);

const pathOf = (url: string | undefined) => {
  const query = url?.indexOf('?') ?? -1;
  return query < 0 ? url : url!.slice(0, query);
};

/**
 * Starts tracing for this process: the Node SDK with the HTTP, PostgreSQL, Redis and GraphQL
 * instrumentations, spans batched to the OTLP endpoint (or to `spanProcessors`). Metrics
 * stay Prometheus' (`runtime/metrics.ts`) and logs stay pino's: the SDK sets up neither.
 * A second call changes nothing.
 */
export function startTracing(options: TracingOptions): void {
  if (active) return;
  /* eslint-disable @typescript-eslint/no-require-imports -- loaded only when tracing is on */
  const { NodeSDK } =
    require('@opentelemetry/sdk-node') as typeof import('@opentelemetry/sdk-node');
  const { BatchSpanProcessor, ParentBasedSampler, SamplingDecision, TraceIdRatioBasedSampler } =
    require('@opentelemetry/sdk-trace') as typeof import('@opentelemetry/sdk-trace');
  const { OTLPTraceExporter } =
    require('@opentelemetry/exporter-trace-otlp-http') as typeof import('@opentelemetry/exporter-trace-otlp-http');
  const { HttpInstrumentation } =
    require('@opentelemetry/instrumentation-http') as typeof import('@opentelemetry/instrumentation-http');
  const { PgInstrumentation } =
    require('@opentelemetry/instrumentation-pg') as typeof import('@opentelemetry/instrumentation-pg');
  const { IORedisInstrumentation } =
    require('@opentelemetry/instrumentation-ioredis') as typeof import('@opentelemetry/instrumentation-ioredis');
  const { GraphQLInstrumentation } =
    require('@opentelemetry/instrumentation-graphql') as typeof import('@opentelemetry/instrumentation-graphql');
  /* eslint-enable @typescript-eslint/no-require-imports */

  const processors = options.spanProcessors ?? [
    new BatchSpanProcessor({
      exporter: new OTLPTraceExporter({
        url: `${options.endpoint!.replace(/\/+$/, '')}/v1/traces`,
      }),
    }),
  ];
  // A trace starts where a request enters (an HTTP server span), for `sampleRatio` of them;
  // a span with a parent follows the parent's decision, the gateway's across services. Work
  // outside any request (schema builds at start, pollers) makes no traces of its own.
  const ratio = new TraceIdRatioBasedSampler(options.sampleRatio ?? 1);
  const requests: Sampler = {
    shouldSample: (context, traceId, _name, kind) =>
      kind === SpanKind.SERVER
        ? ratio.shouldSample(context, traceId)
        : { decision: SamplingDecision.NOT_RECORD },
    toString: () => `Requests{${ratio.toString()}}`,
  };
  const sdk = new NodeSDK({
    serviceName: options.serviceName,
    sampler: new ParentBasedSampler({ root: requests }),
    spanProcessors: processors,
    metricReaders: [],
    logRecordProcessors: [],
    instrumentations: [
      new HttpInstrumentation({
        ignoreIncomingRequestHook: (req) => UNTRACED_PATHS.has(pathOf(req.url) ?? ''),
        startIncomingSpanHook: (req: IncomingMessage) => {
          const service = servicesByPort.get(req.socket.localPort ?? 0);
          return service ? { 'moviehub.service': service } : {};
        },
      }),
      // Spans only within a request: the outbox relays and jobs poll every second or so.
      new PgInstrumentation({ requireParentSpan: true }),
      new IORedisInstrumentation({ requireParentSpan: true }),
      // Resolver spans for the first two levels, list items merged: the shape of an
      // operation without a span per field of every item.
      new GraphQLInstrumentation({ depth: 2, mergeItems: true, ignoreTrivialResolveSpans: true }),
    ],
  });
  sdk.start();
  active = { processors };
}

/**
 * Starts tracing for `service` when its configuration names an OTLP endpoint. A configuration
 * that does not validate starts nothing: the service's own start reports it.
 */
export function traceProcess(service: ServiceName): void {
  let config;
  try {
    config = loadConfig(service);
  } catch {
    return;
  }
  const { endpoint, serviceName, sampleRatio } = config.tracing;
  if (endpoint) startTracing({ serviceName, endpoint, sampleRatio });
}

/** Names the service listening on `port`, for its requests' spans; returns how to forget it. */
export function nameTracedPort(port: number, service: string): () => void {
  if (!active) return () => {};
  servicesByPort.set(port, service);
  return () => {
    if (servicesByPort.get(port) === service) servicesByPort.delete(port);
  };
}

/** Sends the spans still batched (a service stopping); nothing when tracing is off. */
export async function flushTraces(): Promise<void> {
  if (active) await Promise.all(active.processors.map((p) => p.forceFlush()));
}

/**
 * Names the active span (the HTTP request's) after its GraphQL operation, `query MovieDetail`,
 * so that a list of traces reads as a list of operations. Nothing when tracing is off.
 */
export function tagActiveSpan(operationName: string, operationType: string): void {
  trace.getActiveSpan()?.updateName(`${operationType} ${operationName}`).setAttributes({
    'graphql.operation.name': operationName,
    'graphql.operation.type': operationType,
  });
}

// The supergraph with tracing into memory, in a process of its own: run by
// observability.test.ts (`node -e <TypeScript hook> this-file`), since tracing must patch
// http, pg, ioredis and graphql before they load, which Jest's module registry never lets it
// do. Speaks to its parent over IPC: `ready` (where the gateway is, a token), then answers
// `spans` with the spans finished so far, and `stop` by stopping everything and exiting.
import 'reflect-metadata';
import type { SpanKind } from '@opentelemetry/api';
import {
  InMemorySpanExporter,
  SimpleSpanProcessor,
  type ReadableSpan,
} from '@opentelemetry/sdk-trace';
import { startTracing } from '../../runtime/tracing';

const exporter = new InMemorySpanExporter();
startTracing({
  serviceName: 'moviehub-test',
  spanProcessors: [new SimpleSpanProcessor({ exporter })],
});

// Required, not imported: after tracing started (imports would load the stack first).
/* eslint-disable @typescript-eslint/no-require-imports */
const { startTestStack } =
  require('../support/test-stack') as typeof import('../support/test-stack');
/* eslint-enable @typescript-eslint/no-require-imports */

/** What the parent reads of a span (plain JSON over IPC). */
export interface SpanRecord {
  traceId: string;
  spanId: string;
  parentSpanId?: string;
  name: string;
  kind: SpanKind;
  scope: string;
  attributes: Record<string, unknown>;
}

const record = (span: ReadableSpan): SpanRecord => ({
  traceId: span.spanContext().traceId,
  spanId: span.spanContext().spanId,
  parentSpanId: span.parentSpanContext?.spanId,
  name: span.name,
  kind: span.kind,
  scope: span.instrumentationScope.name,
  attributes: { ...span.attributes },
});

const send = (message: unknown) => process.send!(message);

void (async () => {
  const t = await startTestStack({ seed: false });
  process.on('message', (message: { type?: string }) => {
    if (message.type === 'spans')
      send({ type: 'spans', spans: exporter.getFinishedSpans().map(record) });
    if (message.type === 'stop') {
      void t.stop().finally(() => process.exit(0));
    }
  });
  send({ type: 'ready', gatewayUrl: t.gatewayUrl, token: t.token('user_traced') });
})().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});

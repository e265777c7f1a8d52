// Imported first by start-local.ts: tracing patches http, pg, ioredis and graphql as they are
// required, so it starts before the modules of the stack load them (off unless
// OTEL_EXPORTER_OTLP_ENDPOINT is set).
import { traceProcess } from '../runtime/tracing';

traceProcess('local');

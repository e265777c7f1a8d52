/**
 * autocannon against one gateway with a pool of requests: one request sent over and over
 * (fixed variables), or a request drawn at random from the pool for every send (varied
 * variables). An answer that is not a 200 without GraphQL errors counts as an error, not as
 * a request served.
 */
import type { Measurement } from '../common/load';

/** One request of a pool: its JSON body and its headers (a token, for signed-in queries). */
export interface RequestVariant {
  readonly body: string;
  readonly headers: Readonly<Record<string, string>>;
}

// autocannon ships no types: the little of its programmatic API used here.
interface RawRequest {
  body?: string;
  headers?: Record<string, string>;
}
interface RequestHooks {
  setupRequest?: (request: RawRequest) => RawRequest;
  onResponse: (status: number, body: string) => void;
}
interface AutocannonOptions {
  url: string;
  method: 'POST';
  headers: Record<string, string>;
  body: string;
  connections: number;
  duration: number;
  requests: RequestHooks[];
}
interface AutocannonResult {
  duration: number;
  latency: { p50: number; p99: number; average: number; max: number };
  errors: number;
  timeouts: number;
}
type Autocannon = (options: AutocannonOptions) => Promise<AutocannonResult>;
// eslint-disable-next-line @typescript-eslint/no-require-imports
const autocannon = require('autocannon') as Autocannon;

/**
 * `connections` open connections (pipelining 1) sending from `pool` for `durationSeconds`.
 * Latency is autocannon's, of 2xx answers, at millisecond resolution; throughput counts the
 * answers that were 200 and carried no GraphQL errors. The first bad answer is kept, to say
 * why.
 */
export async function cannon(
  url: string,
  pool: readonly RequestVariant[],
  connections: number,
  durationSeconds: number,
): Promise<Measurement> {
  if (pool.length === 0) throw new Error('an empty request pool');
  const [first] = pool;
  let good = 0;
  let bad = 0;
  let firstBad: string | undefined;
  const onResponse = (status: number, body: string) => {
    // The gateways answer GraphQL errors with 200 (or 4xx) and an "errors" member.
    if (status === 200 && !body.includes('"errors":')) {
      good += 1;
      return;
    }
    bad += 1;
    firstBad ??= `${status} ${body.slice(0, 300)}`;
  };
  const result = await autocannon({
    url,
    method: 'POST',
    headers: { ...first.headers },
    body: first.body,
    connections,
    duration: durationSeconds,
    requests: [
      pool.length > 1
        ? {
            // A function per send only when there is a choice: it rebuilds the request.
            setupRequest: (request: RawRequest) => {
              const variant = pool[Math.floor(Math.random() * pool.length)];
              request.body = variant.body;
              request.headers = { ...variant.headers };
              return request;
            },
            onResponse,
          }
        : { onResponse },
    ],
  });
  const failed = bad + result.errors;
  return {
    requestsPerSecond: good / result.duration,
    p50Ms: result.latency.p50,
    p99Ms: result.latency.p99,
    meanMs: result.latency.average,
    maxMs: result.latency.max,
    completed: good,
    errors: failed,
    firstError: failed
      ? `${bad} bad answers${firstBad ? ` (first: ${firstBad})` : ''}, ${result.errors} connection errors (${result.timeouts} timeouts)`
      : undefined,
    elapsedSeconds: result.duration,
  };
}

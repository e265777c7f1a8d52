/** Load generation for the benchmarks: a closed-loop client and an autocannon wrapper. */

export interface Measurement {
  /** Completed (successful) iterations per second of wall time. */
  requestsPerSecond: number;
  p50Ms: number;
  p99Ms: number;
  meanMs: number;
  maxMs: number;
  completed: number;
  errors: number;
  /** The first error seen, to say why when there were any. */
  firstError?: string;
  elapsedSeconds: number;
}

/** Nearest-rank percentile of ascending samples. */
export function percentile(sorted: ArrayLike<number>, p: number): number {
  if (sorted.length === 0) return NaN;
  const rank = Math.ceil((p / 100) * sorted.length);
  return sorted[Math.min(sorted.length, Math.max(1, rank)) - 1];
}

/**
 * Closed loop: `connections` workers, each running `iteration` back to back until
 * `durationMs` has passed (an iteration in flight at the deadline is finished and counted;
 * throughput divides by the wall time until the last one ends). Latency is measured per
 * iteration with `process.hrtime.bigint()`; failed iterations are counted, not timed.
 */
export async function closedLoop(
  iteration: () => Promise<void>,
  connections: number,
  durationMs: number,
): Promise<Measurement> {
  const samplesNs: number[] = [];
  let errors = 0;
  let firstError: string | undefined;
  const start = process.hrtime.bigint();
  const deadline = start + BigInt(Math.round(durationMs * 1e6));

  const worker = async (): Promise<void> => {
    while (process.hrtime.bigint() < deadline) {
      const t0 = process.hrtime.bigint();
      try {
        await iteration();
        samplesNs.push(Number(process.hrtime.bigint() - t0));
      } catch (err) {
        errors += 1;
        firstError ??= (err as Error).message;
      }
    }
  };
  await Promise.all(Array.from({ length: connections }, worker));
  const elapsedSeconds = Number(process.hrtime.bigint() - start) / 1e9;
  return summarize(samplesNs, errors, firstError, elapsedSeconds);
}

/** The figures of a run: latency samples (ns) of the iterations that succeeded, and failures. */
export function summarize(
  samplesNs: readonly number[],
  errors: number,
  firstError: string | undefined,
  elapsedSeconds: number,
): Measurement {
  const sorted = Float64Array.from(samplesNs).sort();
  const ms = (ns: number) => ns / 1e6;
  const total = samplesNs.reduce((sum, ns) => sum + ns, 0);
  return {
    requestsPerSecond: sorted.length / elapsedSeconds,
    p50Ms: ms(percentile(sorted, 50)),
    p99Ms: ms(percentile(sorted, 99)),
    meanMs: sorted.length ? ms(total / sorted.length) : NaN,
    maxMs: sorted.length ? ms(sorted[sorted.length - 1]) : NaN,
    completed: sorted.length,
    errors,
    firstError,
    elapsedSeconds,
  };
}

/** One GraphQL POST; throws unless it answers 200 with data and no errors. */
export async function postGraphQL<T>(
  url: string,
  headers: Record<string, string>,
  body: string,
): Promise<T> {
  const res = await fetch(url, { method: 'POST', headers, body });
  const json = (await res.json()) as { data?: T | null; errors?: Array<{ message: string }> };
  if (res.status !== 200 || json.errors?.length || json.data == null) {
    const message = json.errors?.map((e) => e.message).join('; ') ?? 'no data';
    throw new Error(`${url} answered ${res.status}: ${message}`);
  }
  return json.data;
}

// autocannon ships no types: the little of its programmatic API used here.
interface AutocannonOptions {
  url: string;
  method: 'POST';
  headers: Record<string, string>;
  body: string;
  connections: number;
  duration: number;
}
interface AutocannonResult {
  duration: number;
  requests: { total: number; average: number };
  latency: { p50: number; p99: number; average: number; max: number };
  errors: number;
  timeouts: number;
  non2xx: number;
}
type Autocannon = (options: AutocannonOptions) => Promise<AutocannonResult>;
// eslint-disable-next-line @typescript-eslint/no-require-imports
const autocannon = require('autocannon') as Autocannon;

/**
 * autocannon against one URL (open connections, pipelining 1). It checks HTTP status only,
 * not GraphQL errors, and reports latency at millisecond resolution.
 */
export async function autocannonRun(
  url: string,
  body: string,
  connections: number,
  durationSeconds: number,
): Promise<Measurement> {
  const result = await autocannon({
    url,
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body,
    connections,
    duration: durationSeconds,
  });
  const errors = result.errors + result.timeouts + result.non2xx;
  return {
    requestsPerSecond: result.requests.total / result.duration,
    p50Ms: result.latency.p50,
    p99Ms: result.latency.p99,
    meanMs: result.latency.average,
    maxMs: result.latency.max,
    completed: result.requests.total,
    errors,
    firstError: errors
      ? `${result.non2xx} non-2xx, ${result.errors} errors, ${result.timeouts} timeouts`
      : undefined,
    elapsedSeconds: result.duration,
  };
}

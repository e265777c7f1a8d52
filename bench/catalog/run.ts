/**
 * Catalog benchmark: the contract's browse queries through the gateway, one after the other,
 * at the same concurrency:
 *
 *   NowShowing          { first: 20 }
 *   NowShowing (city)   { first: 20, city: "Hồ Chí Minh" }  (the movies subgraph's city projection)
 *   MovieDetail         { id } of a movie now showing       (movie → showtimes → hall → cinema)
 *
 * Prints requests/s and p50/p99 latency and writes them to bench/results/catalog-<timestamp>.json.
 *
 *   npm run bench:catalog -- [--duration 10] [--warmup 2] [--prewarm 6] [--connections 50]
 *
 * The stack (gateway + subgraphs, fresh seeded databases on the local PostgreSQL and Redis)
 * runs in a child process (the gateway benchmark's `stack-process`); the load generator runs
 * here. Figures are printed, never asserted.
 */
import { fork, type ChildProcess } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { availableParallelism, cpus, loadavg } from 'node:os';
import { join } from 'node:path';
import { projectRoot } from '../../runtime/paths';
import { contractOperation } from '../../tests/support/contract';
import { closedLoop, postGraphQL, type Measurement } from '../gateway/load';
import type { CpuMessage, ReadyMessage, StackMessage } from '../gateway/protocol';

const CITY = 'Hồ Chí Minh';
const PAGE = 20;
/** How long the city projection may take to fill after seeding. */
const PROJECTION_TIMEOUT_MS = 60_000;
/** ... and how long its count must stay put before it counts as filled. */
const PROJECTION_STABLE_MS = 2_000;

interface Options {
  durationSeconds: number;
  warmupSeconds: number;
  prewarmSeconds: number;
  connections: number;
}

const USAGE = `usage: node dist/bench/catalog/run.js [--duration S] [--warmup S] [--prewarm S] [--connections N]
  --duration S      seconds measured per query (default 10)
  --warmup S        seconds of unmeasured load on each query before its measurement (default 2)
  --prewarm S       seconds of unmeasured load on all three queries at once, before the first
                    measurement, to warm the fresh stack (JIT, caches, pools; default 6)
  --connections N   concurrent clients (default 50)`;

function parseOptions(argv: string[]): Options {
  const options: Options = {
    durationSeconds: 10,
    warmupSeconds: 2,
    prewarmSeconds: 6,
    connections: 50,
  };
  for (let i = 0; i < argv.length; i++) {
    const [flag, inline] = argv[i].split('=', 2);
    const value = () => {
      const raw = inline ?? argv[++i];
      const n = Number(raw);
      if (raw === undefined || !Number.isFinite(n) || n < 0) {
        throw new Error(`${flag} needs a non-negative number\n${USAGE}`);
      }
      return n;
    };
    switch (flag) {
      case '--duration':
        options.durationSeconds = value();
        break;
      case '--warmup':
        options.warmupSeconds = value();
        break;
      case '--prewarm':
        options.prewarmSeconds = value();
        break;
      case '--connections':
        options.connections = Math.max(1, Math.round(value()));
        break;
      case '--help':
      case '-h':
        console.log(USAGE);
        process.exit(0);
      default:
        throw new Error(`unknown option ${argv[i]}\n${USAGE}`);
    }
  }
  if (options.durationSeconds <= 0) throw new Error('--duration must be more than 0');
  return options;
}

// ---------------------------------------------------------------------------------------
// The stack process (the gateway benchmark's child process, started the same way)

interface StackHandle {
  ready: ReadyMessage;
  cpuMicros(): Promise<number>;
  stop(): Promise<void>;
}

/** Set on SIGINT/SIGTERM: nothing is printed or written after it. */
let interrupted = false;

function startStackProcess(): Promise<StackHandle> {
  const child: ChildProcess = fork(join(__dirname, '..', 'gateway', 'stack-process.js'), [], {
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  });
  // Interrupted (at any point): the stack process stops (dropping its databases), then we go.
  const onSignal = () => {
    interrupted = true;
    process.stderr.write('\nbench: interrupted; stopping the stack (dropping its databases)...\n');
    void stop().finally(() => process.exit(130));
  };
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);
  const exited = new Promise<number | null>((resolve) =>
    child.once('exit', (code) => resolve(code)),
  );
  let cpuWaiter: ((m: CpuMessage) => void) | undefined;

  const stop = async (): Promise<void> => {
    if (child.exitCode !== null || child.signalCode !== null) return;
    if (child.connected) child.send({ type: 'stop' });
    else child.kill('SIGTERM');
    const timeout = new Promise<'timeout'>((r) => setTimeout(() => r('timeout'), 120_000).unref());
    if ((await Promise.race([exited, timeout])) === 'timeout') {
      process.stderr.write('bench: the stack process did not stop within 120 s; killing it\n');
      child.kill('SIGKILL');
      await exited;
    }
  };

  return new Promise((resolve, reject) => {
    const onExit = (code: number | null) =>
      reject(new Error(`the stack process exited (code ${code}) before it was ready`));
    child.once('exit', onExit);
    child.on('message', (message: StackMessage) => {
      if (message.type === 'ready') {
        child.off('exit', onExit);
        resolve({
          ready: message,
          stop,
          cpuMicros: () =>
            new Promise((done) => {
              cpuWaiter = (m) => done(m.userMicros + m.systemMicros);
              child.send({ type: 'cpu' });
            }),
        });
      } else if (message.type === 'cpu') {
        cpuWaiter?.(message);
        cpuWaiter = undefined;
      } else if (message.type === 'error') {
        child.off('exit', onExit);
        // It stops itself (dropping its databases) and exits.
        reject(new Error(`the stack did not start:\n${message.message}`));
      }
    });
  });
}

// ---------------------------------------------------------------------------------------
// Measuring

interface QueryResult extends Measurement {
  /** CPU time of the stack process over the measured window, in % of one core. */
  stackCpuPercent: number;
  /** The whole machine (PostgreSQL, Redis, other work) busy, in % of all cores. */
  hostCpuPercent: number;
  /** os.loadavg() right after the measured window. */
  loadAverage: number[];
}

/** Busy and total CPU time of all cores since boot, from os.cpus(). */
function hostTimes(): { busy: number; total: number } {
  let busy = 0;
  let total = 0;
  for (const { times } of cpus()) {
    const sum = times.user + times.nice + times.sys + times.irq + times.idle;
    total += sum;
    busy += sum - times.idle;
  }
  return { busy, total };
}

async function measure(
  label: string,
  stack: StackHandle,
  iteration: () => Promise<void>,
  options: Options,
): Promise<QueryResult> {
  const n = options.connections;
  process.stderr.write(`bench: ${label}: ${options.warmupSeconds} s warm-up, `);
  if (options.warmupSeconds > 0) await closedLoop(iteration, n, options.warmupSeconds * 1000);
  process.stderr.write(`${options.durationSeconds} s measured... `);
  const stackBefore = await stack.cpuMicros();
  const hostBefore = hostTimes();
  const wallBefore = process.hrtime.bigint();
  const result = await closedLoop(iteration, n, options.durationSeconds * 1000);
  const wallMicros = Number(process.hrtime.bigint() - wallBefore) / 1e3;
  const hostAfter = hostTimes();
  const stackMicros = (await stack.cpuMicros()) - stackBefore;
  process.stderr.write(`${result.requestsPerSecond.toFixed(0)} req/s\n`);
  if (result.errors > 0) {
    process.stderr.write(`bench: ${label}: ${result.errors} errors, first: ${result.firstError}\n`);
  }
  return {
    ...result,
    stackCpuPercent: (100 * stackMicros) / wallMicros,
    hostCpuPercent:
      (100 * (hostAfter.busy - hostBefore.busy)) / (hostAfter.total - hostBefore.total || 1),
    loadAverage: loadavg(),
  };
}

const round = (n: number, digits = 2) => (Number.isFinite(n) ? Number(n.toFixed(digits)) : null);
const loads = (l: number[]) => l.map((x) => x.toFixed(2)).join(' / ');

function table(
  options: Options,
  rows: Array<[string, QueryResult]>,
  load: { before: number[]; after: number[] },
): string {
  const head = `Catalog through the gateway, ${options.connections} connections, ${options.durationSeconds} s each (${availableParallelism()} cores)`;
  const line = (cells: string[]) =>
    cells[0].padEnd(26) +
    cells
      .slice(1)
      .map((c, i) => c.padStart(i < 3 ? 9 : 8))
      .join('');
  const out = [head, line(['query', 'req/s', 'p50 ms', 'p99 ms', 'errors'])];
  for (const [name, r] of rows) {
    out.push(
      line([
        name,
        r.requestsPerSecond.toFixed(0),
        r.p50Ms.toFixed(2),
        r.p99Ms.toFixed(2),
        String(r.errors),
      ]),
    );
  }
  out.push(
    `(after ${options.warmupSeconds} s warm-up each, ${options.prewarmSeconds} s pre-warm; ` +
      `host cpu ${rows.map(([, r]) => `${r.hostCpuPercent.toFixed(0)}%`).join(', ')}; ` +
      `stack cpu ${rows.map(([, r]) => `${r.stackCpuPercent.toFixed(0)}%`).join(', ')} of one core)`,
    `(load average 1/5/15 min: ${loads(load.before)} before, ${loads(load.after)} after)`,
  );
  return out.join('\n');
}

// ---------------------------------------------------------------------------------------

interface NowShowingData {
  movies: { totalCount: number; edges: Array<{ node: { id: string; title: string } }> } | null;
}
interface MovieDetailData {
  movie: { id: string; showtimes: unknown[] } | null;
}

async function main(): Promise<void> {
  const options = parseOptions(process.argv.slice(2));
  const nowShowing = contractOperation('NowShowing');
  const movieDetail = contractOperation('MovieDetail');

  // Other work on the machine skews everything: say so up front, and record it.
  const loadBefore = loadavg();
  const idleBefore = hostTimes();
  await new Promise((r) => setTimeout(r, 1000));
  const idleAfter = hostTimes();
  const busyBeforePercent =
    (100 * (idleAfter.busy - idleBefore.busy)) / (idleAfter.total - idleBefore.total || 1);
  if (busyBeforePercent > 20) {
    process.stderr.write(
      `bench: WARNING: the machine is already ${busyBeforePercent.toFixed(0)}% busy before the benchmark (load average ${loads(loadBefore)}); figures will be skewed\n`,
    );
  }

  process.stderr.write('bench: starting the stack (fresh databases, demo data)...\n');
  const stack = await startStackProcess();
  try {
    const { gatewayUrl } = stack.ready;
    const headers = { 'content-type': 'application/json' };
    const body = (operationName: string, query: string, variables: Record<string, unknown>) =>
      JSON.stringify({ query, operationName, variables });

    const nowShowingBody = body('NowShowing', nowShowing, { first: PAGE });
    const cityBody = body('NowShowing', nowShowing, { first: PAGE, city: CITY });
    const fetchNowShowing = async (payload: string): Promise<NowShowingData['movies'] & {}> => {
      const { movies } = await postGraphQL<NowShowingData>(gatewayUrl, headers, payload);
      if (!movies) throw new Error('NowShowing answered movies: null');
      return movies;
    };

    // The demo showtimes reach the movies subgraph's city projection through the event
    // stream, after seeding: until then NowShowing in a city is empty, and for a few seconds
    // after the first one arrives it is only partly filled. Wait until totalCount > 0 and,
    // within the same 60 s, until it has not changed for 2 s.
    const waitStart = Date.now();
    const poll = () => new Promise((r) => setTimeout(r, 250));
    let city = await fetchNowShowing(cityBody);
    while (city.totalCount === 0) {
      if (Date.now() - waitStart > PROJECTION_TIMEOUT_MS) {
        throw new Error(
          `NowShowing in ${CITY} still empty after ${PROJECTION_TIMEOUT_MS / 1000} s: the city projection was not filled`,
        );
      }
      await poll();
      city = await fetchNowShowing(cityBody);
    }
    const firstFilledSeconds = (Date.now() - waitStart) / 1000;
    let stableSince = Date.now();
    let projectionSettled = true;
    while (Date.now() - stableSince < PROJECTION_STABLE_MS) {
      if (Date.now() - waitStart > PROJECTION_TIMEOUT_MS) {
        projectionSettled = false;
        process.stderr.write(
          `bench: WARNING: NowShowing in ${CITY} still changing after ${PROJECTION_TIMEOUT_MS / 1000} s (totalCount ${city.totalCount}); measuring anyway\n`,
        );
        break;
      }
      await poll();
      const next = await fetchNowShowing(cityBody);
      if (next.totalCount !== city.totalCount || next.edges.length !== city.edges.length) {
        stableSince = Date.now();
      }
      city = next;
    }
    const projectionWaitSeconds = (Date.now() - waitStart) / 1000;

    const all = await fetchNowShowing(nowShowingBody);
    const movieId = all.edges[0]?.node.id;
    if (!movieId) throw new Error('no movie is now showing in the demo data');
    const detailBody = body('MovieDetail', movieDetail, { id: movieId });
    const detail = await postGraphQL<MovieDetailData>(gatewayUrl, headers, detailBody);
    if (!detail.movie) throw new Error(`MovieDetail: movie ${movieId} not found`);
    const bytes = (v: unknown) => Buffer.byteLength(JSON.stringify(v));
    process.stderr.write(
      `bench: city projection: first movie after ${firstFilledSeconds.toFixed(1)} s, settled after ${projectionWaitSeconds.toFixed(1)} s; ` +
        `NowShowing ${all.totalCount} movies (${all.edges.length} on the page, ${bytes(all)} bytes), ` +
        `in ${CITY} ${city.totalCount} (${city.edges.length}, ${bytes(city)} bytes); ` +
        `MovieDetail ${all.edges[0].node.title} (${movieId}): ${detail.movie.showtimes.length} showtimes, ${bytes(detail)} bytes\n`,
    );

    // Each iteration: one request; GraphQL errors or an empty answer count as errors.
    const queries: Array<[string, () => Promise<void>]> = [
      [
        'NowShowing',
        async () => {
          if ((await fetchNowShowing(nowShowingBody)).edges.length === 0) {
            throw new Error('NowShowing answered no movies');
          }
        },
      ],
      [
        'NowShowing (city)',
        async () => {
          if ((await fetchNowShowing(cityBody)).edges.length === 0) {
            throw new Error(`NowShowing in ${CITY} answered no movies`);
          }
        },
      ],
      [
        'MovieDetail',
        async () => {
          const d = await postGraphQL<MovieDetailData>(gatewayUrl, headers, detailBody);
          if (!d.movie) throw new Error(`MovieDetail: movie ${movieId} not found`);
        },
      ],
    ];

    // A fresh stack is slow for a while (JIT, PostgreSQL caches, pools): without this, the
    // first query measured pays for it.
    if (options.prewarmSeconds > 0) {
      process.stderr.write(
        `bench: pre-warming all three queries for ${options.prewarmSeconds} s\n`,
      );
      const share = Math.max(1, Math.ceil(options.connections / queries.length));
      await Promise.all(
        queries.map(([, iteration]) => closedLoop(iteration, share, options.prewarmSeconds * 1000)),
      );
    }

    const results: Array<[string, QueryResult]> = [];
    for (const [name, iteration] of queries) {
      if (interrupted) return;
      results.push([name, await measure(name, stack, iteration, options)]);
    }
    if (interrupted) return;
    const loadAfter = loadavg();
    // The data measured should not have moved under the measurement.
    const cityAfter = await fetchNowShowing(cityBody);
    if (cityAfter.totalCount !== city.totalCount) {
      process.stderr.write(
        `bench: WARNING: NowShowing in ${CITY} went from ${city.totalCount} to ${cityAfter.totalCount} movies during the run\n`,
      );
    }

    console.log(`\n${table(options, results, { before: loadBefore, after: loadAfter })}`);

    const finishedAt = new Date();
    const figures = (r: QueryResult) => ({
      requestsPerSecond: round(r.requestsPerSecond, 1),
      p50Ms: round(r.p50Ms, 3),
      p99Ms: round(r.p99Ms, 3),
      meanMs: round(r.meanMs, 3),
      maxMs: round(r.maxMs, 3),
      completed: r.completed,
      errors: r.errors,
      ...(r.firstError ? { firstError: r.firstError } : {}),
      elapsedSeconds: round(r.elapsedSeconds, 3),
      stackCpuPercent: round(r.stackCpuPercent, 1),
      hostCpuPercent: round(r.hostCpuPercent, 1),
      loadAverageAfter: r.loadAverage.map((x) => round(x, 2)),
    });
    const variables: Record<string, Record<string, unknown>> = {
      NowShowing: { first: PAGE },
      'NowShowing (city)': { first: PAGE, city: CITY },
      MovieDetail: { id: movieId },
    };
    const report = {
      benchmark: 'catalog',
      finishedAt: finishedAt.toISOString(),
      settings: {
        durationSeconds: options.durationSeconds,
        warmupSeconds: options.warmupSeconds,
        prewarmSeconds: options.prewarmSeconds,
        connections: options.connections,
        databasePoolSize: stack.ready.databasePoolSize,
        client: 'closed loop (fetch) through the gateway',
      },
      machine: {
        node: process.version,
        platform: `${process.platform}-${process.arch}`,
        cores: availableParallelism(),
        cpu: cpus()[0]?.model ?? 'unknown',
        busyBeforePercent: round(busyBeforePercent, 1),
        loadAverageBefore: loadBefore.map((x) => round(x, 2)),
        loadAverageAfter: loadAfter.map((x) => round(x, 2)),
      },
      data: {
        projectionFirstSeconds: round(firstFilledSeconds, 1),
        projectionWaitSeconds: round(projectionWaitSeconds, 1),
        projectionSettled,
        nowShowing: { totalCount: all.totalCount, page: all.edges.length, bytes: bytes(all) },
        nowShowingCity: {
          city: CITY,
          totalCount: city.totalCount,
          totalCountAfterRun: cityAfter.totalCount,
          page: city.edges.length,
          bytes: bytes(city),
        },
        movieDetail: { movieId, showtimes: detail.movie.showtimes.length, bytes: bytes(detail) },
      },
      results: results.map(([name, r]) => ({
        query: name,
        operation: name.split(' ')[0],
        variables: variables[name],
        ...figures(r),
      })),
    };
    const dir = join(projectRoot(__dirname), 'bench', 'results');
    mkdirSync(dir, { recursive: true });
    const file = join(dir, `catalog-${finishedAt.toISOString().replace(/[:.]/g, '-')}.json`);
    writeFileSync(file, JSON.stringify(report, null, 2) + '\n');
    console.log(`\nwritten to ${file}`);
  } finally {
    process.stderr.write('bench: stopping the stack (dropping its databases)...\n');
    await stack.stop();
  }
}

main().catch((err: Error) => {
  if (interrupted) return; // the signal handler exits once the stack has stopped
  console.error(`bench: ${err.stack ?? err}`);
  process.exitCode = 1;
});

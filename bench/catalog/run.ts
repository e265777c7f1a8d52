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
 * runs in a child process (`bench/common/stack-process.ts`); the load generator runs
 * here. Figures are printed, never asserted.
 */
import { availableParallelism, loadavg } from 'node:os';
import { contractOperation } from '../../tests/support/contract';
import { closedLoop, postGraphQL } from '../common/load';
import { busyBeforeStart, machineInfo, measureLoad, type LoadResult } from '../common/machine';
import {
  checkLoadOptions,
  loadFlags,
  loadSettings,
  parseFlags,
  type LoadOptions,
} from '../common/options';
import { loads, measurementCells, measurementJson, round, writeResults } from '../common/report';
import { isInterrupted, runMain, withStack, type StackHandle } from '../common/stack';

const CITY = 'Hồ Chí Minh';
const PAGE = 20;
/** How long the city projection may take to fill after seeding. */
const PROJECTION_TIMEOUT_MS = 60_000;
/** ... and how long its count must stay put before it counts as filled. */
const PROJECTION_STABLE_MS = 2_000;

type Options = LoadOptions;

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
  parseFlags(argv, USAGE, loadFlags(options));
  checkLoadOptions(options);
  return options;
}

// ---------------------------------------------------------------------------------------
// Measuring

interface QueryResult extends LoadResult {
  /** os.loadavg() right after the measured window. */
  loadAverage: number[];
}

async function measure(
  label: string,
  stack: StackHandle,
  iteration: () => Promise<void>,
  options: Options,
): Promise<QueryResult> {
  const run = (seconds: number) => closedLoop(iteration, options.connections, seconds * 1000);
  return { ...(await measureLoad(label, stack, run, options)), loadAverage: loadavg() };
}

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
    out.push(line([name, ...measurementCells(r)]));
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
  const busyBeforePercent = await busyBeforeStart(loadBefore);

  await withStack({}, async (stack) => {
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
      if (isInterrupted()) return;
      results.push([name, await measure(name, stack, iteration, options)]);
    }
    if (isInterrupted()) return;
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
      ...measurementJson(r),
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
        ...loadSettings(options, stack.ready.databasePoolSize),
        client: 'closed loop (fetch) through the gateway',
      },
      machine: machineInfo(busyBeforePercent, { before: loadBefore, after: loadAfter }),
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
    writeResults('catalog', finishedAt, report);
  });
}

runMain(main);

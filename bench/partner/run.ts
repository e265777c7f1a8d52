/**
 * Partner graph benchmark: the contract's PartnerListings through the public endpoint
 * (`/public/graphql`, with an API key: the key check and the rate limit in Redis on every
 * request) against the same operation on the private endpoint (`/graphql`, anonymous), same
 * variables, same answer. Prints requests/s and p50/p99 latency of both and their ratio, and
 * writes them to bench/results/partner-<timestamp>.json.
 *
 *   node dist/bench/partner/run.js [--duration 10] [--warmup 2] [--prewarm 6] [--connections 20]
 *                                  [--rounds 2]
 *
 * Each round measures both endpoints, which one goes first alternating from round to round
 * (a machine whose other work comes and goes favours neither); the figures are the means
 * over the rounds.
 * The key is issued (by an admin, on the private graph) with the highest rate a key may have,
 * so that the limit is checked on every request without refusing any within a run: a 429
 * counts as an error and is reported. The stack (gateway + subgraphs, fresh seeded databases
 * on the local PostgreSQL and Redis) runs in a child process; the load generator runs here.
 * Figures are printed, never asserted.
 */
import { availableParallelism, loadavg } from 'node:os';
import { mintToken } from '../../scripts/dev-token';
import { buildDemoPlan } from '../../scripts/seed/demo-plan';
import { contractOperation } from '../../tests/support/contract';
import { closedLoop, postGraphQL } from '../common/load';
import { busyBeforeStart, machineInfo, measureLoad, type LoadResult } from '../common/machine';
import {
  atLeastOne,
  checkLoadOptions,
  loadFlags,
  loadSettings,
  parseFlags,
  type LoadOptions,
} from '../common/options';
import { loads, measurementCells, measurementJson, round, writeResults } from '../common/report';
import { isInterrupted, runMain, withStack } from '../common/stack';

/** The highest rate a key may be issued with (the users subgraph's MAX_REQUESTS_PER_MINUTE). */
const KEY_REQUESTS_PER_MINUTE = 100_000;

interface Options extends LoadOptions {
  rounds: number;
}

const USAGE = `usage: node dist/bench/partner/run.js [--duration S] [--warmup S] [--prewarm S] [--connections N]
  --duration S      seconds measured per endpoint (default 10)
  --warmup S        seconds of unmeasured load before each measurement (default 2)
  --prewarm S       seconds of unmeasured load on both endpoints at once, before the first
                    measurement, to warm the fresh stack (JIT, caches, pools; default 6)
  --connections N   concurrent clients (default 20)
  --rounds N        rounds, which endpoint goes first alternating (default 2)`;

function parseOptions(argv: string[]): Options {
  const options: Options = {
    durationSeconds: 10,
    warmupSeconds: 2,
    prewarmSeconds: 6,
    connections: 20,
    rounds: 2,
  };
  parseFlags(argv, USAGE, {
    ...loadFlags(options),
    '--rounds': (v) => void (options.rounds = atLeastOne(v.number())),
  });
  checkLoadOptions(options);
  return options;
}

/** The rounds of one endpoint as one figure: means, errors summed. */
function combined(rounds: readonly LoadResult[]): LoadResult {
  const mean = (pick: (r: LoadResult) => number) =>
    rounds.reduce((sum, r) => sum + pick(r), 0) / rounds.length;
  return {
    requestsPerSecond: mean((r) => r.requestsPerSecond),
    p50Ms: mean((r) => r.p50Ms),
    p99Ms: mean((r) => r.p99Ms),
    meanMs: mean((r) => r.meanMs),
    maxMs: Math.max(...rounds.map((r) => r.maxMs)),
    completed: rounds.reduce((sum, r) => sum + r.completed, 0),
    errors: rounds.reduce((sum, r) => sum + r.errors, 0),
    firstError: rounds.find((r) => r.firstError)?.firstError,
    elapsedSeconds: rounds.reduce((sum, r) => sum + r.elapsedSeconds, 0),
    stackCpuPercent: mean((r) => r.stackCpuPercent),
    clientCpuPercent: mean((r) => r.clientCpuPercent),
    hostCpuPercent: mean((r) => r.hostCpuPercent),
  };
}

function table(
  options: Options,
  rows: Array<[string, LoadResult]>,
  ratio: { rps: number; p50: number; p99: number },
  load: { before: number[]; after: number[] },
): string {
  const head =
    `PartnerListings, ${options.connections} connections, ${options.durationSeconds} s each ` +
    `after ${options.warmupSeconds} s warm-up, means of ${options.rounds} round(s) ` +
    `(${availableParallelism()} cores)`;
  const line = (cells: string[]) =>
    cells[0].padEnd(30) +
    cells
      .slice(1)
      .map((c, i) => c.padStart(i < 3 ? 9 : i === 3 ? 8 : 11))
      .join('');
  const out = [head, line(['endpoint', 'req/s', 'p50 ms', 'p99 ms', 'errors', 'stack cpu'])];
  for (const [name, r] of rows) {
    out.push(line([name, ...measurementCells(r), `${r.stackCpuPercent.toFixed(0)}%`]));
  }
  out.push(
    line([
      'ratio public/private',
      ratio.rps.toFixed(2),
      ratio.p50.toFixed(2),
      ratio.p99.toFixed(2),
    ]),
    '(ratio: req/s public/private, below 1 = the public endpoint serves fewer; latencies',
    ' public/private, above 1 = the key check and rate limit cost that much; stack cpu: % of',
    ' one core, gateway and subgraphs in one process)',
    `(load average 1/5/15 min: ${loads(load.before)} before, ${loads(load.after)} after)`,
  );
  return out.join('\n');
}

interface ListingsData {
  showtimes: Array<{ id: string }>;
}

async function main(): Promise<void> {
  const options = parseOptions(process.argv.slice(2));
  const listings = contractOperation('PartnerListings');
  const loadBefore = loadavg();
  const busyBeforePercent = await busyBeforeStart(loadBefore);

  await withStack({}, async (stack) => {
    const { gatewayUrl, privateKeyPem } = stack.ready;
    const publicUrl = gatewayUrl.replace(/\/graphql$/, '/public/graphql');
    const json = { 'content-type': 'application/json' };

    const admin = mintToken(privateKeyPem, { userId: 'bench-admin', role: 'ADMIN' });
    const issued = await postGraphQL<{ createApiKey: { key: string } }>(
      gatewayUrl,
      { ...json, authorization: `Bearer ${admin}` },
      JSON.stringify({
        query: 'mutation ($input: CreateApiKeyInput!) { createApiKey(input: $input) { key } }',
        variables: {
          input: {
            name: 'Benchmark',
            owner: 'bench/partner',
            requestsPerMinute: KEY_REQUESTS_PER_MINUTE,
          },
        },
      }),
    );
    const partnerHeaders = { ...json, 'x-api-key': issued.createApiKey.key };

    // The busiest city's next day: the largest answer of the demo data.
    const plan = buildDemoPlan();
    const from = new Date();
    const to = new Date(from.getTime() + 86_400_000);
    const body = JSON.stringify({
      query: listings,
      operationName: 'PartnerListings',
      variables: { city: plan.cinemas[0].city, from: from.toISOString(), to: to.toISOString() },
    });
    const viaPublic = () => postGraphQL<ListingsData>(publicUrl, partnerHeaders, body);
    const viaPrivate = () => postGraphQL<ListingsData>(gatewayUrl, json, body);

    // Both endpoints must return the same data, or the comparison means nothing.
    const [publicAnswer, privateAnswer] = [await viaPublic(), await viaPrivate()];
    if (JSON.stringify(publicAnswer) !== JSON.stringify(privateAnswer)) {
      throw new Error('the public and the private endpoint disagree on PartnerListings');
    }
    if (publicAnswer.showtimes.length === 0) throw new Error('PartnerListings answered nothing');
    process.stderr.write(
      `bench: PartnerListings in ${plan.cinemas[0].city}: ${publicAnswer.showtimes.length} showtimes, ` +
        `${Buffer.byteLength(JSON.stringify(publicAnswer))} bytes; same through both endpoints\n`,
    );

    const n = options.connections;
    if (options.prewarmSeconds > 0) {
      process.stderr.write(`bench: pre-warming both endpoints for ${options.prewarmSeconds} s\n`);
      const half = Math.max(1, Math.ceil(n / 2));
      await Promise.all([
        closedLoop(async () => void (await viaPublic()), half, options.prewarmSeconds * 1000),
        closedLoop(async () => void (await viaPrivate()), half, options.prewarmSeconds * 1000),
      ]);
    }
    const run = (path: () => Promise<unknown>) => (seconds: number) =>
      closedLoop(async () => void (await path()), n, seconds * 1000);
    const endpoints = [
      { label: 'public (key, rate limit)', rounds: [] as LoadResult[], path: viaPublic },
      { label: 'private (anonymous)', rounds: [] as LoadResult[], path: viaPrivate },
    ];
    for (let round = 1; round <= options.rounds; round++) {
      const order = round % 2 === 1 ? endpoints : [...endpoints].reverse();
      for (const endpoint of order) {
        if (isInterrupted()) return;
        const label = `round ${round}, ${endpoint.label}`;
        endpoint.rounds.push(await measureLoad(label, stack, run(endpoint.path), options));
      }
    }
    if (isInterrupted()) return;
    const [publicResult, privateResult] = endpoints.map((e) => combined(e.rounds));

    const loadAfter = loadavg();
    const ratio = {
      rps: publicResult.requestsPerSecond / privateResult.requestsPerSecond,
      p50: publicResult.p50Ms / privateResult.p50Ms,
      p99: publicResult.p99Ms / privateResult.p99Ms,
    };
    console.log(
      `\n${table(
        options,
        [
          ['public /public/graphql (key)', publicResult],
          ['private /graphql (anonymous)', privateResult],
        ],
        ratio,
        { before: loadBefore, after: loadAfter },
      )}`,
    );

    const finishedAt = new Date();
    const figures = (r: LoadResult) => ({
      ...measurementJson(r),
      stackCpuPercent: round(r.stackCpuPercent, 1),
      hostCpuPercent: round(r.hostCpuPercent, 1),
    });
    writeResults('partner', finishedAt, {
      benchmark: 'partner',
      operation: 'PartnerListings',
      finishedAt: finishedAt.toISOString(),
      settings: {
        ...loadSettings(options, stack.ready.databasePoolSize),
        rounds: options.rounds,
        keyRequestsPerMinute: KEY_REQUESTS_PER_MINUTE,
        client: 'closed loop (fetch)',
      },
      machine: machineInfo(busyBeforePercent, { before: loadBefore, after: loadAfter }),
      data: { showtimes: publicAnswer.showtimes.length },
      results: {
        public: { ...figures(publicResult), rounds: endpoints[0].rounds.map(figures) },
        private: { ...figures(privateResult), rounds: endpoints[1].rounds.map(figures) },
      },
      ratios: {
        requestsPerSecondPublicOverPrivate: round(ratio.rps, 3),
        p50PublicOverPrivate: round(ratio.p50, 3),
        p99PublicOverPrivate: round(ratio.p99, 3),
      },
    });
  });
}

runMain(main);

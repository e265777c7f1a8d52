/**
 * Gateway benchmark: the contract's MovieDetail query through the gateway against the same
 * data fetched from the subgraphs directly (movies `movie(id)`, then cinemas `_entities`:
 * two sequential calls, as the gateway's query plan does). Prints throughput and p50/p99
 * latency side by side and writes them to bench/results/gateway-<timestamp>.json.
 *
 *   npm run bench:gateway -- [--duration 10] [--warmup 2] [--connections 20] [--no-autocannon]
 *
 * The stack (gateway + subgraphs, fresh seeded databases on the local PostgreSQL and Redis)
 * runs in a child process; the load generator runs here. Figures are printed, never asserted.
 */
import { availableParallelism } from 'node:os';
import { Kind, parse, print, type FieldNode, type OperationDefinitionNode } from 'graphql';
import { IDENTITY_HEADER, signIdentity } from '../../runtime/identity';
import { contractOperation } from '../../tests/support/contract';
import { autocannonRun, closedLoop, postGraphQL } from '../common/load';
import { busyBeforeStart, machineInfo, measureLoad, type LoadResult } from '../common/machine';
import {
  checkLoadOptions,
  loadFlags,
  loadSettings,
  parseFlags,
  type LoadOptions,
} from '../common/options';
import { measurementCells, measurementJson, round, writeResults } from '../common/report';
import { isInterrupted, runMain, withStack } from '../common/stack';

interface Options extends LoadOptions {
  autocannon: boolean;
}

const USAGE = `usage: node dist/bench/gateway/run.js [--duration S] [--warmup S] [--prewarm S] [--connections N] [--no-autocannon]
  --duration S      seconds measured per path (default 10)
  --warmup S        seconds of unmeasured load before each measurement (default 2)
  --prewarm S       seconds of unmeasured load on both paths at once, before the first
                    measurement, to warm the fresh stack (JIT, caches, pools; default 8)
  --connections N   concurrent requests / connections (default 20)
  --no-autocannon   skip the extra autocannon measurement of the gateway`;

function parseOptions(argv: string[]): Options {
  const options: Options = {
    durationSeconds: 10,
    warmupSeconds: 2,
    prewarmSeconds: 8,
    connections: 20,
    autocannon: true,
  };
  parseFlags(argv, USAGE, {
    ...loadFlags(options),
    '--no-autocannon': () => void (options.autocannon = false),
  });
  checkLoadOptions(options);
  return options;
}

/**
 * The direct path's two operations, cut from the contract's MovieDetail so that both paths
 * select exactly the same fields: the movie's own fields from the movies subgraph, then
 * `showtimes` (same arguments, same selection) through `_entities` on the cinemas subgraph.
 */
function directOperations(movieDetail: string): { movies: string; cinemas: string } {
  const operation = parse(movieDetail).definitions.find(
    (d): d is OperationDefinitionNode => d.kind === Kind.OPERATION_DEFINITION,
  );
  const movieField = operation?.selectionSet.selections.find(
    (s): s is FieldNode => s.kind === Kind.FIELD && s.name.value === 'movie',
  );
  const selections = movieField?.selectionSet?.selections ?? [];
  const showtimes = selections.find(
    (s): s is FieldNode => s.kind === Kind.FIELD && s.name.value === 'showtimes',
  );
  if (!operation || !movieField || !showtimes) {
    throw new Error('MovieDetail no longer has the shape movie(id) { ... showtimes { ... } }');
  }
  const own = selections
    .filter((s) => s !== showtimes)
    .map((s) => print(s))
    .join(' ');
  return {
    movies: `query BenchMovie($id: ID!) { movie(id: $id) { __typename id ${own} } }`,
    cinemas:
      'query BenchShowtimes($representations: [_Any!]!, $from: DateTime, $to: DateTime, $city: String) ' +
      `{ _entities(representations: $representations) { ... on Movie { ${print(showtimes)} } } }`,
  };
}

/** Same data whatever the key order. */
function canonical(value: unknown): string {
  return JSON.stringify(value, (_key, v: unknown) =>
    v && typeof v === 'object' && !Array.isArray(v)
      ? Object.fromEntries(Object.entries(v).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)))
      : v,
  );
}

// ---------------------------------------------------------------------------------------
// Reporting

/** A path's throughput and latency, and the CPU it cost. */
type PathResult = LoadResult;

function table(
  options: Options,
  rows: Array<[string, PathResult | undefined]>,
  ratio: { rps: number; p50: number; p99: number },
): string {
  const cores = availableParallelism();
  const head = `MovieDetail, ${options.connections} connections, ${options.durationSeconds} s each after ${options.warmupSeconds} s warm-up (${cores} cores)`;
  const line = (cells: string[]) =>
    cells[0].padEnd(22) +
    cells
      .slice(1)
      .map((c, i) => c.padStart(i < 3 ? 9 : i === 3 ? 8 : 11))
      .join('');
  const out = [
    head,
    line(['path', 'req/s', 'p50 ms', 'p99 ms', 'errors', 'stack cpu', 'client cpu', 'host cpu']),
  ];
  const pct = (n: number) => `${n.toFixed(0)}%`;
  for (const [name, r] of rows) {
    if (!r) continue;
    out.push(
      line([
        name,
        ...measurementCells(r),
        pct(r.stackCpuPercent),
        pct(r.clientCpuPercent),
        pct(r.hostCpuPercent),
      ]),
    );
    if (name === 'subgraphs direct') {
      out.push(
        line(['ratio gw/direct', ratio.rps.toFixed(2), ratio.p50.toFixed(2), ratio.p99.toFixed(2)]),
      );
    }
  }
  out.push(
    '(ratio: req/s is direct/gateway, latencies gateway/direct: above 1 = the gateway costs that much;',
    ' stack/client cpu: % of one core over the measured window (stack = gateway + subgraphs in',
    ' one process); host cpu: the whole machine incl. PostgreSQL, % of all cores;',
    ' autocannon latencies have 1 ms resolution)',
  );
  return out.join('\n');
}

// ---------------------------------------------------------------------------------------

async function main(): Promise<void> {
  const options = parseOptions(process.argv.slice(2));
  const movieDetail = contractOperation('MovieDetail');
  const direct = directOperations(movieDetail);

  // Other work on the machine skews everything: say so up front, and record it.
  const busyBeforePercent = await busyBeforeStart();

  await withStack({}, async (stack) => {
    const { gatewayUrl, moviesUrl, cinemasUrl, internalSecret } = stack.ready;
    const json = { 'content-type': 'application/json' };
    const subgraphHeaders = (audience: 'movies' | 'cinemas') => ({
      ...json,
      // Signed per call, as the gateway does (a cheap HMAC).
      [IDENTITY_HEADER]: signIdentity({ userId: null, role: null }, internalSecret, audience),
    });

    const list = await postGraphQL<{ movies: { edges: Array<{ node: { id: string } }> } }>(
      gatewayUrl,
      json,
      JSON.stringify({
        query:
          'query BenchPick { movies(filter: { nowShowing: true }, first: 1) { edges { node { id } } } }',
      }),
    );
    const movieId = list.movies.edges[0]?.node.id;
    if (!movieId) throw new Error('no movie is now showing in the demo data');

    const gatewayBody = JSON.stringify({
      query: movieDetail,
      operationName: 'MovieDetail',
      variables: { id: movieId },
    });
    const moviesBody = JSON.stringify({ query: direct.movies, variables: { id: movieId } });

    type Movie = { __typename: string; id: string; showtimes?: unknown[] } & Record<
      string,
      unknown
    >;
    const viaGateway = () =>
      postGraphQL<{ movie: Movie | null }>(gatewayUrl, json, gatewayBody).then((d) => {
        if (!d.movie) throw new Error(`movie ${movieId} not found`);
        return d.movie;
      });
    const viaSubgraphs = async (): Promise<Movie> => {
      const { movie } = await postGraphQL<{ movie: Movie | null }>(
        moviesUrl,
        subgraphHeaders('movies'),
        moviesBody,
      );
      if (!movie) throw new Error(`movie ${movieId} not found`);
      // The representation comes from the first answer, as in the gateway's plan.
      const { _entities } = await postGraphQL<{
        _entities: Array<{ showtimes: unknown[] } | null>;
      }>(
        cinemasUrl,
        subgraphHeaders('cinemas'),
        JSON.stringify({
          query: direct.cinemas,
          variables: { representations: [{ __typename: movie.__typename, id: movie.id }] },
        }),
      );
      if (!_entities[0]) throw new Error(`cinemas resolved no Movie ${movie.id}`);
      return { ...movie, showtimes: _entities[0].showtimes };
    };

    // Both paths must return the same data, or the comparison means nothing.
    const fromGateway = await viaGateway();
    const { __typename: _typename, ...fromSubgraphs } = await viaSubgraphs();
    if (canonical(fromGateway) !== canonical(fromSubgraphs)) {
      throw new Error(
        'the gateway and the direct calls disagree:\n' +
          `gateway: ${canonical(fromGateway).slice(0, 500)}\ndirect:  ${canonical(fromSubgraphs).slice(0, 500)}`,
      );
    }
    const showtimeCount = fromGateway.showtimes?.length ?? 0;
    process.stderr.write(
      `bench: movie ${movieId}, ${showtimeCount} showtimes, ${Buffer.byteLength(JSON.stringify(fromGateway))} bytes of data; same through both paths\n`,
    );

    const n = options.connections;
    // A fresh stack is slow for a while (JIT, PostgreSQL caches, pools): without this, the
    // first path measured pays for it and the 2 s warm-ups are too short at these rates.
    if (options.prewarmSeconds > 0) {
      process.stderr.write(`bench: pre-warming both paths for ${options.prewarmSeconds} s\n`);
      const half = Math.max(1, Math.ceil(n / 2));
      await Promise.all([
        closedLoop(async () => void (await viaGateway()), half, options.prewarmSeconds * 1000),
        closedLoop(async () => void (await viaSubgraphs()), half, options.prewarmSeconds * 1000),
      ]);
    }
    const gateway = await measureLoad(
      'gateway',
      stack,
      (s) => closedLoop(async () => void (await viaGateway()), n, s * 1000),
      options,
    );
    const subgraphs = await measureLoad(
      'subgraphs direct',
      stack,
      (s) => closedLoop(async () => void (await viaSubgraphs()), n, s * 1000),
      options,
    );
    const gatewayAutocannon = options.autocannon
      ? await measureLoad(
          'gateway (autocannon)',
          stack,
          (s) => autocannonRun(gatewayUrl, gatewayBody, n, s),
          options,
        )
      : undefined;

    if (isInterrupted()) return;
    const ratio = {
      rps: subgraphs.requestsPerSecond / gateway.requestsPerSecond,
      p50: gateway.p50Ms / subgraphs.p50Ms,
      p99: gateway.p99Ms / subgraphs.p99Ms,
    };
    const printed = table(
      options,
      [
        ['gateway', gateway],
        ['subgraphs direct', subgraphs],
        ['gateway (autocannon)', gatewayAutocannon],
      ],
      ratio,
    );
    console.log(`\n${printed}`);

    const finishedAt = new Date();
    const figures = (r: PathResult) => ({
      ...measurementJson(r),
      stackCpuPercent: round(r.stackCpuPercent, 1),
      clientCpuPercent: round(r.clientCpuPercent, 1),
      hostCpuPercent: round(r.hostCpuPercent, 1),
    });
    const report = {
      benchmark: 'gateway',
      operation: 'MovieDetail',
      finishedAt: finishedAt.toISOString(),
      settings: loadSettings(options, stack.ready.databasePoolSize),
      machine: machineInfo(busyBeforePercent),
      data: { movieId, showtimes: showtimeCount },
      results: {
        gateway: { client: 'closed loop (fetch)', ...figures(gateway) },
        subgraphsDirect: {
          client: 'closed loop (fetch): movies movie(id), then cinemas _entities',
          ...figures(subgraphs),
        },
        ...(gatewayAutocannon
          ? { gatewayAutocannon: { client: 'autocannon', ...figures(gatewayAutocannon) } }
          : {}),
      },
      ratios: {
        requestsPerSecondDirectOverGateway: round(ratio.rps, 3),
        p50GatewayOverDirect: round(ratio.p50, 3),
        p99GatewayOverDirect: round(ratio.p99, 3),
      },
    };
    writeResults('gateway', finishedAt, report);
  });
}

runMain(main);

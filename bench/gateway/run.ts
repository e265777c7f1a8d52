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
import { fork, type ChildProcess } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { availableParallelism, cpus } from 'node:os';
import { join } from 'node:path';
import { Kind, parse, print, type FieldNode, type OperationDefinitionNode } from 'graphql';
import { IDENTITY_HEADER, signIdentity } from '../../runtime/identity';
import { projectRoot } from '../../runtime/paths';
import { contractOperation } from '../../tests/support/contract';
import { autocannonRun, closedLoop, postGraphQL, type Measurement } from './load';
import type { CpuMessage, ReadyMessage, StackMessage } from './protocol';

interface Options {
  durationSeconds: number;
  warmupSeconds: number;
  prewarmSeconds: number;
  connections: number;
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
      case '--no-autocannon':
        options.autocannon = false;
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
// The stack process

interface StackHandle {
  ready: ReadyMessage;
  cpuMicros(): Promise<number>;
  stop(): Promise<void>;
}

/** Set on SIGINT/SIGTERM: nothing is printed or written after it. */
let interrupted = false;

function startStackProcess(): Promise<StackHandle> {
  const child: ChildProcess = fork(join(__dirname, 'stack-process.js'), [], {
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

interface PathResult extends Measurement {
  /** CPU time over the measured window, in % of one core. */
  stackCpuPercent: number;
  clientCpuPercent: number;
  /** The whole machine (PostgreSQL, Redis, everything) busy, in % of all cores. */
  hostCpuPercent: number;
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
  run: (seconds: number) => Promise<Measurement>,
  options: Options,
): Promise<PathResult> {
  process.stderr.write(`bench: ${label}: ${options.warmupSeconds} s warm-up, `);
  if (options.warmupSeconds > 0) await run(options.warmupSeconds);
  process.stderr.write(`${options.durationSeconds} s measured... `);
  const stackBefore = await stack.cpuMicros();
  const clientBefore = process.cpuUsage();
  const hostBefore = hostTimes();
  const wallBefore = process.hrtime.bigint();
  const result = await run(options.durationSeconds);
  const wallMicros = Number(process.hrtime.bigint() - wallBefore) / 1e3;
  const client = process.cpuUsage(clientBefore);
  const hostAfter = hostTimes();
  const stackMicros = (await stack.cpuMicros()) - stackBefore;
  process.stderr.write(`${result.requestsPerSecond.toFixed(0)} req/s\n`);
  if (result.errors > 0) {
    process.stderr.write(`bench: ${label}: ${result.errors} errors, first: ${result.firstError}\n`);
  }
  return {
    ...result,
    stackCpuPercent: (100 * stackMicros) / wallMicros,
    clientCpuPercent: (100 * (client.user + client.system)) / wallMicros,
    hostCpuPercent:
      (100 * (hostAfter.busy - hostBefore.busy)) / (hostAfter.total - hostBefore.total || 1),
  };
}

const round = (n: number, digits = 2) => (Number.isFinite(n) ? Number(n.toFixed(digits)) : null);

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
        r.requestsPerSecond.toFixed(0),
        r.p50Ms.toFixed(2),
        r.p99Ms.toFixed(2),
        String(r.errors),
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
  const idleBefore = hostTimes();
  await new Promise((r) => setTimeout(r, 1000));
  const idleAfter = hostTimes();
  const busyBeforePercent =
    (100 * (idleAfter.busy - idleBefore.busy)) / (idleAfter.total - idleBefore.total || 1);
  if (busyBeforePercent > 20) {
    process.stderr.write(
      `bench: WARNING: the machine is already ${busyBeforePercent.toFixed(0)}% busy before the benchmark; figures will be skewed\n`,
    );
  }

  process.stderr.write('bench: starting the stack (fresh databases, demo data)...\n');
  const stack = await startStackProcess();
  try {
    const { gatewayUrl, moviesUrl, cinemasUrl, internalSecret } = stack.ready;
    const json = { 'content-type': 'application/json' };
    const subgraphHeaders = () => ({
      ...json,
      // Signed per call, as the gateway does (a cheap HMAC).
      [IDENTITY_HEADER]: signIdentity({ userId: null, role: null }, internalSecret),
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
        subgraphHeaders(),
        moviesBody,
      );
      if (!movie) throw new Error(`movie ${movieId} not found`);
      // The representation comes from the first answer, as in the gateway's plan.
      const { _entities } = await postGraphQL<{
        _entities: Array<{ showtimes: unknown[] } | null>;
      }>(
        cinemasUrl,
        subgraphHeaders(),
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
    const gateway = await measure(
      'gateway',
      stack,
      (s) => closedLoop(async () => void (await viaGateway()), n, s * 1000),
      options,
    );
    const subgraphs = await measure(
      'subgraphs direct',
      stack,
      (s) => closedLoop(async () => void (await viaSubgraphs()), n, s * 1000),
      options,
    );
    const gatewayAutocannon = options.autocannon
      ? await measure(
          'gateway (autocannon)',
          stack,
          (s) => autocannonRun(gatewayUrl, gatewayBody, n, s),
          options,
        )
      : undefined;

    if (interrupted) return;
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
      clientCpuPercent: round(r.clientCpuPercent, 1),
      hostCpuPercent: round(r.hostCpuPercent, 1),
    });
    const report = {
      benchmark: 'gateway',
      operation: 'MovieDetail',
      finishedAt: finishedAt.toISOString(),
      settings: {
        durationSeconds: options.durationSeconds,
        warmupSeconds: options.warmupSeconds,
        prewarmSeconds: options.prewarmSeconds,
        connections: options.connections,
        databasePoolSize: stack.ready.databasePoolSize,
      },
      machine: {
        node: process.version,
        platform: `${process.platform}-${process.arch}`,
        cores: availableParallelism(),
        cpu: cpus()[0]?.model ?? 'unknown',
        busyBeforePercent: round(busyBeforePercent, 1),
      },
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
    const dir = join(projectRoot(__dirname), 'bench', 'results');
    mkdirSync(dir, { recursive: true });
    const file = join(dir, `gateway-${finishedAt.toISOString().replace(/[:.]/g, '-')}.json`);
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

/**
 * Peers benchmark: our gateway and Hive Gateway side by side, on the same supergraph in
 * front of the same running subgraphs (four production processes over fresh databases
 * seeded with the demo data). Both must first give the same answers to every request of the
 * mix; then each row (query × fixed/varied variables × connections) is measured with
 * autocannon on one gateway and then the other, the order swapped every round. Prints
 * req/s, p50/p99 and the ratio ours / Hive per row, and where the CPU went; writes
 * bench/results/peers-<timestamp>.json.
 *
 *   npm run bench:peers -- [--duration 10] [--warmup 2] [--prewarm 5] [--connections 50,200]
 *                          [--only NowShowing,SeatMap] [--variables fixed,varied] [--rounds 2]
 *
 * Figures are printed, never asserted.
 */
import { availableParallelism, loadavg } from 'node:os';
import { hostBusyPercent, hostTimes, busyBeforeStart, machineInfo } from '../common/machine';
import { atLeastOne, parseFlags } from '../common/options';
import { loads, writeResults } from '../common/report';
import { cannon, type RequestVariant } from './cannon';
import { checkSameAnswers, MismatchError } from './compare';
import {
  cpuTable,
  rowRecord,
  throughputTable,
  type PeerMeasurement,
  type RowFigures,
} from './figures';
import { buildMix, QUERIES, type MixRow, type QueryName, type VariablesKind } from './mix';
import { peerStack, type PeerGateway, type PeerStack } from './peer-stack';
import { rushBothGateways } from './rush';
import { waitForQuiet } from './processes';

interface Options {
  durationSeconds: number;
  warmupSeconds: number;
  prewarmSeconds: number;
  connections: number[];
  only: QueryName[];
  variables: VariablesKind[];
  rounds: number;
  keepLogs: boolean;
  rushUsers: number;
}

const USAGE = `usage: node dist/bench/peers/run.js [options]
  --duration S          seconds measured per gateway, row and round (default 10)
  --warmup S            seconds of unmeasured load before each measurement (default 2)
  --prewarm S           seconds of unmeasured load on each gateway with the whole mix, before
                        the first measurement (JIT, pools, caches; default 5)
  --connections N[,N]   concurrent connections, one row per value (default 50,200)
  --only Q[,Q]          queries of the mix to run: ${QUERIES.join(', ')} (default all)
  --variables V[,V]     fixed, varied or both (default fixed,varied)
  --rounds N            rounds, the gateway measured first alternating (default 2)
  --rush-users N        then a HoldSeats rush through each gateway: N users at once, from the
                        seat map page (default 1000; 0 skips it)
  --keep-logs           keep the services' logs (printed where) instead of deleting them`;

function list(raw: string): string[] {
  return raw
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean);
}

function parseOptions(argv: string[]): Options {
  const options: Options = {
    durationSeconds: 10,
    warmupSeconds: 2,
    prewarmSeconds: 5,
    connections: [50, 200],
    only: [...QUERIES],
    variables: ['fixed', 'varied'],
    rounds: 2,
    keepLogs: false,
    rushUsers: 1000,
  };
  parseFlags(argv, USAGE, {
    '--duration': (v) => void (options.durationSeconds = v.number()),
    '--warmup': (v) => void (options.warmupSeconds = v.number()),
    '--prewarm': (v) => void (options.prewarmSeconds = v.number()),
    '--rounds': (v) => void (options.rounds = atLeastOne(v.number())),
    '--keep-logs': () => void (options.keepLogs = true),
    '--rush-users': (v) => void (options.rushUsers = Math.round(v.number())),
    '--connections': (v) => {
      options.connections = list(v.string()).map((n) => {
        const count = Number(n);
        if (!Number.isInteger(count) || count < 1) {
          throw new Error(`--connections takes positive integers, not ${n}\n${USAGE}`);
        }
        return count;
      });
    },
    '--only': (v) => {
      options.only = list(v.string()).map((name) => {
        const query = QUERIES.find((q) => q.toLowerCase() === name.toLowerCase());
        if (!query) throw new Error(`--only: no query ${name} in the mix\n${USAGE}`);
        return query;
      });
    },
    '--variables': (v) => {
      options.variables = list(v.string()).map((kind) => {
        if (kind !== 'fixed' && kind !== 'varied') {
          throw new Error(`--variables takes fixed and/or varied, not ${kind}\n${USAGE}`);
        }
        return kind;
      });
    },
  });
  if (options.durationSeconds <= 0) throw new Error('--duration must be more than 0');
  if (options.connections.length === 0) throw new Error('--connections needs a value');
  if (options.only.length === 0) throw new Error('--only needs a query');
  if (options.variables.length === 0) throw new Error('--variables needs a value');
  return options;
}

const say = (line: string) => process.stderr.write(`bench: ${line}\n`);

/** Fails the run when a server process has died (its log's end says why). */
function assertAlive(stack: PeerStack): void {
  const dead = stack.crashed();
  if (dead) {
    throw new Error(`${dead.name} exited during the run; the end of its log:\n${dead.logTail()}`);
  }
}

/** A warm-up, then one measured run, with the CPU of each process over the measured window. */
async function measure(
  stack: PeerStack,
  gateway: PeerGateway,
  pool: readonly RequestVariant[],
  connections: number,
  options: Options,
): Promise<Omit<PeerMeasurement, 'round' | 'first'>> {
  assertAlive(stack);
  if (!(await waitForQuiet([...stack.subgraphs, stack.ours.process, stack.hive.process]))) {
    say('  the servers were still busy 30 s after the last run; measuring anyway');
  }
  if (options.warmupSeconds > 0) {
    await cannon(gateway.url, pool, connections, options.warmupSeconds);
  }
  const subgraphsCpu = () => stack.subgraphs.reduce((sum, p) => sum + p.cpuMicros(), 0);
  const gatewayBefore = gateway.process.cpuMicros();
  const subgraphsBefore = subgraphsCpu();
  const clientBefore = process.cpuUsage();
  const hostBefore = hostTimes();
  const wallBefore = process.hrtime.bigint();
  const result = await cannon(gateway.url, pool, connections, options.durationSeconds);
  const wallMicros = Number(process.hrtime.bigint() - wallBefore) / 1e3;
  const gatewayMicros = gateway.process.cpuMicros() - gatewayBefore;
  const subgraphsMicros = subgraphsCpu() - subgraphsBefore;
  const client = process.cpuUsage(clientBefore);
  assertAlive(stack);
  return {
    ...result,
    gatewayCpuMsPerRequest: gatewayMicros / 1e3 / result.completed,
    subgraphsCpuMsPerRequest: subgraphsMicros / 1e3 / result.completed,
    gatewayCpuPercent: (100 * gatewayMicros) / wallMicros,
    subgraphsCpuPercent: (100 * subgraphsMicros) / wallMicros,
    clientCpuPercent: (100 * (client.user + client.system)) / wallMicros,
    hostCpuPercent: hostBusyPercent(hostBefore, hostTimes()),
  };
}

async function runRounds(stack: PeerStack, rows: readonly MixRow[], options: Options) {
  const figures: RowFigures[] = rows.flatMap((row) =>
    options.connections.map((connections) => ({
      query: row.query,
      variables: row.variables,
      describe: row.describe,
      connections,
      ours: [],
      hive: [],
    })),
  );
  const measurements = figures.length * 2 * options.rounds;
  let done = 0;
  for (let round = 1; round <= options.rounds; round++) {
    const order = round % 2 === 1 ? [stack.ours, stack.hive] : [stack.hive, stack.ours];
    say(`round ${round} of ${options.rounds}: ${order[0].label} first in every row`);
    let i = 0;
    for (const row of rows) {
      for (const connections of options.connections) {
        const target = figures[i++];
        for (const [position, gateway] of order.entries()) {
          done += 1;
          process.stderr.write(
            `bench: [${done}/${measurements}] ${row.query} ${row.variables}, ${connections} connections, ${gateway.label}: `,
          );
          const m = await measure(stack, gateway, row.pool, connections, options);
          process.stderr.write(
            `${m.requestsPerSecond.toFixed(0)} req/s, p50 ${m.p50Ms} ms, p99 ${m.p99Ms} ms\n`,
          );
          if (m.errors > 0) say(`  ${m.errors} errors: ${m.firstError}`);
          target[gateway.name].push({ ...m, round, first: position === 0 });
        }
      }
    }
  }
  return figures;
}

async function main(): Promise<void> {
  const options = parseOptions(process.argv.slice(2));
  const control = peerStack();
  let interrupted = false;
  const onSignal = (signal: NodeJS.Signals) => {
    if (interrupted) return;
    interrupted = true;
    say(`${signal}: stopping every process and dropping the databases...`);
    void control
      .stop({ keepLogs: options.keepLogs })
      .catch((err: Error) => say(err.message))
      .finally(() => process.exit(130));
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  process.on('SIGHUP', onSignal);
  const loadBefore = loadavg();
  const busyBeforePercent = await busyBeforeStart(loadBefore);

  let failed = false;
  try {
    const stack = await control.start();
    const mix = await buildMix(stack.ours.url, stack.privateKeyPem, options.only);
    const rows = mix.rows.filter((r) => options.variables.includes(r.variables));
    say(
      `mix: ${mix.data.moviesNowShowing as number} movies now showing, ` +
        `${mix.data.seatMapShowtimes as number} showtimes for SeatMap, cities ${(mix.data.cities as string[]).join(', ')}`,
    );

    say('checking that both gateways give the same answers...');
    const compared = await checkSameAnswers(rows, stack.ours, stack.hive);
    say(`${compared} requests, the same data from both`);

    if (options.prewarmSeconds > 0) {
      const everything = rows.flatMap((r) => r.pool);
      for (const gateway of [stack.ours, stack.hive]) {
        say(`pre-warming ${gateway.label} with the whole mix for ${options.prewarmSeconds} s`);
        await cannon(gateway.url, everything, options.connections[0], options.prewarmSeconds);
      }
    }
    const figures = await runRounds(stack, rows, options);
    if (interrupted) return;
    const rush =
      options.rushUsers > 0 ? await rushBothGateways(stack, options.rushUsers) : undefined;
    if (interrupted) return;

    const loadAfter = loadavg();
    console.log(
      `\nour gateway vs Hive Gateway ${stack.hiveVersion}, same supergraph and subgraphs (production, demo data); ` +
        `${options.durationSeconds} s per measurement after ${options.warmupSeconds} s warm-up, ` +
        `${options.rounds} round(s) alternating who goes first; means over the rounds ` +
        `(${availableParallelism()} cores, load ${loads(loadBefore)} before, ${loads(loadAfter)} after)\n`,
    );
    console.log(throughputTable(figures));
    if (figures.some((f) => [...f.ours, ...f.hive].some((m) => m.errors > 0))) {
      console.log('* errors during the measurement: see the results file');
    }
    console.log(
      '\nCPU per successful request (ms) in the gateway and in the four subgraphs behind it',
    );
    console.log(cpuTable(figures));
    console.log(
      '(gw cpu: the gateway process, % of one core; host cpu: the whole machine incl. the load\n' +
        ' generator, PostgreSQL and Redis, % of all cores; autocannon latencies have 1 ms resolution)',
    );
    if (rush) console.log(`\n${rush.text}`);

    const finishedAt = new Date();
    writeResults('peers', finishedAt, {
      benchmark: 'peers',
      finishedAt: finishedAt.toISOString(),
      settings: {
        durationSeconds: options.durationSeconds,
        warmupSeconds: options.warmupSeconds,
        prewarmSeconds: options.prewarmSeconds,
        connections: options.connections,
        rounds: options.rounds,
        databasePoolSize: stack.databasePoolSize,
        client:
          'autocannon (pipelining 1); an answer other than a 200 without GraphQL errors counts as an error',
        hive: `Hive Gateway ${stack.hiveVersion}, the CLI's defaults (one process), with the identity plugin of bench/peers/hive-identity-plugin.ts`,
      },
      machine: machineInfo(busyBeforePercent, { before: loadBefore, after: loadAfter }),
      data: mix.data,
      comparedRequests: compared,
      rows: figures.map(rowRecord),
      rush: rush?.result,
    });
  } catch (err) {
    failed = true;
    if (interrupted) return;
    if (err instanceof MismatchError) console.error(`bench: ${err.message}`);
    else console.error(`bench: ${(err as Error).stack ?? String(err)}`);
    process.exitCode = 1;
  } finally {
    if (!interrupted) {
      say('stopping every process and dropping the databases...');
      await control.stop({ keepLogs: options.keepLogs || failed }).catch((err: Error) => {
        say(err.message);
        process.exitCode = 1;
      });
    }
  }
}

main().catch((err: Error) => {
  console.error(`bench: ${err.message}`);
  process.exitCode = 1;
});

/**
 * Seats benchmark: the seat-hold path and the live seat map under load, through the gateway.
 * Two parts on one stack, run one after the other (`--only` picks one):
 *
 *   rush     `seat-rush.ts` (checked by `rush-check.ts`): N distinct users (500) each send ONE
 *            HoldSeats for 1–4 random seats of one upcoming showtime whose hall has about 200
 *            sellable seats, all released at once. Reports holds/s, p50/p99 latency, outcome
 *            counts, and checks the result against the SeatMap afterwards (no seat held
 *            twice, every held seat granted to exactly one successful request, no successful
 *            request missing a seat).
 *   fanout   `fan-out.ts` (with `timed-subscriber.ts`, `fan-out-deliveries.ts`): M
 *            SeatUpdates subscribers (1,000: 900 anonymous, 100 signed in) on one showtime,
 *            then K (200) hold/release changes one after another. Reports per-delivery
 *            latency (mutation sent → event received, matched by version), expected vs
 *            received deliveries, and the stack process's memory per subscriber.
 *
 *   npm run bench:seats -- [--only rush|fanout] [--users 500] [--rush-concurrency N]
 *                          [--subscribers 1000] [--signed-in 100] [--changes 200] [--batch 50]
 *                          [--interval 0] [--warmup 3] [--seed 1] [--gateways N]
 *
 * `--gateways N` runs both parts against N gateway processes, each in front of its own cinemas
 * process (`bench/holds/topology.ts`), users and subscribers spread over them in turn; the
 * fan-out's memory per subscriber is then the gateways' own.
 *
 * Both parts send the client contract's operations (`seat-client.ts`) to showtimes chosen
 * from the demo plan (`showtimes.ts`), with the test kit's clients (`tests/support/
 * http-client.ts`; the fan-out's subscribers are plain graphql-transport-ws sockets,
 * `timed-subscriber.ts`). The stack (gateway + subgraphs over fresh seeded databases on the
 * local PostgreSQL and Redis) runs in a child process (`bench/common/stack-process.ts`, forked
 * with --expose-gc), or as separate processes with `--gateways`; the clients run here. Figures
 * are printed and written to bench/results/seats-<timestamp>.json, never asserted.
 */
import { availableParallelism, loadavg } from 'node:os';
import { resolve } from 'node:path';
import { buildDemoPlan } from '../../scripts/seed/demo-plan';
import { busyBeforeStart, machineInfo } from '../common/machine';
import { atLeastOne, parseFlags } from '../common/options';
import { loads, writeResults } from '../common/report';
import { runMain } from '../common/stack';
import { runFanOut, type FanOutOptions } from './fan-out';
import { runSeatRush, type RushOptions } from './seat-rush';
import { chooseShowtimes } from './showtimes';
import { isInterrupted, withSeatTargets } from './targets';

interface Options extends RushOptions, FanOutOptions {
  only: 'rush' | 'fanout' | undefined;
  /** Gateway processes, each in front of its own cinemas process (0: the one stack process). */
  gateways: number;
  /** With `gateways`: run the gateway and cinemas processes with --cpu-prof into this folder. */
  profileDir: string | undefined;
}

const USAGE = `usage: node dist/bench/seats/run.js [--only rush|fanout] [options]
  --only rush|fanout      run one part only (default: both, rush first)
  --users N               rush: distinct users, one HoldSeats each (default 500)
  --rush-concurrency N    rush: requests in flight at most (default: all of them at once)
  --warmup S              rush: seconds of unmeasured hold/release on another showtime first (default 3)
  --subscribers N         fanout: SeatUpdates subscribers (default 1000)
  --signed-in N           fanout: of which signed in, each a distinct user (default 100)
  --changes N             fanout: hold/release changes, one after another (default 200)
  --batch N               fanout: subscribers opened at a time, awaiting connection_ack (default 50)
  --interval MS           fanout: pause between changes (default 0: back to back)
  --no-floor              fanout: skip the floor (the same frames from a bare graphql-ws
                          server to as many subscribers, measured after the fan-out)
  --seed N                random seat choice (default 1)
  --gateways N            N gateway processes, each in front of its own cinemas process, on a
                          stack process; rush users and subscribers spread over them
                          (default 0: gateway and subgraphs in one stack process)
  --profile DIR           with --gateways: the gateway and cinemas processes run with
                          --cpu-prof, their profiles written to DIR`;

function parseOptions(argv: string[]): Options {
  const options: Options = {
    only: undefined,
    gateways: 0,
    profileDir: undefined,
    users: 500,
    rushConcurrency: undefined,
    subscribers: 1000,
    signedIn: 100,
    changes: 200,
    batch: 50,
    intervalMs: 0,
    floor: true,
    warmupSeconds: 3,
    seed: 1,
  };
  parseFlags(argv, USAGE, {
    '--only': (v) => {
      const only = v.string();
      if (only !== 'rush' && only !== 'fanout') throw new Error(`--only rush|fanout\n${USAGE}`);
      options.only = only;
    },
    '--users': (v) => void (options.users = atLeastOne(v.number())),
    '--rush-concurrency': (v) => void (options.rushConcurrency = atLeastOne(v.number())),
    '--warmup': (v) => void (options.warmupSeconds = v.number()),
    '--subscribers': (v) => void (options.subscribers = atLeastOne(v.number())),
    '--signed-in': (v) => void (options.signedIn = Math.round(v.number())),
    '--changes': (v) => void (options.changes = atLeastOne(v.number())),
    '--batch': (v) => void (options.batch = atLeastOne(v.number())),
    '--interval': (v) => void (options.intervalMs = v.number()),
    '--no-floor': () => void (options.floor = false),
    '--seed': (v) => void (options.seed = Math.round(v.number())),
    '--gateways': (v) => void (options.gateways = Math.round(v.number())),
    '--profile': (v) => void (options.profileDir = resolve(v.string())),
  });
  options.signedIn = Math.min(options.signedIn, options.subscribers);
  return options;
}

async function main(): Promise<void> {
  const options = parseOptions(process.argv.slice(2));
  const choice = chooseShowtimes(buildDemoPlan());

  const loadBefore = loadavg();
  const busyBeforePercent = await busyBeforeStart(loadBefore);

  // The caps that protect a real deployment would measure themselves here (one client
  // address, one mutator user changing seats back to back), as bench/common/stack-process.ts.
  const env = {
    DATABASE_POOL_SIZE: process.env.BENCH_DATABASE_POOL_SIZE ?? '10',
    WS_MAX_SOCKETS_PER_ADDRESS: '0',
    SEAT_HOLD_RATE_PER_MINUTE: '100000',
    SEAT_HOLD_COOLDOWN_SECONDS: '0',
  };
  await withSeatTargets(
    options.gateways,
    env,
    async (targets) => {
      const { mint } = targets;
      const finishedParts: Record<string, unknown> = {};
      if (options.only !== 'fanout') {
        const rush = await runSeatRush(targets.rush, options, mint, choice);
        finishedParts.rush = rush.result;
        console.log(`\n${rush.text}`);
      }
      if (isInterrupted()) return;
      if (options.only !== 'rush') {
        const fanout = await runFanOut(targets.fanout, options, mint, choice);
        finishedParts.fanout = fanout.result;
        console.log(`\n${fanout.text}`);
      }
      if (isInterrupted()) return;
      const loadAfter = loadavg();
      console.log(
        `\n(${targets.topology}; load average 1/5/15 min: ${loads(loadBefore)} before, ${loads(loadAfter)} after; ${availableParallelism()} cores)`,
      );

      const finishedAt = new Date();
      const report = {
        benchmark: 'seats',
        finishedAt: finishedAt.toISOString(),
        settings: { ...options, databasePoolSize: targets.databasePoolSize },
        topology: targets.topology,
        machine: machineInfo(busyBeforePercent, { before: loadBefore, after: loadAfter }),
        ...finishedParts,
      };
      writeResults('seats', finishedAt, report);
    },
    options.profileDir,
  );
}

runMain(main);

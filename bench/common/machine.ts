/** The machine under the benchmarks: CPU accounting, the busy check, what is recorded of it. */
import { availableParallelism, cpus } from 'node:os';
import type { Measurement } from './load';
import { loads, round } from './report';
import type { StackHandle } from './stack';

type HostTimes = { busy: number; total: number };

/** Busy and total CPU time of all cores since boot, from os.cpus(). */
export function hostTimes(): HostTimes {
  let busy = 0;
  let total = 0;
  for (const { times } of cpus()) {
    const sum = times.user + times.nice + times.sys + times.irq + times.idle;
    total += sum;
    busy += sum - times.idle;
  }
  return { busy, total };
}

/** The whole machine busy between two readings, in % of all cores. */
export const hostBusyPercent = (before: HostTimes, after: HostTimes): number =>
  (100 * (after.busy - before.busy)) / (after.total - before.total || 1);

/**
 * Other work on the machine skews everything: how busy it is over one second before the
 * benchmark, with a warning above 20% (naming the load average when given).
 */
export async function busyBeforeStart(loadBefore?: number[]): Promise<number> {
  const before = hostTimes();
  await new Promise((r) => setTimeout(r, 1000));
  const busyPercent = hostBusyPercent(before, hostTimes());
  if (busyPercent > 20) {
    const load = loadBefore ? ` (load average ${loads(loadBefore)})` : '';
    process.stderr.write(
      `bench: WARNING: the machine is already ${busyPercent.toFixed(0)}% busy before the benchmark${load}; figures will be skewed\n`,
    );
  }
  return busyPercent;
}

export interface CpuFigures {
  /** CPU time of the stack process over the window, in % of one core. */
  stackCpuPercent: number;
  /** CPU time of this process (the clients), in % of one core. */
  clientCpuPercent: number;
  /** The whole machine (PostgreSQL, Redis, everything) busy, in % of all cores. */
  hostCpuPercent: number;
}

/** Starts a window of wall time; the function it answers ends it with the CPU used in it. */
export async function cpuWindow(
  stack: Pick<StackHandle, 'cpuMicros'>,
): Promise<() => Promise<CpuFigures>> {
  const stackBefore = await stack.cpuMicros();
  const clientBefore = process.cpuUsage();
  const hostBefore = hostTimes();
  const wallBefore = process.hrtime.bigint();
  return async () => {
    const wallMicros = Number(process.hrtime.bigint() - wallBefore) / 1e3;
    const client = process.cpuUsage(clientBefore);
    const hostAfter = hostTimes();
    const stackMicros = (await stack.cpuMicros()) - stackBefore;
    return {
      stackCpuPercent: (100 * stackMicros) / wallMicros,
      clientCpuPercent: (100 * (client.user + client.system)) / wallMicros,
      hostCpuPercent: hostBusyPercent(hostBefore, hostAfter),
    };
  };
}

export type LoadResult = Measurement & CpuFigures;

/**
 * `run(seconds)` unmeasured for the warm-up, then measured with the CPU it costs; progress
 * and errors on stderr.
 */
export async function measureLoad(
  label: string,
  stack: Pick<StackHandle, 'cpuMicros'>,
  run: (seconds: number) => Promise<Measurement>,
  options: { warmupSeconds: number; durationSeconds: number },
): Promise<LoadResult> {
  process.stderr.write(`bench: ${label}: ${options.warmupSeconds} s warm-up, `);
  if (options.warmupSeconds > 0) await run(options.warmupSeconds);
  process.stderr.write(`${options.durationSeconds} s measured... `);
  const window = await cpuWindow(stack);
  const result = await run(options.durationSeconds);
  const cpu = await window();
  process.stderr.write(`${result.requestsPerSecond.toFixed(0)} req/s\n`);
  if (result.errors > 0) {
    process.stderr.write(`bench: ${label}: ${result.errors} errors, first: ${result.firstError}\n`);
  }
  return { ...result, ...cpu };
}

/** The `machine` section of a results file. */
export function machineInfo(
  busyBeforePercent: number,
  load?: { before: number[]; after: number[] },
) {
  return {
    node: process.version,
    platform: `${process.platform}-${process.arch}`,
    cores: availableParallelism(),
    cpu: cpus()[0]?.model ?? 'unknown',
    busyBeforePercent: round(busyBeforePercent, 1),
    ...(load
      ? {
          loadAverageBefore: load.before.map((x) => round(x, 2)),
          loadAverageAfter: load.after.map((x) => round(x, 2)),
        }
      : {}),
  };
}

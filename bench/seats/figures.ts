/** The seats benchmark's figures: latency statistics, how they are printed and recorded. */
import { availableParallelism } from 'node:os';
import { percentile } from '../common/load';
import { cpuWindow as rawCpuWindow, type CpuFigures } from '../common/machine';
import { loads, round } from '../common/report';
import type { StackHandle } from '../common/stack';

/** A number as printed: `-` when there is none (no samples). */
export const fmt = (n: number, digits = 1): string =>
  Number.isFinite(n) ? n.toFixed(digits) : '-';
export const mib = (bytes: number): number => bytes / (1024 * 1024);

export interface LatencyStats {
  count: number;
  p50Ms: number;
  p90Ms: number;
  p99Ms: number;
  maxMs: number;
  meanMs: number;
}

export function latencyStats(samplesMs: number[]): LatencyStats {
  const sorted = Float64Array.from(samplesMs).sort();
  return {
    count: sorted.length,
    p50Ms: percentile(sorted, 50),
    p90Ms: percentile(sorted, 90),
    p99Ms: percentile(sorted, 99),
    maxMs: sorted.length ? sorted[sorted.length - 1] : NaN,
    meanMs: sorted.length ? samplesMs.reduce((a, b) => a + b, 0) / sorted.length : NaN,
  };
}

/** Latency statistics as recorded in the results file. */
export const statsJson = (s: LatencyStats) => ({
  count: s.count,
  p50Ms: round(s.p50Ms, 3),
  p90Ms: round(s.p90Ms, 3),
  p99Ms: round(s.p99Ms, 3),
  maxMs: round(s.maxMs, 3),
  meanMs: round(s.meanMs, 3),
});

/** CPU figures as recorded: rounded, null when unknown. */
export type RoundedCpu = { [K in keyof CpuFigures]: number | null };

/** CPU of the stack, this process and the whole machine over a stretch of wall time, rounded. */
export async function cpuWindow(stack: StackHandle): Promise<() => Promise<RoundedCpu>> {
  const end = await rawCpuWindow(stack);
  return async () => {
    const cpu = await end();
    return {
      stackCpuPercent: round(cpu.stackCpuPercent, 1),
      clientCpuPercent: round(cpu.clientCpuPercent, 1),
      hostCpuPercent: round(cpu.hostCpuPercent, 1),
    };
  };
}

/** The last line of each part: the CPU it cost and the load average around it. */
export const cpuLine = (cpu: RoundedCpu, loadBefore: number[], loadAfter: number[]): string =>
  `  cpu: stack ${fmt(cpu.stackCpuPercent ?? NaN, 0)}% of one core, client ${fmt(cpu.clientCpuPercent ?? NaN, 0)}%, ` +
  `host ${fmt(cpu.hostCpuPercent ?? NaN, 0)}% of ${availableParallelism()} cores; ` +
  `load average ${loads(loadBefore)} before, ${loads(loadAfter)} after`;

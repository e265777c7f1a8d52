/** Figures as the benchmarks print and record them, and the results file. */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { projectRoot } from '../../runtime/paths';
import type { Measurement } from './load';

/** Rounded for the results file; null when not a finite number (JSON has no NaN). */
export const round = (n: number, digits = 2) =>
  Number.isFinite(n) ? Number(n.toFixed(digits)) : null;

/** os.loadavg() as printed: `1.00 / 0.50 / 0.25`. */
export const loads = (l: number[]) => l.map((x) => x.toFixed(2)).join(' / ');

/** A closed-loop measurement as recorded in the results file. */
export const measurementJson = (r: Measurement) => ({
  requestsPerSecond: round(r.requestsPerSecond, 1),
  p50Ms: round(r.p50Ms, 3),
  p99Ms: round(r.p99Ms, 3),
  meanMs: round(r.meanMs, 3),
  maxMs: round(r.maxMs, 3),
  completed: r.completed,
  errors: r.errors,
  ...(r.firstError ? { firstError: r.firstError } : {}),
  elapsedSeconds: round(r.elapsedSeconds, 3),
});

/** Writes bench/results/<benchmark>-<timestamp>.json and says where. */
export function writeResults(benchmark: string, finishedAt: Date, report: object): void {
  const dir = join(projectRoot(__dirname), 'bench', 'results');
  mkdirSync(dir, { recursive: true });
  const file = join(dir, `${benchmark}-${finishedAt.toISOString().replace(/[:.]/g, '-')}.json`);
  writeFileSync(file, JSON.stringify(report, null, 2) + '\n');
  console.log(`\nwritten to ${file}`);
}

/** A measurement's table cells: req/s, p50 ms, p99 ms, errors. */
export const measurementCells = (r: Measurement): string[] => [
  r.requestsPerSecond.toFixed(0),
  r.p50Ms.toFixed(2),
  r.p99Ms.toFixed(2),
  String(r.errors),
];

/** The peers benchmark's figures: one measurement, the rounds of a row combined, the tables. */
import type { Measurement } from '../common/load';
import { measurementJson, round } from '../common/report';
import type { QueryName, VariablesKind } from './mix';

/** One gateway's measurement of one row in one round, with the CPU it cost. */
export interface PeerMeasurement extends Measurement {
  round: number;
  /** Whether this gateway went first in its row this round. */
  first: boolean;
  /** CPU of the gateway process over the measured window, in ms per successful request. */
  gatewayCpuMsPerRequest: number;
  /** CPU of the four subgraph processes over the window, in ms per successful request. */
  subgraphsCpuMsPerRequest: number;
  /** The gateway process's CPU, in % of one core. */
  gatewayCpuPercent: number;
  subgraphsCpuPercent: number;
  /** The load generator (this process), in % of one core. */
  clientCpuPercent: number;
  /** The whole machine, in % of all cores. */
  hostCpuPercent: number;
}

export interface RowFigures {
  query: QueryName;
  variables: VariablesKind;
  describe: string;
  connections: number;
  ours: PeerMeasurement[];
  hive: PeerMeasurement[];
}

const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / (xs.length || NaN);

/** A gateway's rounds of a row: means of req/s, p50, p99 and CPU; errors summed. */
export function combined(ms: readonly PeerMeasurement[]) {
  return {
    requestsPerSecond: mean(ms.map((m) => m.requestsPerSecond)),
    p50Ms: mean(ms.map((m) => m.p50Ms)),
    p99Ms: mean(ms.map((m) => m.p99Ms)),
    errors: ms.reduce((n, m) => n + m.errors, 0),
    gatewayCpuMsPerRequest: mean(ms.map((m) => m.gatewayCpuMsPerRequest)),
    subgraphsCpuMsPerRequest: mean(ms.map((m) => m.subgraphsCpuMsPerRequest)),
    gatewayCpuPercent: mean(ms.map((m) => m.gatewayCpuPercent)),
    hostCpuPercent: mean(ms.map((m) => m.hostCpuPercent)),
  };
}

export const ratioOf = (row: RowFigures) =>
  combined(row.ours).requestsPerSecond / combined(row.hive).requestsPerSecond;

function render(head: string[], rows: string[][], leftColumns: number): string {
  const widths = head.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i].length)));
  const line = (cells: string[]) =>
    cells
      .map((c, i) => (i < leftColumns ? c.padEnd(widths[i]) : c.padStart(widths[i])))
      .join('  ')
      .trimEnd();
  return [line(head), line(widths.map((w) => '-'.repeat(w))), ...rows.map(line)].join('\n');
}

const fixed = (n: number, digits = 0) => (Number.isFinite(n) ? n.toFixed(digits) : '-');

/** The main table: throughput and latency of both gateways, and the ratio ours / Hive. */
export function throughputTable(rows: readonly RowFigures[]): string {
  return render(
    [
      'query',
      'variables',
      'conns',
      'ours req/s',
      'p50 ms',
      'p99 ms',
      'Hive req/s',
      'p50 ms',
      'p99 ms',
      'ours/Hive',
    ],
    rows.map((row) => {
      const ours = combined(row.ours);
      const hive = combined(row.hive);
      const flag = (c: { errors: number }) => (c.errors > 0 ? '*' : '');
      return [
        row.query,
        row.variables,
        String(row.connections),
        fixed(ours.requestsPerSecond) + flag(ours),
        fixed(ours.p50Ms),
        fixed(ours.p99Ms),
        fixed(hive.requestsPerSecond) + flag(hive),
        fixed(hive.p50Ms),
        fixed(hive.p99Ms),
        fixed(ratioOf(row), 2),
      ];
    }),
    2,
  );
}

/** Where the CPU went: per successful request, in each gateway and in the subgraphs behind it. */
export function cpuTable(rows: readonly RowFigures[]): string {
  return render(
    [
      'query',
      'variables',
      'conns',
      'ours gw ms/req',
      'subgraphs',
      'gw cpu',
      'Hive gw ms/req',
      'subgraphs',
      'gw cpu',
      'host cpu',
    ],
    rows.map((row) => {
      const ours = combined(row.ours);
      const hive = combined(row.hive);
      return [
        row.query,
        row.variables,
        String(row.connections),
        fixed(ours.gatewayCpuMsPerRequest, 2),
        fixed(ours.subgraphsCpuMsPerRequest, 2),
        `${fixed(ours.gatewayCpuPercent)}%`,
        fixed(hive.gatewayCpuMsPerRequest, 2),
        fixed(hive.subgraphsCpuMsPerRequest, 2),
        `${fixed(hive.gatewayCpuPercent)}%`,
        `${fixed(mean([ours.hostCpuPercent, hive.hostCpuPercent]))}%`,
      ];
    }),
    2,
  );
}

const measurementRecord = (m: PeerMeasurement) => ({
  round: m.round,
  first: m.first,
  ...measurementJson(m),
  gatewayCpuMsPerRequest: round(m.gatewayCpuMsPerRequest, 3),
  subgraphsCpuMsPerRequest: round(m.subgraphsCpuMsPerRequest, 3),
  gatewayCpuPercent: round(m.gatewayCpuPercent, 1),
  subgraphsCpuPercent: round(m.subgraphsCpuPercent, 1),
  clientCpuPercent: round(m.clientCpuPercent, 1),
  hostCpuPercent: round(m.hostCpuPercent, 1),
});

const combinedRecord = (ms: readonly PeerMeasurement[]) => {
  const c = combined(ms);
  return {
    requestsPerSecond: round(c.requestsPerSecond, 1),
    p50Ms: round(c.p50Ms, 2),
    p99Ms: round(c.p99Ms, 2),
    errors: c.errors,
    gatewayCpuMsPerRequest: round(c.gatewayCpuMsPerRequest, 3),
    subgraphsCpuMsPerRequest: round(c.subgraphsCpuMsPerRequest, 3),
  };
};

/** A row as recorded in the results file: combined figures, then every round. */
export const rowRecord = (row: RowFigures) => ({
  query: row.query,
  variables: row.variables,
  describe: row.describe,
  connections: row.connections,
  ratioOursOverHive: round(ratioOf(row), 3),
  ours: { ...combinedRecord(row.ours), rounds: row.ours.map(measurementRecord) },
  hive: { ...combinedRecord(row.hive), rounds: row.hive.map(measurementRecord) },
});

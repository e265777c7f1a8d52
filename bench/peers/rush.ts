/**
 * The seat rush (`bench/seats/seat-rush.ts`) through each gateway of the peer stack: 1,000
 * users, one HoldSeats each, all at once, from the seat map page (each user loaded SeatMap
 * with their token first), on two upcoming showtimes of the same hall, one per gateway, the
 * same cinemas process behind both. Each run is checked against the seat map as
 * `bench:seats` checks it (no seat held twice). What it prints: p50/p99 per gateway and the
 * ratio ours / Hive.
 */
import { createPrivateKey } from 'node:crypto';
import { buildDemoPlan } from '../../scripts/seed/demo-plan';
import { mintToken } from '../../scripts/dev-token';
import { hostBusyPercent, hostTimes } from '../common/machine';
import { round } from '../common/report';
import { fmt } from '../seats/figures';
import { runSeatRush } from '../seats/seat-rush';
import { chooseShowtimes } from '../seats/showtimes';
import { AUTHORIZED_PARTY, type PeerGateway, type PeerStack } from './peer-stack';

export async function rushBothGateways(stack: PeerStack, users: number) {
  const choice = chooseShowtimes(buildDemoPlan());
  // A parsed key: minting a thousand tokens would otherwise parse the PEM a thousand times.
  const key = createPrivateKey(stack.privateKeyPem);
  const mint = (userId: string) =>
    mintToken(key as unknown as string, { userId, azp: AUTHORIZED_PARTY, expiresIn: 3 * 3600 });
  const rushThrough = (gateway: PeerGateway, part: typeof choice.rush) => {
    const cpuWindow = () => {
      const servers = () =>
        gateway.process.cpuMicros() + stack.subgraphs.reduce((s, p) => s + p.cpuMicros(), 0);
      const before = servers();
      const client = process.cpuUsage();
      const host = hostTimes();
      const wall = performance.now();
      const end = () => {
        const wallMicros = (performance.now() - wall) * 1000;
        const used = process.cpuUsage(client);
        return Promise.resolve({
          stackCpuPercent: round((100 * (servers() - before)) / wallMicros, 1),
          clientCpuPercent: round((100 * (used.user + used.system)) / wallMicros, 1),
          hostCpuPercent: round(hostBusyPercent(host, hostTimes()), 1),
        });
      };
      return Promise.resolve(end);
    };
    return runSeatRush(
      { gatewayUrls: [gateway.url], cpuWindow },
      {
        users,
        rushConcurrency: undefined,
        warmupSeconds: 3,
        seed: 1,
        p99TargetMs: 1000,
        fromPage: true,
        userPrefix: `bench-rush-${gateway.name}-`,
      },
      mint,
      choice,
      part,
    );
  };
  const ours = await rushThrough(stack.ours, choice.rush);
  const hive = await rushThrough(stack.hive, choice.rushAgain);
  const p99 = (r: typeof ours) => r.result.latency.p99Ms ?? NaN;
  const lines = [
    `HoldSeats rush: ${users} users at once from the seat map page, through one gateway, one cinemas process behind it`,
    ...(
      [
        ['ours', ours],
        ['Hive', hive],
      ] as const
    ).map(([label, r]) => {
      const x = r.result;
      return (
        `  ${label.padEnd(5)} wall ${fmt(x.wallSeconds ?? NaN, 2)} s   p50 ${fmt(x.latency.p50Ms ?? NaN)} ms   p99 ${fmt(x.latency.p99Ms ?? NaN)} ms   ` +
        `${x.outcomes.success} held, ${x.outcomes.SEAT_UNAVAILABLE} SEAT_UNAVAILABLE, ${x.outcomes.other} other; ` +
        `${x.violationCount} violations; servers ${fmt(x.cpu.stackCpuPercent ?? NaN, 0)}% of one core`
      );
    }),
    `  p99 ours / Hive ${fmt(p99(ours) / p99(hive), 2)} (below 1: ours answered the rush sooner)`,
  ];
  return { result: { ours: ours.result, hive: hive.result }, text: lines.join('\n') };
}

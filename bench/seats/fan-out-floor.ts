/**
 * The fan-out's floor, measured in the same run as the fan-out, with the same client: the
 * same number of subscribers on a bare `graphql-transport-ws` server (`floor-server.ts`, a
 * process of its own) that writes an already serialised event to every socket with the
 * gateway's frame writer. No mutation, Redis, federation or execution comes before the
 * writes, so what it measures is what writing the frames and reading them back costs on
 * this machine: the fan-out's latency can come near it, never under it. Each event is sent
 * once the one before has reached every subscriber (one change alone, as the goal reads),
 * with `intervalMs` more between them.
 */
import { fork, type ChildProcess } from 'node:child_process';
import { join } from 'node:path';
import { SERVER_NODE_OPTIONS } from '../../runtime/node-options';
import { deferred } from '../../tests/support/wait-for';
import { sleep } from '../common/pool';
import { round } from '../common/report';
import { tallyDeliveries, waitForDeliveries } from './fan-out-deliveries';
import { fmt, latencyStats, statsJson } from './figures';
import type { SeatEventPayload } from './seat-client';
import { openSubscribers } from './timed-subscriber';

/** Unmeasured events first (the fan-out has its probe). */
const WARM_UP_EVENTS = 5;

export interface FloorOptions {
  /** Server processes (as many as the fan-out's gateways), subscribers spread over them. */
  servers: number;
  subscribers: number;
  batch: number;
  changes: number;
  intervalMs: number;
}

/** Runs the floor; answers its results-file section and its printed lines. */
export async function runFanOutFloor(
  options: FloorOptions,
  sample: SeatEventPayload,
  mint: (userId: string) => string,
) {
  const children = Array.from({ length: options.servers }, () =>
    fork(join(__dirname, 'floor-server.js'), [], {
      stdio: 'inherit',
      // Node's options as our servers run with: the floor is what any of them would show.
      execArgv: [...process.execArgv, ...SERVER_NODE_OPTIONS],
    }),
  );
  const reply = <T>(child: ChildProcess, key: string, send?: object) =>
    new Promise<T>((resolve, reject) => {
      const onMessage = (message: Record<string, unknown>) => {
        if (!(key in message)) return;
        child.off('message', onMessage);
        child.off('exit', onExit);
        resolve(message[key] as T);
      };
      const onExit = (code: number | null) => reject(new Error(`floor server exited (${code})`));
      child.on('message', onMessage);
      child.once('exit', onExit);
      if (send) child.send(send);
    });
  const cpuMicros = async () =>
    (await Promise.all(children.map((c) => reply<number>(c, 'cpuMicros', { cpu: true })))).reduce(
      (a, b) => a + b,
      0,
    );
  try {
    const ports = await Promise.all(children.map((c) => reply<number>(c, 'listening')));
    const arrivals = new Map<number, number>();
    /** The event being waited for, resolved when it has reached every live subscriber. */
    let awaited: { version: number; reached: ReturnType<typeof deferred<void>> } | undefined;
    let live = Infinity;
    const opened = await openSubscribers(
      ports.map((port) => `ws://127.0.0.1:${port}/graphql`),
      sample.showtimeId,
      { subscribers: options.subscribers, signedIn: 0, batch: options.batch },
      mint,
      (version) => {
        const count = (arrivals.get(version) ?? 0) + 1;
        arrivals.set(version, count);
        if (awaited?.version === version && count >= live) awaited.reached.resolve();
      },
    );
    const { subscribers } = opened;
    live = subscribers.length - opened.failedToConnect;
    if (live === 0) throw new Error('floor: no subscriber could connect');
    const base = 1_000_000;
    const sentAt = new Map<number, number>();
    /** Sends one event to every server and waits until it has reached every subscriber. */
    const emitAndWait = async (version: number) => {
      const emit = JSON.stringify({ data: { seatUpdates: { ...sample, version } } });
      const t0 = performance.now();
      if (version > base) sentAt.set(version, t0);
      const dead = children.find((child) => child.exitCode !== null || child.signalCode !== null);
      if (dead) throw new Error(`floor server exited (${dead.exitCode ?? dead.signalCode})`);
      awaited = { version, reached: deferred() };
      for (const child of children) child.send({ emit });
      // A delivery that never comes is counted missing by the tally; the run goes on.
      await awaited.reached.wait(`floor event ${version}`).catch(() => undefined);
    };
    // Not counted: as the fan-out's probe events, a few first so that the servers' write
    // loop is compiled (versions below the measured ones: the tally ignores them).
    for (let k = WARM_UP_EVENTS; k >= 1; k--) await emitAndWait(base - k);
    const cpuBefore = await cpuMicros();
    process.stderr.write(`bench: fanout floor: ${options.changes} events, one at a time... `);
    for (let k = 1; k <= options.changes; k++) {
      await emitAndWait(base + k);
      if (options.intervalMs > 0) await sleep(options.intervalMs);
    }
    await waitForDeliveries(live * options.changes, () => {
      let sum = 0;
      for (const v of sentAt.keys()) sum += arrivals.get(v) ?? 0;
      return sum;
    });
    const cpuUsed = (await cpuMicros()) - cpuBefore;
    process.stderr.write('done\n');
    const tally = tallyDeliveries(subscribers, sentAt, base, options.changes);
    await Promise.all(subscribers.map((s) => s.close().catch(() => undefined)));
    const stats = latencyStats(tally.all);
    const spread = latencyStats(tally.perEventSpread);
    const perDeliveryMicros = cpuUsed / Math.max(1, tally.received);
    const result = {
      servers: options.servers,
      subscribers: live,
      events: options.changes,
      expected: live * options.changes,
      received: tally.received,
      latency: statsJson(stats),
      fanOutSpreadPerEvent: statsJson(spread),
      cpuPerDeliveryMicros: round(perDeliveryMicros, 1),
    };
    const lines = [
      `  floor              ${live} subscribers on ${options.servers === 1 ? 'a bare graphql-ws server' : `${options.servers} bare graphql-ws servers`} writing the same frames (${options.changes} events, one at a time): ` +
        `${tally.received}/${live * options.changes} received; p50 ${fmt(stats.p50Ms)} ms   p99 ${fmt(stats.p99Ms)} ms; ` +
        `first to last p50 ${fmt(spread.p50Ms)} ms; ${fmt(perDeliveryMicros)} µs of CPU per delivery`,
    ];
    return { result, lines, stats, perDeliveryMicros };
  } finally {
    for (const child of children) child.kill();
  }
}

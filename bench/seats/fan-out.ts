/**
 * The fan-out: M `SeatUpdates` subscribers (1,000: 900 anonymous, 100 signed in) on one
 * showtime, spread over one or more gateways, then K (200) hold/release changes one after
 * another through the first. Reports per-delivery latency (mutation sent → event received,
 * matched by version), expected vs received deliveries (none lost, duplicated or out of
 * order), and the memory per subscriber of the processes that hold the subscribers.
 */
import { loadavg } from 'node:os';
import { webSocketUrl } from '../../tests/support/ws-client';
import { pool, sleep } from '../common/pool';
import { round } from '../common/report';
import { makeChanges } from './fan-out-changes';
import { tallyDeliveries, waitForDeliveries } from './fan-out-deliveries';
import { runFanOutFloor } from './fan-out-floor';
import { cpuLine, fmt, latencyStats, mib, statsJson, type RoundedCpu } from './figures';
import {
  describeErrors,
  OPS,
  post,
  seatMap,
  type HoldData,
  type ReleaseData,
  type SeatEventPayload,
} from './seat-client';
import type { ShowtimeChoice } from './showtimes';
import { openSubscribers } from './timed-subscriber';

/** The issue's target: printed as met / not met, never asserted. */
const FANOUT_P99_TARGET_MS = 100;

/** Memory of the processes that hold the subscribers (summed over them). */
export interface FanOutMemory {
  rss: number;
  heapUsed: number;
  external: number;
  /** Read after a full GC. */
  gcRan: boolean;
}

/** Where the fan-out goes: gateways (subscribers spread over them in turn) and probes. */
export interface FanOutTarget {
  /** Subscribers are spread over these in turn; changes go through the first. */
  readonly gatewayUrls: readonly string[];
  /** Memory of the processes holding the subscribers (the gateways; the stack process). */
  memory(): Promise<FanOutMemory>;
  /** How many Redis subscribers listen to the showtime's seat events (-1: unknown). */
  redisSubscribers(showtimeId: string): Promise<number>;
  /** Starts a CPU window over the server processes; the function it answers ends it. */
  cpuWindow(): Promise<() => Promise<RoundedCpu>>;
  /** CPU time so far (µs) of the processes that deliver the events (the gateways). */
  deliveryCpuMicros(): Promise<number>;
}

export interface FanOutOptions {
  /** SeatUpdates subscribers. */
  subscribers: number;
  /** Of which signed in, each a distinct user. */
  signedIn: number;
  /** Hold/release changes, one after another. */
  changes: number;
  /** Subscribers opened at a time, awaiting connection_ack. */
  batch: number;
  /** Pause between changes (0: back to back). */
  intervalMs: number;
  /** Then measure the floor (`fan-out-floor.ts`) with as many subscribers, and compare. */
  floor: boolean;
}

/**
 * The stack's memory after a full GC, read twice a second apart (RSS lags behind what the GC
 * frees); the second reading counts.
 */
async function settledMemory(target: FanOutTarget): Promise<FanOutMemory> {
  await target.memory();
  await sleep(1000);
  return target.memory();
}

/** Runs the fan-out; answers its results-file section and its printed report. */
export async function runFanOut(
  target: FanOutTarget,
  options: FanOutOptions,
  mint: (userId: string) => string,
  choice: ShowtimeChoice,
) {
  const gatewayUrl = target.gatewayUrls[0];
  const wsUrls = target.gatewayUrls.map(webSocketUrl);
  const { showtime } = choice.fanout;
  const n = options.subscribers;

  const before = await seatMap(gatewayUrl, showtime.id);
  const seat = before.seatMap.seats.find((s) => s.status === 'AVAILABLE');
  if (!seat) throw new Error(`fanout: no AVAILABLE seat in showtime ${showtime.id}`);
  const mutator = 'bench-fanout-mutator';
  const mutatorToken = mint(mutator);
  process.stderr.write(
    `bench: fanout: showtime ${showtime.id} (${before.movie.title}), ${before.hall.cinema.name} ${before.hall.name}; ` +
      `changes: user ${mutator} holds/releases seat ${seat.row}${seat.number}\n`,
  );

  // Per-version arrival counts, to know when an event has reached everyone.
  const arrivals = new Map<number, number>();
  const contentProblems: string[] = [];
  /** Expected seat status per version (filled as changes are made). */
  const expectedStatus = new Map<number, string>();
  /** An event as subscribers got it: the floor writes the same one. */
  let sample: SeatEventPayload | undefined;
  const onEvent = (version: number, payload: SeatEventPayload) => {
    arrivals.set(version, (arrivals.get(version) ?? 0) + 1);
    sample = payload;
    if (contentProblems.length < 20) {
      const s = payload.seats.find((x) => x.seatId === seat.seatId);
      const want = expectedStatus.get(version);
      if (payload.showtimeId !== showtime.id)
        contentProblems.push(`v${version}: showtimeId ${payload.showtimeId}`);
      else if (!s) contentProblems.push(`v${version}: the seat is not in the event`);
      else if (want && s.status !== want)
        contentProblems.push(`v${version}: ${s.status}, expected ${want}`);
      else if (s.heldByMe)
        contentProblems.push(`v${version}: heldByMe true for a subscriber who is not the holder`);
      else if (!payload.showtime?.movie?.title)
        contentProblems.push(`v${version}: showtime.movie.title missing`);
    }
  };
  const waitForArrivals = async (version: number, want: number, timeoutMs: number) => {
    const t0 = performance.now();
    while ((arrivals.get(version) ?? 0) < want && performance.now() - t0 < timeoutMs)
      await sleep(20);
    return { reached: arrivals.get(version) ?? 0, ms: performance.now() - t0 };
  };

  // The probe is made by another user, so the measured user's 10-minute hold window starts
  // with the first measured change (an expiry in the middle would add an event).
  const probeToken = mint('bench-fanout-probe');
  const hold = (token = mutatorToken) =>
    post<HoldData>(
      gatewayUrl,
      OPS.hold,
      { showtimeId: showtime.id, seatIds: [seat.seatId] },
      token,
    );
  const release = (token = mutatorToken) =>
    post<ReleaseData>(
      gatewayUrl,
      OPS.release,
      { showtimeId: showtime.id, seatIds: [seat.seatId] },
      token,
    );

  // ---- Memory before, then open the subscribers in batches.
  const memBefore = await settledMemory(target);
  const redisBefore = await target.redisSubscribers(showtime.id);
  const loadBefore = loadavg();
  const opened = await openSubscribers(wsUrls, showtime.id, options, mint, onEvent);
  const { subscribers, connectSeconds, failedToConnect, connectErrors, emfile } = opened;
  const { signedInCount } = opened;

  // connection_ack does not mean the subscription is live upstream: a probe change (hold,
  // then release; not counted) must reach every subscriber first.
  const live = n - failedToConnect;
  const probe: Array<{ version: number; reached: number; ms: number }> = [];
  for (const step of [hold, release]) {
    const vBefore = (await seatMap(gatewayUrl, showtime.id)).seatMap.version;
    const reply = await step(probeToken);
    if (reply.errors?.length) throw new Error(`fanout probe failed: ${describeErrors(reply)}`);
    const r = await waitForArrivals(vBefore + 1, live, 60_000);
    probe.push({ version: vBefore + 1, ...r });
  }
  process.stderr.write(
    `bench: fanout: probe events reached ${probe.map((p) => `${p.reached}/${live} in ${p.ms.toFixed(0)} ms`).join(', ')}\n`,
  );

  const memConnected = await settledMemory(target);
  const redisConnected = await target.redisSubscribers(showtime.id);

  // ---- The measured changes.
  const base = (await seatMap(gatewayUrl, showtime.id)).seatMap.version;
  const cpu = await target.cpuWindow();
  const deliveryCpuBefore = await target.deliveryCpuMicros();
  process.stderr.write(`bench: fanout: ${options.changes} changes from version ${base}... `);
  const changesStart = performance.now();
  const changes = await makeChanges({
    gatewayUrl,
    showtimeId: showtime.id,
    seatId: seat.seatId,
    mutatorToken,
    hold: () => hold(),
    release: () => release(),
    base,
    expectedStatus,
    options,
  });
  const { sentAtByVersion, mutationErrors, effective, appliedDespiteError } = changes;
  const { unexplainedVersions } = changes;
  const changesSeconds = (performance.now() - changesStart) / 1000;
  // Events are matched to changes by version: anything else changing this showtime's seats
  // (an expiry) would shift the versions.
  const versionAfterChanges = (await seatMap(gatewayUrl, showtime.id)).seatMap.version;
  if (versionAfterChanges !== changes.version || unexplainedVersions > 0) {
    process.stderr.write(
      `\nbench: WARNING: fanout: version ${base} → ${versionAfterChanges} for ${effective} changes; events may be matched to the wrong change\n`,
    );
  }
  process.stderr.write(`${changesSeconds.toFixed(2)} s; waiting for deliveries`);

  // ---- Wait until every subscriber has every event, or nothing arrives for 20 s.
  const expected = live * effective;
  await waitForDeliveries(expected, () => {
    let sum = 0;
    for (const v of sentAtByVersion.keys()) sum += arrivals.get(v) ?? 0;
    return sum;
  });
  const deliveredSeconds = (performance.now() - changesStart) / 1000;
  const cpuUsed = await cpu();
  const deliveryCpuMs = ((await target.deliveryCpuMicros()) - deliveryCpuBefore) / 1000;
  const loadAfter = loadavg();
  process.stderr.write(` done after ${deliveredSeconds.toFixed(1)} s\n`);
  const memAfterEvents = await settledMemory(target);

  // ---- Latencies: every delivery of a measured version, from its mutation's send time.
  const tally = tallyDeliveries(subscribers, sentAtByVersion, base, effective);
  const { received, duplicates, outOfOrder, subscribersMissing, subscribersEnded } = tally;
  const { endReasons, badPayloads, errorResults } = tally;
  const stats = latencyStats(tally.all);
  const anonStats = latencyStats(tally.anonymous);
  const signedStats = latencyStats(tally.signedIn);
  const lastStats = latencyStats([...tally.perEventLast.values()]);
  const spreadStats = latencyStats(tally.perEventSpread);
  const mutationStats = latencyStats(changes.mutationMs);
  const missing = expected - received;
  const neverArrived = missing - errorResults;

  // ---- Close, and see the upstream subscriptions go.
  await pool(subscribers.length, 100, async (i) => {
    await subscribers[i].close().catch(() => undefined);
  });
  await sleep(1000);
  const redisClosed = await target.redisSubscribers(showtime.id);
  const memClosed = await settledMemory(target);

  // ---- The floor: the same frames from a bare server, to as many subscribers, same client.
  const floor =
    options.floor && sample
      ? await runFanOutFloor(
          {
            servers: target.gatewayUrls.length,
            subscribers: live,
            batch: options.batch,
            changes: Math.min(options.changes, 50),
            intervalMs: options.intervalMs,
          },
          sample,
          mint,
        )
      : undefined;

  const perSub = (a: FanOutMemory, b: FanOutMemory, key: 'rss' | 'heapUsed' | 'external') =>
    (b[key] - a[key]) / n;
  const memory = {
    gcExposed: memBefore.gcRan,
    before: memBefore,
    connected: memConnected,
    afterEvents: memAfterEvents,
    afterClose: memClosed,
    perSubscriberBytes: {
      rss: Math.round(perSub(memBefore, memConnected, 'rss')),
      heapUsed: Math.round(perSub(memBefore, memConnected, 'heapUsed')),
      external: Math.round(perSub(memBefore, memConnected, 'external')),
    },
  };

  const result = {
    showtimeId: showtime.id,
    hall: `${before.hall.cinema.name} ${before.hall.name}`,
    seatId: seat.seatId,
    subscribers: n,
    gateways: target.gatewayUrls.length,
    anonymous: n - signedInCount,
    signedIn: signedInCount,
    batch: options.batch,
    connectSeconds: round(connectSeconds, 2),
    failedToConnect,
    connectErrors: Object.fromEntries(connectErrors),
    emfile,
    probe,
    changes: options.changes,
    intervalMs: options.intervalMs,
    effectiveChanges: effective,
    appliedDespiteError,
    unexplainedVersions,
    mutationErrors: mutationErrors.slice(0, 20),
    mutationLatency: statsJson(mutationStats),
    changesSeconds: round(changesSeconds, 3),
    versionBefore: base,
    versionAfterChanges,
    deliveredSeconds: round(deliveredSeconds, 3),
    deliveriesPerSecond: round(received / deliveredSeconds, 0),
    deliveries: {
      expected,
      received,
      missing,
      errorResultsWithoutData: errorResults,
      neverArrived,
      duplicates,
      outOfOrder,
      unexpectedVersions: tally.unexpectedVersions,
      subscribersMissingEvents: subscribersMissing,
      subscribersEnded,
      endReasons: Object.fromEntries(endReasons),
      badPayloads: Object.fromEntries(badPayloads),
      contentProblems,
    },
    latency: statsJson(stats),
    latencyAnonymous: statsJson(anonStats),
    latencySignedIn: statsJson(signedStats),
    /** Per change: when its last subscriber got it (the fan-out's completion time). */
    latencyLastDeliveryPerEvent: statsJson(lastStats),
    /** Per change: from its first subscriber to its last (the fan-out, without the mutation). */
    fanOutSpreadPerEvent: statsJson(spreadStats),
    p99TargetMs: FANOUT_P99_TARGET_MS,
    p99TargetMet: stats.p99Ms < FANOUT_P99_TARGET_MS,
    redisSubscribers: { before: redisBefore, connected: redisConnected, afterClose: redisClosed },
    /**
     * CPU time of the delivering processes per change (all its deliveries, its mutation and
     * its one upstream event included) and per delivery: what a change costs whatever else
     * the machine is doing.
     */
    deliveryCpu: {
      perChangeMs: round(deliveryCpuMs / Math.max(1, effective), 2),
      perDeliveryMicros: round((1000 * deliveryCpuMs) / Math.max(1, received), 1),
    },
    memory,
    floor: floor?.result,
    cpu: cpuUsed,
    loadAverageBefore: loadBefore.map((x) => round(x, 2)),
    loadAverageAfter: loadAfter.map((x) => round(x, 2)),
  };

  const lines = [
    `Fan-out: ${n} SeatUpdates subscribers (${n - signedInCount} anonymous, ${signedInCount} signed in) ` +
      `over ${target.gatewayUrls.length} gateway${target.gatewayUrls.length === 1 ? '' : 's'}, ` +
      `${options.changes} hold/release changes one after another` +
      (options.intervalMs ? ` (${options.intervalMs} ms apart)` : ' (back to back)'),
    `  showtime ${showtime.id} (${result.hall}); subscribers connected in ${connectSeconds.toFixed(1)} s, ${options.batch} at a time` +
      (failedToConnect ? `; ${failedToConnect} FAILED to connect` : ''),
    ...(emfile ? ['  EMFILE: too many open files (raise `ulimit -n`)'] : []),
    `  probe (not counted): ${probe.map((p) => `${p.reached}/${live} in ${p.ms.toFixed(0)} ms`).join(', ')}`,
    `  mutations          ${effective}/${options.changes} changed the seat in ${changesSeconds.toFixed(2)} s; ` +
      `latency p50 ${fmt(mutationStats.p50Ms)} ms, p99 ${fmt(mutationStats.p99Ms)} ms` +
      (mutationErrors.length
        ? `; ${mutationErrors.length} failed or changed nothing` +
          (appliedDespiteError ? ` (${appliedDespiteError} applied all the same)` : '') +
          `, first: ${mutationErrors[0]}`
        : '') +
      (unexplainedVersions ? `; ${unexplainedVersions} versions from elsewhere` : ''),
    `  deliveries         ${received} received of ${expected} expected; missing ${missing}` +
      (missing
        ? ` (${errorResults} came as error results without data, ${neverArrived} never came)`
        : '') +
      (duplicates ? `, ${duplicates} duplicates` : '') +
      (outOfOrder ? `, ${outOfOrder} out of order` : '') +
      (subscribersMissing ? ` (${subscribersMissing} subscribers missed events)` : '') +
      `; last one ${deliveredSeconds.toFixed(1)} s after the first change (${fmt(received / deliveredSeconds, 0)} deliveries/s)`,
    ...(subscribersEnded
      ? [
          `  subscriptions ended early: ${subscribersEnded} (${[...endReasons].map(([r, c]) => `${r}: ${c}`).join('; ')})`,
        ]
      : []),
    ...(badPayloads.size
      ? [`  results with errors: ${[...badPayloads].map(([r, c]) => `${r}: ${c}`).join('; ')}`]
      : []),
    ...(contentProblems.length
      ? [`  unexpected event content: ${contentProblems.slice(0, 3).join('; ')}`]
      : []),
    `  latency (all)      p50 ${fmt(stats.p50Ms)} ms   p99 ${fmt(stats.p99Ms)} ms   max ${fmt(stats.maxMs)} ms   mean ${fmt(stats.meanMs)} ms`,
    `  latency anonymous  p50 ${fmt(anonStats.p50Ms)} ms   p99 ${fmt(anonStats.p99Ms)} ms`,
    `  latency signed in  p50 ${fmt(signedStats.p50Ms)} ms   p99 ${fmt(signedStats.p99Ms)} ms`,
    `  last delivery of each change: p50 ${fmt(lastStats.p50Ms)} ms   p99 ${fmt(lastStats.p99Ms)} ms`,
    `  first to last subscriber of each change (the fan-out alone): p50 ${fmt(spreadStats.p50Ms)} ms   p99 ${fmt(spreadStats.p99Ms)} ms`,
    `  p99 target < ${FANOUT_P99_TARGET_MS} ms: ${result.p99TargetMet ? 'MET' : 'NOT MET'} (p99 ${fmt(stats.p99Ms)} ms)`,
    `  server memory      rss ${fmt(mib(memBefore.rss))} → ${fmt(mib(memConnected.rss))} MiB, ` +
      `heap used ${fmt(mib(memBefore.heapUsed))} → ${fmt(mib(memConnected.heapUsed))} MiB with all connected ` +
      `(${memBefore.gcRan ? 'after a full GC' : 'no GC exposed'}); ` +
      `after the events rss ${fmt(mib(memAfterEvents.rss))} MiB, heap ${fmt(mib(memAfterEvents.heapUsed))} MiB; ` +
      `after closing rss ${fmt(mib(memClosed.rss))} MiB, heap ${fmt(mib(memClosed.heapUsed))} MiB`,
    `  per subscriber     (connected − before) / ${n}: rss ${fmt(memory.perSubscriberBytes.rss / 1024)} KiB, heap used ${fmt(memory.perSubscriberBytes.heapUsed / 1024)} KiB`,
    `  delivering CPU     ${fmt(deliveryCpuMs / Math.max(1, effective))} ms per change to ${live} subscribers ` +
      `(${fmt((1000 * deliveryCpuMs) / Math.max(1, received))} µs per delivery; gateway processes, or the whole stack process without --gateways)`,
    `  redis subscribers on the channel: ${redisBefore} before, ${redisConnected} connected, ${redisClosed} after closing`,
    cpuLine(cpuUsed, loadBefore, loadAfter),
    ...(floor
      ? [
          ...floor.lines,
          `  ours / floor       p50 ${fmt(stats.p50Ms / floor.stats.p50Ms)}×   p99 ${fmt(stats.p99Ms / floor.stats.p99Ms)}×   ` +
            `CPU per delivery ${fmt((1000 * deliveryCpuMs) / Math.max(1, received) / floor.perDeliveryMicros)}× ` +
            `(ours includes the mutation, Redis and one federated execution per change)`,
        ]
      : []),
  ];
  return { result, text: lines.join('\n') };
}

/**
 * The seat rush: N distinct users (500) each send ONE HoldSeats for 1–4 random seats of one
 * upcoming showtime whose hall has about 200 sellable seats, all released at once, spread in
 * turn over one or more gateways. Reports holds/s, p50/p99 latency and outcome counts, and
 * checks the result against the SeatMap afterwards (`rush-check.ts`).
 */
import { loadavg } from 'node:os';
import { pool, sleep } from '../common/pool';
import { round } from '../common/report';
import type { RedisScriptTime } from '../common/redis-scripts';
import { cpuLine, fmt, latencyStats, statsJson, type RoundedCpu } from './figures';
import { checkRush, type RushRequest } from './rush-check';
import {
  codeOf,
  describeErrors,
  OPS,
  post,
  seatMap,
  type GraphQLReply,
  type HoldData,
  type SeatMapData,
} from './seat-client';
import { RUSH_HALL_SEATS, type ShowtimeChoice } from './showtimes';

/** The target of `bench:seats` (500 users, one stack): printed as met / not met, never asserted. */
export const RUSH_P99_TARGET_MS = 50;

/** Where the rush goes: gateways (users spread over them in turn) and their processes' CPU. */
export interface RushTarget {
  readonly gatewayUrls: readonly string[];
  /** Starts a CPU window over the server processes; the function it answers ends it. */
  cpuWindow(): Promise<() => Promise<RoundedCpu>>;
  /** Starts a window over Redis' script time (`bench/common/redis-scripts.ts`), if known. */
  redisScripts?(): Promise<() => Promise<RedisScriptTime>>;
}

export interface RushOptions {
  /** Distinct users, one HoldSeats each. */
  users: number;
  /** Requests in flight at most (undefined: all of them at once). */
  rushConcurrency: number | undefined;
  /** Seconds of unmeasured hold/release on another showtime first. */
  warmupSeconds: number;
  /** Seeds the random seat choice. */
  seed: number;
  /** The p99 printed as met / not met (default `RUSH_P99_TARGET_MS`). */
  p99TargetMs?: number;
  /**
   * Each user has the seat map open when the sale starts: before the measured rush, every
   * user loads `SeatMap` with their own token, all at once (so the client holds as many
   * open keep-alive connections as users, and the gateways have verified every token), as
   * the seat map page does before anyone can click. Without it, every hold opens a new
   * connection and brings a token the gateway has never seen.
   */
  fromPage?: boolean;
  /** User ids are `<prefix><i>` (default `bench-rush-`): two rushes in one run use two sets. */
  userPrefix?: string;
}

/** The seat map loads before a rush "from the page": every user's SeatMap, all at once. */
interface PageLoad {
  wallSeconds: number | null;
  latency: ReturnType<typeof statsJson>;
  /** CPU of the server processes (gateways and what is behind them) per SeatMap, ms. */
  serversCpuMsPerLoad: number | null;
}

/** mulberry32: a small seeded PRNG, so a run's seat choices can be repeated. */
function random(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/**
 * Hold/release/SeatMap on another showtime, so JIT, pools and caches are not cold for the
 * rush. Not counted.
 */
async function warmUp(
  gatewayUrls: readonly string[],
  options: RushOptions,
  mint: (userId: string) => string,
  choice: ShowtimeChoice,
): Promise<void> {
  const w = choice.warmup.showtime;
  const wMap = await seatMap(gatewayUrls[0], w.id);
  const wSeats = wMap.seatMap.seats.filter((s) => s.status === 'AVAILABLE');
  const workers = 16;
  const tokens = Array.from({ length: workers }, (_, i) => mint(`bench-warmup-${i}`));
  // Most of a rush's holds are refused (SEAT_UNAVAILABLE, often for several seats): that
  // path is warmed up too, on a seat one more user holds throughout.
  const blocker = mint('bench-warmup-blocker');
  const blocked = wSeats[workers % wSeats.length].seatId;
  const blockerReply = await post(
    gatewayUrls[0],
    OPS.hold,
    { showtimeId: w.id, seatIds: [blocked] },
    blocker,
  );
  if (blockerReply.errors?.length) {
    throw new Error(`rush warm-up: holding the blocked seat: ${describeErrors(blockerReply)}`);
  }
  const deadline = performance.now() + options.warmupSeconds * 1000;
  let done = 0;
  let errors = 0;
  let refused = 0;
  process.stderr.write(
    `bench: rush: warming up ${options.warmupSeconds} s (hold/release/SeatMap and refused holds on showtime ${w.id})... `,
  );
  await Promise.all(
    tokens.map(async (token, i) => {
      const seatIds = [wSeats[i % wSeats.length].seatId];
      const gatewayUrl = gatewayUrls[i % gatewayUrls.length];
      while (performance.now() < deadline) {
        const h = await post(gatewayUrl, OPS.hold, { showtimeId: w.id, seatIds }, token);
        const x = await post(
          gatewayUrl,
          OPS.hold,
          { showtimeId: w.id, seatIds: [...seatIds, blocked] },
          token,
        );
        const r = await post(gatewayUrl, OPS.release, { showtimeId: w.id, seatIds }, token);
        const m = await post(gatewayUrl, OPS.seatMap, { showtimeId: w.id }, token);
        done += 4;
        if (codeOf(x) === 'SEAT_UNAVAILABLE') refused += 1;
        errors += [h, r, m].filter((y) => y.errors?.length).length;
        if (codeOf(x) !== 'SEAT_UNAVAILABLE') errors += 1;
      }
    }),
  );
  await post(gatewayUrls[0], OPS.release, { showtimeId: w.id, seatIds: [blocked] }, blocker);
  process.stderr.write(`${done} requests (${refused} refused as meant), ${errors} errors\n`);
}

/** Sends one user's HoldSeats and records how it ended. */
async function hold(gatewayUrl: string, showtimeId: string, r: RushRequest, token: string) {
  const t0 = performance.now();
  let reply: GraphQLReply<HoldData>;
  try {
    reply = await post<HoldData>(gatewayUrl, OPS.hold, { showtimeId, seatIds: r.seatIds }, token);
  } catch (err) {
    const failure = err as Error & { code?: string };
    reply = {
      status: 0,
      errors: [
        {
          message: `${failure.message}${failure.code ? ` (${failure.code})` : ''}`,
          extensions: { code: 'FETCH_FAILED' },
        },
      ],
    };
  }
  r.latencyMs = performance.now() - t0;
  const code = codeOf(reply);
  if (!code && reply.data?.holdSeats) {
    r.outcome = 'ok';
    r.granted = reply.data.holdSeats.seats
      .filter((s) => s.status === 'HELD' && s.heldByMe)
      .map((s) => s.seatId);
  } else if (code === 'SEAT_UNAVAILABLE' || code === 'HOLD_LIMIT_EXCEEDED') {
    r.outcome = code;
    r.code = code;
    r.unavailable = (reply.errors?.[0]?.extensions?.seatIds as string[] | undefined) ?? [];
  } else {
    r.outcome = 'other';
    r.code = code ?? 'NO_DATA';
    r.message = describeErrors(reply);
  }
}

/** Runs the rush; answers its results-file section and its printed report. */
export async function runSeatRush(
  target: RushTarget,
  options: RushOptions,
  mint: (userId: string) => string,
  choice: ShowtimeChoice,
  part: ShowtimeChoice['rush'] = choice.rush,
) {
  const { gatewayUrls } = target;
  const gatewayUrl = gatewayUrls[0];
  const p99Target = options.p99TargetMs ?? RUSH_P99_TARGET_MS;
  const { showtime, hall } = part;
  const rand = random(options.seed);

  const before = await seatMap(gatewayUrl, showtime.id);
  const available = before.seatMap.seats.filter((s) => s.status === 'AVAILABLE');
  process.stderr.write(
    `bench: rush: showtime ${showtime.id} (${before.movie.title}, ${before.startsAt}), ` +
      `${before.hall.cinema.name} ${before.hall.name}: ${hall.seats} seats, ${hall.sellable} sellable, ` +
      `${available.length} AVAILABLE now, version ${before.seatMap.version}\n`,
  );

  if (options.warmupSeconds > 0) await warmUp(gatewayUrls, options, mint, choice);

  // Everything is prepared before the start: tokens minted, seats drawn.
  const requests: RushRequest[] = Array.from({ length: options.users }, (_, i) => {
    const n = 1 + Math.floor(rand() * 4);
    const seatIds = new Set<string>();
    while (seatIds.size < Math.min(n, available.length)) {
      seatIds.add(available[Math.floor(rand() * available.length)].seatId);
    }
    return {
      userId: `${options.userPrefix ?? 'bench-rush-'}${i}`,
      seatIds: [...seatIds],
      latencyMs: NaN,
      outcome: 'other',
      granted: [],
      unavailable: [],
    };
  });
  const tokens = requests.map((r) => mint(r.userId));
  const concurrency = options.rushConcurrency ?? options.users;
  const seatsAsked = requests.reduce((a, r) => a + r.seatIds.length, 0);
  process.stderr.write(
    `bench: rush: ${options.users} users, ${seatsAsked} seats asked for (1–4 each), ` +
      `${concurrency === options.users ? 'all at once' : `${concurrency} in flight at most`}... `,
  );

  let pageLoad: PageLoad | undefined;
  if (options.fromPage) {
    process.stderr.write('every user loads the seat map first... ');
    const pageCpu = await target.cpuWindow();
    const pageStart = performance.now();
    const loadMs: number[] = [];
    const loads = await Promise.all(
      tokens.map(async (token, i) => {
        const sent = performance.now();
        const reply = await post<SeatMapData>(
          gatewayUrls[i % gatewayUrls.length],
          OPS.seatMap,
          { showtimeId: showtime.id },
          token,
        );
        loadMs.push(performance.now() - sent);
        return reply;
      }),
    );
    const pageSeconds = (performance.now() - pageStart) / 1000;
    const serversPercent = (await pageCpu()).stackCpuPercent;
    const failed = loads.filter((reply) => reply.errors?.length || !reply.data?.showtime);
    if (failed.length > 0) {
      throw new Error(`rush: ${failed.length} seat map loads failed: ${describeErrors(failed[0])}`);
    }
    pageLoad = {
      wallSeconds: round(pageSeconds, 3),
      latency: statsJson(latencyStats(loadMs)),
      serversCpuMsPerLoad:
        serversPercent === null
          ? null
          : round((serversPercent / 100) * ((pageSeconds * 1000) / loads.length), 3),
    };
    // The servers finish what those loads left (answers written, buffers freed) before the
    // start; well under the servers' keep-alive timeout, so the connections stay open.
    await sleep(1000);
    process.stderr.write('then they all hold... ');
  }
  const loadBefore = loadavg();
  const cpu = await target.cpuWindow();
  const scripts = await target.redisScripts?.();
  const start = performance.now();
  await pool(requests.length, concurrency, (i) =>
    hold(gatewayUrls[i % gatewayUrls.length], showtime.id, requests[i], tokens[i]),
  );
  const wallSeconds = (performance.now() - start) / 1000;
  const cpuUsed = await cpu();
  const scriptTime = await scripts?.();
  const loadAfter = loadavg();

  const count = (o: RushRequest['outcome']) => requests.filter((r) => r.outcome === o).length;
  const ok = requests.filter((r) => r.outcome === 'ok');
  const latency = latencyStats(requests.map((r) => r.latencyMs));
  const okLatency = latencyStats(ok.map((r) => r.latencyMs));
  process.stderr.write(`${wallSeconds.toFixed(2)} s\n`);

  const check = await checkRush(gatewayUrl, showtime.id, before, requests, tokens);
  const { after, held, versionDelta } = check;

  const otherErrors = requests.filter((r) => r.outcome === 'other');
  const otherByCode = new Map<string, number>();
  for (const r of otherErrors) otherByCode.set(r.code!, (otherByCode.get(r.code!) ?? 0) + 1);

  const seatsGranted = ok.reduce((a, r) => a + r.granted.length, 0);
  const result = {
    showtimeId: showtime.id,
    startsAt: after.startsAt,
    movie: after.movie.title,
    hall: {
      id: hall.id,
      name: `${after.hall.cinema.name} ${after.hall.name}`,
      rows: after.hall.rows,
      columns: after.hall.columns,
      seats: hall.seats,
      sellable: hall.sellable,
      availableBefore: available.length,
    },
    users: options.users,
    fromPage: options.fromPage ?? false,
    pageLoad,
    gateways: gatewayUrls.length,
    concurrency,
    seatsAsked,
    wallSeconds: round(wallSeconds, 3),
    successfulHoldsPerSecond: round(ok.length / wallSeconds, 1),
    requestsPerSecond: round(requests.length / wallSeconds, 1),
    latency: statsJson(latency),
    successLatency: statsJson(okLatency),
    p99TargetMs: p99Target,
    p99TargetMet: latency.p99Ms < p99Target,
    outcomes: {
      success: ok.length,
      SEAT_UNAVAILABLE: count('SEAT_UNAVAILABLE'),
      HOLD_LIMIT_EXCEEDED: count('HOLD_LIMIT_EXCEEDED'),
      other: otherErrors.length,
      otherByCode: Object.fromEntries(otherByCode),
      firstOther: otherErrors[0]?.message,
    },
    seatsGranted,
    seatsHeldAfter: held.size,
    versionBefore: before.seatMap.version,
    versionAfter: after.seatMap.version,
    violations: check.violations,
    violationCount: check.violationCount,
    cpu: cpuUsed,
    redisScripts: scriptTime
      ? { ...scriptTime, microsPerCall: round(scriptTime.micros / scriptTime.calls, 1) }
      : undefined,
    loadAverageBefore: loadBefore.map((x) => round(x, 2)),
    loadAverageAfter: loadAfter.map((x) => round(x, 2)),
  };

  const lines = [
    `Seat rush${options.fromPage ? ', users on the seat map page (connections open, tokens verified)' : ', cold (a new connection and an unseen token per hold)'}: ` +
      `${options.users} users, one HoldSeats each (1–4 random seats, ${seatsAsked} asked), ` +
      `${concurrency === options.users ? 'all at once' : `≤ ${concurrency} in flight`}` +
      `, over ${gatewayUrls.length} gateway${gatewayUrls.length === 1 ? '' : 's'}`,
    `  showtime ${showtime.id} ${after.startsAt} (${after.movie.title})`,
    `  hall ${result.hall.name}: ${after.hall.rows} rows × ${after.hall.columns} columns, ` +
      `${hall.seats} seats, ${hall.sellable} sellable (closest to ${RUSH_HALL_SEATS}), ${available.length} AVAILABLE before`,
    ...(pageLoad
      ? [
          `  seat map loads     ${options.users} SeatMap (signed in) all at once before the rush: ` +
            `${fmt(pageLoad.wallSeconds ?? NaN, 3)} s, p50 ${fmt(pageLoad.latency.p50Ms ?? NaN)} ms, ` +
            `p99 ${fmt(pageLoad.latency.p99Ms ?? NaN)} ms, ` +
            `servers' CPU ${fmt(pageLoad.serversCpuMsPerLoad ?? NaN, 2)} ms per load`,
        ]
      : []),
    `  wall time          ${wallSeconds.toFixed(3)} s`,
    `  holds/s            ${fmt(ok.length / wallSeconds)} successful, ${fmt(requests.length / wallSeconds)} requests/s in all`,
    `  latency (all)      p50 ${fmt(latency.p50Ms)} ms   p99 ${fmt(latency.p99Ms)} ms   max ${fmt(latency.maxMs)} ms   mean ${fmt(latency.meanMs)} ms`,
    `  latency (success)  p50 ${fmt(okLatency.p50Ms)} ms   p99 ${fmt(okLatency.p99Ms)} ms`,
    `  outcomes           ${ok.length} success / ${count('SEAT_UNAVAILABLE')} SEAT_UNAVAILABLE / ` +
      `${count('HOLD_LIMIT_EXCEEDED')} HOLD_LIMIT_EXCEEDED / ${otherErrors.length} other errors` +
      (otherErrors.length
        ? ` (${[...otherByCode].map(([c, n]) => `${c} ${n}`).join(', ')}; first: ${otherErrors[0].message})`
        : ''),
    `  seats              ${seatsGranted} granted, ${held.size} HELD in SeatMap afterwards, ` +
      `version ${before.seatMap.version} → ${after.seatMap.version} (${versionDelta} events for ${ok.length} successes)`,
    ...check.lines,
    ...(scriptTime
      ? [
          `  Redis scripts      ${scriptTime.calls} run, ${fmt(scriptTime.micros / 1000)} ms of Redis' one thread ` +
            `(${fmt(scriptTime.micros / scriptTime.calls, 1)} µs each)`,
        ]
      : []),
    `  p99 target < ${p99Target} ms: ${result.p99TargetMet ? 'MET' : 'NOT MET'} (p99 ${fmt(latency.p99Ms)} ms)`,
    cpuLine(cpuUsed, loadBefore, loadAfter),
  ];
  return { result, text: lines.join('\n') };
}

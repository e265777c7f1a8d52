/**
 * Seats benchmark: the seat-hold path and the live seat map under load, through the gateway.
 *
 *   rush     N distinct users (500) each send ONE HoldSeats for 1–4 random seats of one
 *            upcoming showtime whose hall has about 200 sellable seats, all released at once.
 *            Reports holds/s, p50/p99 latency, outcome counts, and checks the result against
 *            the SeatMap afterwards (no seat held twice, every held seat granted to exactly one
 *            successful request, no successful request missing a seat).
 *   fanout   M SeatUpdates subscribers (1,000: 900 anonymous, 100 signed in) on one showtime,
 *            then K (200) hold/release changes one after another. Reports per-delivery latency
 *            (mutation sent → event received, matched by version), expected vs received
 *            deliveries, and the stack process's memory per subscriber.
 *
 *   npm run bench:seats -- [--only rush|fanout] [--users 500] [--rush-concurrency N]
 *                          [--subscribers 1000] [--signed-in 100] [--changes 200] [--batch 50]
 *                          [--interval 0] [--warmup 3] [--seed 1]
 *
 * The stack (gateway + subgraphs over fresh seeded databases on the local PostgreSQL and
 * Redis) runs in a child process (`bench/common/stack-process.ts`, forked with --expose-gc);
 * the clients run here. Figures are printed and written to
 * bench/results/seats-<timestamp>.json, never asserted.
 */
import { availableParallelism, loadavg } from 'node:os';
import { createClient, type Client } from 'graphql-ws';
import WebSocket from 'ws';
import { mintToken } from '../../scripts/dev-token';
import { buildDemoPlan } from '../../scripts/seed/demo-plan';
import { contractOperation } from '../../tests/support/contract';
import { percentile } from '../common/load';
import { busyBeforeStart, cpuWindow as rawCpuWindow, machineInfo } from '../common/machine';
import { atLeastOne, parseFlags } from '../common/options';
import type { MemoryMessage } from '../common/protocol';
import { loads, round, writeResults } from '../common/report';
import { isInterrupted, runMain, withStack, type StackHandle } from '../common/stack';

/** The issue's targets: printed as met / not met, never asserted. */
const RUSH_P99_TARGET_MS = 50;
const FANOUT_P99_TARGET_MS = 100;
/** Halls are compared by their sellable (not blocked) seats against this. */
const RUSH_HALL_SEATS = 200;
const HOUR = 3_600_000;

interface Options {
  only: 'rush' | 'fanout' | undefined;
  users: number;
  rushConcurrency: number | undefined;
  subscribers: number;
  signedIn: number;
  changes: number;
  batch: number;
  intervalMs: number;
  warmupSeconds: number;
  seed: number;
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
  --seed N                random seat choice (default 1)`;

function parseOptions(argv: string[]): Options {
  const options: Options = {
    only: undefined,
    users: 500,
    rushConcurrency: undefined,
    subscribers: 1000,
    signedIn: 100,
    changes: 200,
    batch: 50,
    intervalMs: 0,
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
    '--seed': (v) => void (options.seed = Math.round(v.number())),
  });
  options.signedIn = Math.min(options.signedIn, options.subscribers);
  return options;
}

// ---------------------------------------------------------------------------------------
// Helpers

/** CPU of the stack, this process and the whole machine over a stretch of wall time, rounded. */
async function cpuWindow(stack: StackHandle) {
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

const fmt = (n: number, digits = 1) => (Number.isFinite(n) ? n.toFixed(digits) : '-');
const mib = (bytes: number) => bytes / (1024 * 1024);
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

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

function latencyStats(samplesMs: number[]) {
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
type LatencyStats = ReturnType<typeof latencyStats>;
const statsJson = (s: LatencyStats) => ({
  count: s.count,
  p50Ms: round(s.p50Ms, 3),
  p90Ms: round(s.p90Ms, 3),
  p99Ms: round(s.p99Ms, 3),
  maxMs: round(s.maxMs, 3),
  meanMs: round(s.meanMs, 3),
});

interface GraphQLError {
  message: string;
  extensions?: { code?: string; seatIds?: string[]; [k: string]: unknown };
}
interface GraphQLReply<T> {
  status: number;
  data?: T | null;
  errors?: GraphQLError[];
}

/** One GraphQL POST; answers whatever came back (errors are the caller's to judge). */
async function post<T>(
  url: string,
  query: string,
  variables: Record<string, unknown>,
  token?: string,
): Promise<GraphQLReply<T>> {
  const res = await fetch(url, {
    method: 'POST',
    headers: {
      'content-type': 'application/json',
      ...(token ? { authorization: `Bearer ${token}` } : {}),
    },
    body: JSON.stringify({ query, variables }),
  });
  const text = await res.text();
  try {
    return { status: res.status, ...(JSON.parse(text) as Omit<GraphQLReply<T>, 'status'>) };
  } catch {
    return { status: res.status, errors: [{ message: `non-JSON answer: ${text.slice(0, 200)}` }] };
  }
}

const codeOf = (reply: GraphQLReply<unknown>) =>
  reply.errors?.[0]?.extensions?.code ?? (reply.errors?.length ? 'NO_CODE' : undefined);
const describeErrors = (reply: GraphQLReply<unknown>) =>
  `${reply.status} ${reply.errors?.map((e) => `${e.extensions?.code ?? ''} ${e.message}`).join('; ')}`;

interface SeatState {
  seatId: string;
  row: string;
  number: number;
  type: string;
  status: string;
  heldByMe: boolean;
}
interface SeatMapData {
  showtime: {
    id: string;
    startsAt: string;
    hall: { id: string; name: string; rows: number; columns: number; cinema: { name: string } };
    movie: { title: string };
    seatMap: { version: number; seats: SeatState[] };
  } | null;
}
interface HoldData {
  holdSeats: {
    expiresAt: string;
    seats: Array<{ seatId: string; status: string; heldByMe: boolean }>;
  };
}
interface ReleaseData {
  releaseSeats: { seats: Array<{ seatId: string; status: string; heldByMe: boolean }> };
}

const OPS = {
  hold: contractOperation('HoldSeats'),
  release: contractOperation('ReleaseSeats'),
  seatMap: contractOperation('SeatMap'),
  seatUpdates: contractOperation('SeatUpdates'),
};

async function seatMap(gatewayUrl: string, showtimeId: string, token?: string) {
  const reply = await post<SeatMapData>(gatewayUrl, OPS.seatMap, { showtimeId }, token);
  if (reply.errors?.length || !reply.data?.showtime) {
    throw new Error(`SeatMap ${showtimeId}: ${describeErrors(reply)}`);
  }
  return reply.data.showtime;
}

/** Runs `task(i)` for i in [0, n) with at most `limit` in flight. */
async function pool(n: number, limit: number, task: (i: number) => Promise<void>): Promise<void> {
  let next = 0;
  const worker = async () => {
    while (next < n) await task(next++);
  };
  await Promise.all(Array.from({ length: Math.min(limit, n) }, worker));
}

// ---------------------------------------------------------------------------------------
// Choosing showtimes from the demo plan

type Plan = ReturnType<typeof buildDemoPlan>;

function hallsBySellable(plan: Plan) {
  const sellable = new Map<string, number>();
  const total = new Map<string, number>();
  for (const seat of plan.seats) {
    total.set(seat.hallId, (total.get(seat.hallId) ?? 0) + 1);
    if (!seat.blocked) sellable.set(seat.hallId, (sellable.get(seat.hallId) ?? 0) + 1);
  }
  return plan.halls.map((h) => ({
    ...h,
    seats: total.get(h.id) ?? 0,
    sellable: sellable.get(h.id) ?? 0,
  }));
}

/**
 * Showtimes far enough ahead (a day, so none starts during the run), none with a demo
 * booking: the rush's showtime in the hall closest to 200 sellable seats, the fan-out's and
 * the warm-up's in other halls.
 */
function chooseShowtimes(plan: Plan) {
  const halls = hallsBySellable(plan);
  const booked = new Set(plan.bookings.map((b) => b.showtimeId));
  const upcoming = plan.showtimes.filter(
    (s) => s.startsAt.getTime() > Date.now() + 24 * HOUR && !booked.has(s.id),
  );
  const withShowtimes = halls.filter((h) => upcoming.some((s) => s.hallId === h.id));
  const rushHall = [...withShowtimes].sort(
    (a, b) =>
      Math.abs(a.sellable - RUSH_HALL_SEATS) - Math.abs(b.sellable - RUSH_HALL_SEATS) ||
      a.id.localeCompare(b.id),
  )[0];
  if (!rushHall) throw new Error('no upcoming demo showtime found');
  const others = withShowtimes.filter((h) => h.id !== rushHall.id);
  const first = (hallId: string) => upcoming.find((s) => s.hallId === hallId)!;
  const fanoutHall = others[0] ?? rushHall;
  const warmupHall = others[1] ?? others[0] ?? rushHall;
  return {
    rush: { showtime: first(rushHall.id), hall: rushHall },
    fanout: { showtime: first(fanoutHall.id), hall: fanoutHall },
    warmup: {
      showtime: upcoming.filter((s) => s.hallId === warmupHall.id)[1] ?? first(warmupHall.id),
      hall: warmupHall,
    },
  };
}

// ---------------------------------------------------------------------------------------
// Part 1: the seat rush

interface RushRequest {
  userId: string;
  seatIds: string[];
  latencyMs: number;
  outcome: 'ok' | 'SEAT_UNAVAILABLE' | 'HOLD_LIMIT_EXCEEDED' | 'other';
  code?: string;
  message?: string;
  granted: string[];
  unavailable: string[];
}

async function runRush(
  stack: StackHandle,
  options: Options,
  mint: (userId: string) => string,
  choice: ReturnType<typeof chooseShowtimes>,
) {
  const { gatewayUrl } = stack.ready;
  const { showtime, hall } = choice.rush;
  const rand = random(options.seed);

  const before = await seatMap(gatewayUrl, showtime.id);
  const available = before.seatMap.seats.filter((s) => s.status === 'AVAILABLE');
  process.stderr.write(
    `bench: rush: showtime ${showtime.id} (${before.movie.title}, ${before.startsAt}), ` +
      `${before.hall.cinema.name} ${before.hall.name}: ${hall.seats} seats, ${hall.sellable} sellable, ` +
      `${available.length} AVAILABLE now, version ${before.seatMap.version}\n`,
  );

  // Warm-up: hold/release on another showtime, so JIT, pools and caches are not cold for the
  // rush. Not counted.
  if (options.warmupSeconds > 0) {
    const w = choice.warmup.showtime;
    const wMap = await seatMap(gatewayUrl, w.id);
    const wSeats = wMap.seatMap.seats.filter((s) => s.status === 'AVAILABLE');
    const workers = 16;
    const tokens = Array.from({ length: workers }, (_, i) => mint(`bench-warmup-${i}`));
    const deadline = performance.now() + options.warmupSeconds * 1000;
    let done = 0;
    let errors = 0;
    process.stderr.write(
      `bench: rush: warming up ${options.warmupSeconds} s (hold/release/SeatMap on showtime ${w.id})... `,
    );
    await Promise.all(
      tokens.map(async (token, i) => {
        const seatIds = [wSeats[i % wSeats.length].seatId];
        while (performance.now() < deadline) {
          const h = await post(gatewayUrl, OPS.hold, { showtimeId: w.id, seatIds }, token);
          const r = await post(gatewayUrl, OPS.release, { showtimeId: w.id, seatIds }, token);
          const m = await post(gatewayUrl, OPS.seatMap, { showtimeId: w.id }, token);
          done += 3;
          errors += [h, r, m].filter((x) => x.errors?.length).length;
        }
      }),
    );
    process.stderr.write(`${done} requests, ${errors} errors\n`);
  }

  // Everything is prepared before the start: tokens minted, seats drawn.
  const requests: RushRequest[] = Array.from({ length: options.users }, (_, i) => {
    const n = 1 + Math.floor(rand() * 4);
    const seatIds = new Set<string>();
    while (seatIds.size < Math.min(n, available.length)) {
      seatIds.add(available[Math.floor(rand() * available.length)].seatId);
    }
    return {
      userId: `bench-rush-${i}`,
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

  const loadBefore = loadavg();
  const cpu = await cpuWindow(stack);
  const start = performance.now();
  await pool(requests.length, concurrency, async (i) => {
    const r = requests[i];
    const t0 = performance.now();
    let reply: GraphQLReply<HoldData>;
    try {
      reply = await post<HoldData>(
        gatewayUrl,
        OPS.hold,
        { showtimeId: showtime.id, seatIds: r.seatIds },
        tokens[i],
      );
    } catch (err) {
      reply = {
        status: 0,
        errors: [{ message: (err as Error).message, extensions: { code: 'FETCH_FAILED' } }],
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
      r.unavailable = reply.errors?.[0]?.extensions?.seatIds ?? [];
    } else {
      r.outcome = 'other';
      r.code = code ?? 'NO_DATA';
      r.message = describeErrors(reply);
    }
  });
  const wallSeconds = (performance.now() - start) / 1000;
  const cpuUsed = await cpu();
  const loadAfter = loadavg();

  const count = (o: RushRequest['outcome']) => requests.filter((r) => r.outcome === o).length;
  const ok = requests.filter((r) => r.outcome === 'ok');
  const latency = latencyStats(requests.map((r) => r.latencyMs));
  const okLatency = latencyStats(ok.map((r) => r.latencyMs));
  process.stderr.write(`${wallSeconds.toFixed(2)} s\n`);

  // ---- The double-hold check, against the seat map afterwards.
  const after = await seatMap(gatewayUrl, showtime.id);
  const held = new Set(after.seatMap.seats.filter((s) => s.status === 'HELD').map((s) => s.seatId));
  const grantedTo = new Map<string, string[]>();
  for (const r of ok) {
    for (const seatId of r.granted)
      grantedTo.set(seatId, [...(grantedTo.get(seatId) ?? []), r.userId]);
  }
  const doubleHolds = [...grantedTo].filter(([, users]) => users.length > 1);
  const heldWithoutGrant = [...held].filter((s) => !grantedTo.has(s));
  const grantedNotHeld = [...grantedTo.keys()].filter((s) => !held.has(s));
  const missingSeats = ok.filter(
    (r) => r.granted.length !== r.seatIds.length || r.seatIds.some((s) => !r.granted.includes(s)),
  );
  // No releases happen during the rush: a seat named unavailable must be held at the end.
  const falseUnavailable = requests.filter(
    (r) => r.outcome === 'SEAT_UNAVAILABLE' && r.unavailable.some((s) => !held.has(s)),
  );
  const unavailableWithoutSeats = requests.filter(
    (r) => r.outcome === 'SEAT_UNAVAILABLE' && r.unavailable.length === 0,
  );
  // Each user's own view: heldByMe exactly on the seats granted to them (none for failures).
  const heldByMeMismatch: Array<{ userId: string; expected: string[]; heldByMe: string[] }> = [];
  let viewErrors = 0;
  await pool(requests.length, 25, async (i) => {
    const r = requests[i];
    try {
      const view = await seatMap(gatewayUrl, showtime.id, tokens[i]);
      const mine = view.seatMap.seats
        .filter((s) => s.heldByMe)
        .map((s) => s.seatId)
        .sort();
      const expected = [...r.granted].sort();
      if (mine.join() !== expected.join()) {
        heldByMeMismatch.push({ userId: r.userId, expected, heldByMe: mine });
      }
    } catch {
      viewErrors += 1;
    }
  });
  const versionDelta = after.seatMap.version - before.seatMap.version;
  const violations = {
    doubleHolds: doubleHolds.map(([seatId, users]) => ({ seatId, users })),
    heldWithoutGrant,
    grantedNotHeld,
    successfulMissingSeats: missingSeats.map((r) => ({
      userId: r.userId,
      asked: r.seatIds,
      granted: r.granted,
    })),
    heldByMeMismatch,
    falseSeatUnavailable: falseUnavailable.map((r) => ({
      userId: r.userId,
      named: r.unavailable.filter((s) => !held.has(s)),
    })),
    seatUnavailableWithoutSeatIds: unavailableWithoutSeats.length,
    seatMapViewErrors: viewErrors,
    versionDeltaVsSuccesses: versionDelta === ok.length ? 0 : versionDelta - ok.length,
  };

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
    concurrency,
    seatsAsked,
    wallSeconds: round(wallSeconds, 3),
    successfulHoldsPerSecond: round(ok.length / wallSeconds, 1),
    requestsPerSecond: round(requests.length / wallSeconds, 1),
    latency: statsJson(latency),
    successLatency: statsJson(okLatency),
    p99TargetMs: RUSH_P99_TARGET_MS,
    p99TargetMet: latency.p99Ms < RUSH_P99_TARGET_MS,
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
    violations,
    violationCount:
      doubleHolds.length +
      heldWithoutGrant.length +
      grantedNotHeld.length +
      missingSeats.length +
      heldByMeMismatch.length +
      falseUnavailable.length,
    cpu: cpuUsed,
    loadAverageBefore: loadBefore.map((x) => round(x, 2)),
    loadAverageAfter: loadAfter.map((x) => round(x, 2)),
  };

  const lines = [
    `Seat rush: ${options.users} users, one HoldSeats each (1–4 random seats, ${seatsAsked} asked), ` +
      `${concurrency === options.users ? 'all at once' : `≤ ${concurrency} in flight`}`,
    `  showtime ${showtime.id} ${after.startsAt} (${after.movie.title})`,
    `  hall ${result.hall.name}: ${after.hall.rows} rows × ${after.hall.columns} columns, ` +
      `${hall.seats} seats, ${hall.sellable} sellable (closest to ${RUSH_HALL_SEATS}), ${available.length} AVAILABLE before`,
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
    `  double holds: ${doubleHolds.length}` +
      (doubleHolds.length
        ? `  ${doubleHolds
            .slice(0, 5)
            .map(([s, u]) => `${s}: ${u.join(', ')}`)
            .join('; ')}`
        : ''),
    `  held but granted to no successful request: ${heldWithoutGrant.length}` +
      (heldWithoutGrant.length ? ` (${heldWithoutGrant.slice(0, 5).join(', ')})` : ''),
    `  granted but not HELD afterwards: ${grantedNotHeld.length}` +
      (grantedNotHeld.length ? ` (${grantedNotHeld.slice(0, 5).join(', ')})` : ''),
    `  successful requests missing a seat: ${missingSeats.length}`,
    `  users whose heldByMe differs from their grant: ${heldByMeMismatch.length}` +
      (viewErrors ? ` (${viewErrors} SeatMap reads failed)` : ''),
    `  SEAT_UNAVAILABLE naming a seat not held: ${falseUnavailable.length}` +
      (unavailableWithoutSeats.length
        ? ` (${unavailableWithoutSeats.length} without extensions.seatIds)`
        : ''),
    `  p99 target < ${RUSH_P99_TARGET_MS} ms: ${result.p99TargetMet ? 'MET' : 'NOT MET'} (p99 ${fmt(latency.p99Ms)} ms)`,
    `  cpu: stack ${fmt(cpuUsed.stackCpuPercent ?? NaN, 0)}% of one core, client ${fmt(cpuUsed.clientCpuPercent ?? NaN, 0)}%, ` +
      `host ${fmt(cpuUsed.hostCpuPercent ?? NaN, 0)}% of ${availableParallelism()} cores; ` +
      `load average ${loads(loadBefore)} before, ${loads(loadAfter)} after`,
  ];
  return { result, text: lines.join('\n') };
}

// ---------------------------------------------------------------------------------------
// Part 2: fan-out

/**
 * The stack's memory after a full GC, read twice a second apart (RSS lags behind what the GC
 * frees); the second reading counts.
 */
async function settledMemory(stack: StackHandle): Promise<MemoryMessage> {
  await stack.memory();
  await sleep(1000);
  return stack.memory();
}

/** One graphql-ws subscriber (adapted from tests/support/ws-client.ts): timestamps on receipt. */
class Subscriber {
  readonly client: Client;
  /** version and performance.now() of every event received, in arrival order. */
  readonly versions: number[] = [];
  readonly times: number[] = [];
  /** Results that carried errors (with their codes and services). */
  readonly bad: string[] = [];
  /** Results with errors and no `seatUpdates` data: the change is lost to this subscriber. */
  errorOnly = 0;
  ended: string | undefined;
  connectError: string | undefined;
  readonly connected: Promise<boolean>;
  private unsubscribe: () => void = () => {};

  constructor(
    url: string,
    showtimeId: string,
    readonly token: string | undefined,
    onEvent: (version: number, payload: SeatEventPayload, at: number) => void,
  ) {
    let settle: (ok: boolean) => void = () => {};
    this.connected = new Promise((resolve) => (settle = resolve));
    this.client = createClient({
      url,
      webSocketImpl: WebSocket,
      lazy: false,
      retryAttempts: 0,
      connectionParams: token ? { authorization: `Bearer ${token}` } : {},
      on: {
        connected: () => settle(true),
        closed: (event) => {
          const e = event as { code?: number; reason?: string };
          this.connectError ??= `closed ${e.code ?? ''} ${e.reason ?? ''}`.trim();
          settle(false);
        },
        error: (error) => {
          this.connectError ??= String(
            (error as Error)?.message ?? (error as { type?: string })?.type ?? error,
          );
          settle(false);
        },
      },
    });
    this.unsubscribe = this.client.subscribe(
      { query: OPS.seatUpdates, variables: { showtimeId } },
      {
        next: (value) => {
          const at = performance.now();
          const payload = (value.data as { seatUpdates?: SeatEventPayload } | null)?.seatUpdates;
          if (value.errors?.length || !payload) {
            this.bad.push(
              value.errors
                ?.map((e) => {
                  const x = e as { message: string; path?: unknown[]; extensions?: any };
                  const where = [x.extensions?.code, x.extensions?.serviceName, x.path?.join('.')]
                    .filter(Boolean)
                    .join(' ');
                  return `${x.message}${where ? ` [${where}]` : ''}`;
                })
                .join('; ') ?? 'no data',
            );
            if (!payload) {
              this.errorOnly += 1;
              return;
            }
          }
          this.versions.push(payload.version);
          this.times.push(at);
          onEvent(payload.version, payload, at);
        },
        error: (error) => {
          this.ended = Array.isArray(error)
            ? error.map((e) => (e as { message: string }).message).join('; ')
            : String((error as Error)?.message ?? (error as { reason?: string })?.reason ?? error);
        },
        complete: () => {
          this.ended ??= 'completed';
        },
      },
    );
  }

  async close(): Promise<void> {
    this.unsubscribe();
    await this.client.dispose();
  }
}

interface SeatEventPayload {
  showtimeId: string;
  version: number;
  seats: Array<{ seatId: string; status: string; heldByMe: boolean }>;
  showtime: { id: string; movie: { title: string } | null } | null;
}

async function runFanout(
  stack: StackHandle,
  options: Options,
  mint: (userId: string) => string,
  choice: ReturnType<typeof chooseShowtimes>,
) {
  const { gatewayUrl } = stack.ready;
  const wsUrl = gatewayUrl.replace(/^http/, 'ws');
  const { showtime } = choice.fanout;
  const n = options.subscribers;
  const signedStep = options.signedIn > 0 ? Math.max(1, Math.floor(n / options.signedIn)) : 1;
  let signedSoFar = 0;

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
  const onEvent = (version: number, payload: SeatEventPayload) => {
    arrivals.set(version, (arrivals.get(version) ?? 0) + 1);
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
  const memBefore = await settledMemory(stack);
  const redisBefore = await stack.redisSubscribers(showtime.id);
  const loadBefore = loadavg();
  const subscribers: Subscriber[] = [];
  const connectStart = performance.now();
  let failedToConnect = 0;
  const connectErrors = new Map<string, number>();
  for (let from = 0; from < n; from += options.batch) {
    const batch: Subscriber[] = [];
    for (let i = from; i < Math.min(n, from + options.batch); i++) {
      // Signed-in subscribers spread evenly among the anonymous ones, each a distinct user.
      const signedIn = signedSoFar < options.signedIn && i % signedStep === 0;
      if (signedIn) signedSoFar += 1;
      const sub = new Subscriber(
        wsUrl,
        showtime.id,
        signedIn ? mint(`bench-fanout-user-${i}`) : undefined,
        onEvent,
      );
      subscribers.push(sub);
      batch.push(sub);
    }
    const results = await Promise.all(
      batch.map((s) => Promise.race([s.connected, sleep(30_000).then(() => false)])),
    );
    results.forEach((ok, j) => {
      if (!ok) {
        failedToConnect += 1;
        const why = batch[j].connectError ?? 'no connection_ack within 30 s';
        connectErrors.set(why, (connectErrors.get(why) ?? 0) + 1);
      }
    });
  }
  const connectSeconds = (performance.now() - connectStart) / 1000;
  const signedInCount = subscribers.filter((s) => s.token).length;
  process.stderr.write(
    `bench: fanout: ${n} subscribers (${signedInCount} signed in) connected in ${connectSeconds.toFixed(1)} s` +
      (failedToConnect
        ? `, ${failedToConnect} FAILED (${[...connectErrors].map(([e, c]) => `${e}: ${c}`).join('; ')})`
        : '') +
      '\n',
  );
  const emfile = [...connectErrors.keys()].some((e) => /EMFILE|too many open files/i.test(e));

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

  const memConnected = await settledMemory(stack);
  const redisConnected = await stack.redisSubscribers(showtime.id);

  // ---- The measured changes, one after another: hold when the seat is free, release when
  // held, so that every successful mutation makes one event, whose version is the next one.
  const base = (await seatMap(gatewayUrl, showtime.id)).seatMap.version;
  /** When the change that made each version was sent (performance.now()). */
  const sentAtByVersion = new Map<number, number>();
  const mutationMs: number[] = [];
  const mutationErrors: string[] = [];
  let version = base;
  let heldNow: boolean = false;
  let effective = 0;
  let appliedDespiteError = 0;
  let unexplainedVersions = 0;
  const cpu = await cpuWindow(stack);
  process.stderr.write(`bench: fanout: ${options.changes} changes from version ${base}... `);
  const changesStart = performance.now();
  for (let k = 0; k < options.changes; k++) {
    const isHold: boolean = !heldNow;
    const status = isHold ? 'HELD' : 'AVAILABLE';
    expectedStatus.set(version + 1, status);
    const t0 = performance.now();
    const reply = isHold ? await hold() : await release();
    mutationMs.push(performance.now() - t0);
    let changed = false;
    if (reply.errors?.length) {
      mutationErrors.push(
        `#${k} ${isHold ? 'hold' : 'release'}: ${describeErrors(reply)} ${JSON.stringify(reply.errors[0].extensions ?? {})}`,
      );
    } else {
      const seats = isHold
        ? (reply.data as HoldData).holdSeats.seats
        : (reply.data as ReleaseData).releaseSeats.seats;
      changed = seats.some((s) => s.seatId === seat.seatId);
      if (!changed) mutationErrors.push(`#${k} ${isHold ? 'hold' : 'release'}: changed nothing`);
    }
    if (changed) {
      version += 1;
      sentAtByVersion.set(version, t0);
      heldNow = isHold;
      effective += 1;
    } else {
      // Find out what happened: the mutation may have been applied all the same.
      const view = await seatMap(gatewayUrl, showtime.id, mutatorToken);
      const mine = view.seatMap.seats.some((s) => s.seatId === seat.seatId && s.heldByMe);
      if (view.seatMap.version === version + 1 && mine === isHold) {
        version += 1;
        sentAtByVersion.set(version, t0);
        effective += 1;
        appliedDespiteError += 1;
      } else if (view.seatMap.version !== version) {
        unexplainedVersions += view.seatMap.version - version;
        version = view.seatMap.version;
      }
      expectedStatus.delete(version + 1);
      heldNow = mine;
    }
    if (options.intervalMs > 0) await sleep(options.intervalMs);
  }
  const changesSeconds = (performance.now() - changesStart) / 1000;
  // Events are matched to changes by version: anything else changing this showtime's seats
  // (an expiry) would shift the versions.
  const versionAfterChanges = (await seatMap(gatewayUrl, showtime.id)).seatMap.version;
  if (versionAfterChanges !== version || unexplainedVersions > 0) {
    process.stderr.write(
      `\nbench: WARNING: fanout: version ${base} → ${versionAfterChanges} for ${effective} changes; events may be matched to the wrong change\n`,
    );
  }
  process.stderr.write(`${changesSeconds.toFixed(2)} s; waiting for deliveries`);

  // ---- Wait until every subscriber has every event, or nothing arrives for 20 s.
  const expected = live * effective;
  const measuredArrivals = () => {
    let sum = 0;
    for (const v of sentAtByVersion.keys()) sum += arrivals.get(v) ?? 0;
    return sum;
  };
  let lastCount = -1;
  let lastProgress = performance.now();
  let lastReport = performance.now();
  while (true) {
    const got = measuredArrivals();
    if (got >= expected) break;
    if (got !== lastCount) {
      lastCount = got;
      lastProgress = performance.now();
    } else if (performance.now() - lastProgress > 20_000) {
      break;
    }
    if (performance.now() - lastReport > 5000) {
      process.stderr.write(` ${got}/${expected}`);
      lastReport = performance.now();
    }
    await sleep(50);
  }
  const deliveredSeconds = (performance.now() - changesStart) / 1000;
  const cpuUsed = await cpu();
  const loadAfter = loadavg();
  process.stderr.write(` done after ${deliveredSeconds.toFixed(1)} s\n`);
  const memAfterEvents = await settledMemory(stack);

  // ---- Latencies: every delivery of a measured version, from its mutation's send time.
  const all: number[] = [];
  const anonymous: number[] = [];
  const signedIn: number[] = [];
  const perEventLast = new Map<number, number>();
  let received = 0;
  let duplicates = 0;
  let outOfOrder = 0;
  let unexpectedVersions = 0;
  let subscribersMissing = 0;
  let subscribersEnded = 0;
  const endReasons = new Map<string, number>();
  const badPayloads = new Map<string, number>();
  subscribers.forEach((sub) => {
    const seen = new Set<number>();
    let prev = -Infinity;
    let mine = 0;
    for (let j = 0; j < sub.versions.length; j++) {
      const v = sub.versions[j];
      if (v < prev) outOfOrder += 1;
      prev = v;
      const sentAt = sentAtByVersion.get(v);
      if (sentAt === undefined) {
        if (v > base) unexpectedVersions += 1;
        continue;
      }
      if (seen.has(v)) {
        duplicates += 1;
        continue;
      }
      seen.add(v);
      mine += 1;
      received += 1;
      const ms = sub.times[j] - sentAt;
      all.push(ms);
      (sub.token ? signedIn : anonymous).push(ms);
      if (ms > (perEventLast.get(v) ?? -Infinity)) perEventLast.set(v, ms);
    }
    if (mine < effective && !sub.connectError) subscribersMissing += 1;
    if (sub.ended) {
      subscribersEnded += 1;
      endReasons.set(sub.ended, (endReasons.get(sub.ended) ?? 0) + 1);
    }
    for (const b of sub.bad) badPayloads.set(b, (badPayloads.get(b) ?? 0) + 1);
  });
  const stats = latencyStats(all);
  const anonStats = latencyStats(anonymous);
  const signedStats = latencyStats(signedIn);
  const lastStats = latencyStats([...perEventLast.values()]);
  const mutationStats = latencyStats(mutationMs);
  const missing = expected - received;
  const errorResults = subscribers.reduce((a, sub) => a + sub.errorOnly, 0);
  const neverArrived = missing - errorResults;

  // ---- Close, and see the upstream subscriptions go.
  await pool(subscribers.length, 100, async (i) => {
    await subscribers[i].close().catch(() => undefined);
  });
  await sleep(1000);
  const redisClosed = await stack.redisSubscribers(showtime.id);
  const memClosed = await settledMemory(stack);

  const perSub = (a: MemoryMessage, b: MemoryMessage, key: keyof MemoryMessage) =>
    ((b[key] as number) - (a[key] as number)) / n;
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
      unexpectedVersions,
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
    p99TargetMs: FANOUT_P99_TARGET_MS,
    p99TargetMet: stats.p99Ms < FANOUT_P99_TARGET_MS,
    redisSubscribers: { before: redisBefore, connected: redisConnected, afterClose: redisClosed },
    memory,
    cpu: cpuUsed,
    loadAverageBefore: loadBefore.map((x) => round(x, 2)),
    loadAverageAfter: loadAfter.map((x) => round(x, 2)),
  };

  const lines = [
    `Fan-out: ${n} SeatUpdates subscribers (${n - signedInCount} anonymous, ${signedInCount} signed in), ` +
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
    `  p99 target < ${FANOUT_P99_TARGET_MS} ms: ${result.p99TargetMet ? 'MET' : 'NOT MET'} (p99 ${fmt(stats.p99Ms)} ms)`,
    `  stack memory       rss ${fmt(mib(memBefore.rss))} → ${fmt(mib(memConnected.rss))} MiB, ` +
      `heap used ${fmt(mib(memBefore.heapUsed))} → ${fmt(mib(memConnected.heapUsed))} MiB with all connected ` +
      `(${memBefore.gcRan ? 'after a full GC' : 'no GC exposed'}); ` +
      `after the events rss ${fmt(mib(memAfterEvents.rss))} MiB, heap ${fmt(mib(memAfterEvents.heapUsed))} MiB; ` +
      `after closing rss ${fmt(mib(memClosed.rss))} MiB, heap ${fmt(mib(memClosed.heapUsed))} MiB`,
    `  per subscriber     (connected − before) / ${n}: rss ${fmt(memory.perSubscriberBytes.rss / 1024)} KiB, heap used ${fmt(memory.perSubscriberBytes.heapUsed / 1024)} KiB`,
    `  redis subscribers on the channel: ${redisBefore} before, ${redisConnected} connected, ${redisClosed} after closing`,
    `  cpu: stack ${fmt(cpuUsed.stackCpuPercent ?? NaN, 0)}% of one core, client ${fmt(cpuUsed.clientCpuPercent ?? NaN, 0)}%, ` +
      `host ${fmt(cpuUsed.hostCpuPercent ?? NaN, 0)}% of ${availableParallelism()} cores; ` +
      `load average ${loads(loadBefore)} before, ${loads(loadAfter)} after`,
  ];
  return { result, text: lines.join('\n') };
}

// ---------------------------------------------------------------------------------------

async function main(): Promise<void> {
  const options = parseOptions(process.argv.slice(2));
  const plan = buildDemoPlan();
  const choice = chooseShowtimes(plan);

  const loadBefore = loadavg();
  const busyBeforePercent = await busyBeforeStart(loadBefore);

  await withStack({ exposeGc: true }, async (stack) => {
    const { privateKeyPem } = stack.ready;
    const mint = (userId: string) => mintToken(privateKeyPem, { userId, expiresIn: 3 * 3600 });
    const finishedParts: Record<string, unknown> = {};
    if (options.only !== 'fanout') {
      const rush = await runRush(stack, options, mint, choice);
      finishedParts.rush = rush.result;
      console.log(`\n${rush.text}`);
    }
    if (isInterrupted()) return;
    if (options.only !== 'rush') {
      const fanout = await runFanout(stack, options, mint, choice);
      finishedParts.fanout = fanout.result;
      console.log(`\n${fanout.text}`);
    }
    if (isInterrupted()) return;
    const loadAfter = loadavg();
    console.log(
      `\n(load average 1/5/15 min: ${loads(loadBefore)} before, ${loads(loadAfter)} after; ${availableParallelism()} cores)`,
    );

    const finishedAt = new Date();
    const report = {
      benchmark: 'seats',
      finishedAt: finishedAt.toISOString(),
      settings: { ...options, databasePoolSize: stack.ready.databasePoolSize },
      machine: machineInfo(busyBeforePercent, { before: loadBefore, after: loadAfter }),
      ...finishedParts,
    };
    writeResults('seats', finishedAt, report);
  });
}

runMain(main);

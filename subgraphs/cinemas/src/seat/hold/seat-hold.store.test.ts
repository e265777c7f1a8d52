import { randomUUID } from 'node:crypto';
import { Redis, type RedisOptions } from 'ioredis';
import { closeRedis, createRedis, type RedisClient } from '../../../../../runtime/redis';
import { testRedisUrl } from '../../../../../tests/support/services';
import { uniquePrefix } from '../../../../../tests/support/test-config';
import { deferred } from '../../../../../tests/support/wait-for';
import { MemorySeatHoldStore } from './memory-seat-hold.store';
import { expiryShard, RedisSeatHoldStore } from './redis-seat-hold.store';
import { seatChannel } from '../seat-topic';
import {
  KEEP_AFTER_END_MS,
  type ReservationRecords,
  type SeatEvent,
  type SeatHoldStore,
  type SeatVersionLedger,
  type ShowtimeRef,
} from './seat-hold.store';

const TTL_SECONDS = 600;
const TTL_MS = TTL_SECONDS * 1000;
const MAX_SEATS = 8;
const COOLDOWN_SECONDS = 120;
const COOLDOWN_MS = COOLDOWN_SECONDS * 1000;
const MAX_SHOWTIMES = 3;
const RATE_PER_MINUTE = 30;
const RULES = {
  ttlSeconds: TTL_SECONDS,
  maxSeatsPerHolder: MAX_SEATS,
  cooldownSeconds: COOLDOWN_SECONDS,
  maxShowtimesPerHolder: MAX_SHOWTIMES,
  ratePerMinute: RATE_PER_MINUTE,
};
/** The fake clock's start; every `now` in this file is T0 plus something. */
const T0 = 1_700_000_000_000;
/** A hold in a cancelled showtime: what the seat map page recognises. */
const CANCELLED = { code: 'BAD_USER_INPUT', field: 'showtimeId', reason: 'SHOWTIME_CANCELLED' };
/** A showtime of this file: it ends three hours after T0, in the same fake clock. */
const showtimeRef = (id: string = randomUUID()): ShowtimeRef => ({ id, endsAt: T0 + 3 * 3600_000 });

/** The PostgreSQL ledger's rules, in a map that outlives the stores ("restarts"). */
class FakeLedger implements SeatVersionLedger {
  readonly rows = new Map<string, number>();
  load() {
    return Promise.resolve(new Map(this.rows));
  }
  reserve(showtimeId: string, count: number) {
    const ceiling = (this.rows.get(showtimeId) ?? 0) + count;
    this.rows.set(showtimeId, ceiling);
    return Promise.resolve(ceiling);
  }
}

/** What one test gets: a store, a second instance over the same state, and its events. */
interface Harness {
  store: SeatHoldStore;
  /** Another instance sharing the state (Redis: its own connection; memory: the same store). */
  peer: SeatHoldStore;
  /**
   * A new instance over what survives a restart, as a new process would get: Redis' keys;
   * for memory, only the version ledger (holds live in the process and go with it).
   */
  restart(): Promise<SeatHoldStore>;
  /** Events published so far for a showtime, in arrival order. */
  events(showtimeId: string): SeatEvent[];
  /** Resolves once every event published before the call has arrived. */
  flush(): Promise<void>;
  close(): Promise<void>;
}

interface Implementation {
  setup(): Promise<void>;
  /** With `records`, every store of the harness learns sales from it. */
  harness(options?: { records?: ReservationRecords }): Promise<Harness>;
  teardown(): Promise<void>;
}

function memoryImplementation(): Implementation {
  return {
    setup: async () => {},
    harness: (extra = {}) => {
      const received = new Map<string, SeatEvent[]>();
      const versions = new FakeLedger();
      const stores: SeatHoldStore[] = [];
      const open = () => {
        const store = new MemorySeatHoldStore({
          ...RULES,
          ...extra,
          versions,
          publish: (showtimeId, event) => {
            expect(event.showtimeId).toBe(showtimeId);
            // A copy, as if it went over the wire: later changes must not alter it.
            received.set(showtimeId, [
              ...(received.get(showtimeId) ?? []),
              JSON.parse(JSON.stringify(event)),
            ]);
          },
        });
        stores.push(store);
        return store;
      };
      const store = open();
      return Promise.resolve<Harness>({
        store,
        peer: store,
        restart: () => Promise.resolve(open()),
        events: (id) => received.get(id) ?? [],
        // The memory store publishes synchronously, inside the change.
        flush: async () => {},
        close: async () => {
          await Promise.all(stores.map((s) => s.close()));
        },
      });
    },
    teardown: async () => {},
  };
}

/** `splitSlots`: the Redis Cluster path (no script touches two slots), run on one Redis. */
function redisImplementation({ splitSlots = false } = {}): Implementation {
  const base = `moviehub-test:${uniquePrefix()}`;
  let redis: RedisClient;
  let peerRedis: RedisClient;
  let subscriber: RedisClient;
  const received = new Map<string, string[]>();
  const barriers = new Map<string, () => void>();
  const barrierChannel = `${base}barrier`;

  return {
    setup: async () => {
      redis = createRedis(testRedisUrl);
      peerRedis = createRedis(testRedisUrl);
      subscriber = createRedis(testRedisUrl);
      subscriber.on('pmessage', (_pattern: string, channel: string, message: string) => {
        if (channel === barrierChannel) {
          barriers.get(message)?.();
          barriers.delete(message);
          return;
        }
        received.set(channel, [...(received.get(channel) ?? []), message]);
      });
      await subscriber.psubscribe(`${base}*`);
    },
    harness: (extra = {}) => {
      // A prefix per test: the sweeper's index spans the prefix, and tests sweep at
      // different fake times.
      const keyPrefix = `${base}${randomUUID().slice(0, 8)}:`;
      const channel = (showtimeId: string) => seatChannel(keyPrefix, showtimeId);
      const options = { ...RULES, ...extra, keyPrefix, channel, splitSlots };
      const store = new RedisSeatHoldStore({ ...options, redis });
      const peer = new RedisSeatHoldStore({ ...options, redis: peerRedis });
      return Promise.resolve<Harness>({
        store,
        peer,
        restart: () => Promise.resolve(new RedisSeatHoldStore({ ...options, redis: peerRedis })),
        events: (id) =>
          (received.get(channel(id)) ?? []).map((message) => {
            const event = JSON.parse(message) as SeatEvent;
            expect(message).toBe(JSON.stringify(event)); // the exact JSON.stringify shape
            return event;
          }),
        // Redis delivers PUBLISHes to a subscriber in the order it executed them, so once a
        // barrier published after the operations arrives, so has everything before it.
        flush: async () => {
          const token = randomUUID();
          const arrived = new Promise<void>((resolve) => barriers.set(token, resolve));
          await redis.publish(barrierChannel, token);
          await arrived;
        },
        close: async () => {
          await Promise.all([store.close(), peer.close()]);
        },
      });
    },
    teardown: async () => {
      if (redis) {
        const keys = await redis.keys(`${base}*`);
        if (keys.length > 0) await redis.del(...keys);
      }
      if (subscriber) await subscriber.punsubscribe();
      await Promise.all([redis, peerRedis, subscriber].filter(Boolean).map(closeRedis));
    },
  };
}

/** Awaits a promise expected to fail with an AppError; returns its code and extensions. */
async function failure(promise: Promise<unknown>): Promise<Record<string, unknown>> {
  try {
    await promise;
  } catch (err) {
    return (err as { extensions?: Record<string, unknown> }).extensions ?? {};
  }
  throw new Error('expected the call to fail');
}

/** A small deterministic PRNG, so a failing random interleaving can be replayed. */
function random(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (Math.imul(state, 1664525) + 1013904223) >>> 0;
    return state / 2 ** 32;
  };
}

const seatsOf = (event: SeatEvent) => event.seats.map((s) => s.seatId).sort();

describe.each([
  ['memory', memoryImplementation],
  ['redis', () => redisImplementation()],
  ['redis, one slot per script', () => redisImplementation({ splitSlots: true })],
])('SeatHoldStore (%s)', (_name, makeImplementation) => {
  const implementation = makeImplementation();
  let h: Harness;
  let showtime: ShowtimeRef;
  let showtimeId: string;

  beforeAll(() => implementation.setup());
  afterAll(() => implementation.teardown());
  beforeEach(async () => {
    h = await implementation.harness();
    showtime = showtimeRef();
    showtimeId = showtime.id;
  });
  afterEach(() => h.close());

  it('of 40 concurrent holds of one seat, exactly one wins; the 39 others name the seat', async () => {
    const holders = Array.from({ length: 40 }, (_, i) => `holder-${i}`);
    const results = await Promise.allSettled(
      holders.map((holder, i) => (i % 2 ? h.peer : h.store).hold(showtime, holder, ['A1'], T0)),
    );
    const winners = holders.filter((_, i) => results[i].status === 'fulfilled');
    expect(winners).toHaveLength(1);
    for (const result of results) {
      if (result.status === 'fulfilled') continue;
      expect(result.reason.extensions).toMatchObject({
        code: 'SEAT_UNAVAILABLE',
        seatIds: ['A1'],
      });
      expect(result.reason.message).not.toContain('holder-');
    }
    const snapshot = await h.store.snapshot(showtimeId, T0);
    expect(snapshot).toEqual({ version: 1, holds: new Map([['A1', winners[0]]]) });
    await h.flush();
    expect(h.events(showtimeId)).toEqual([
      { showtimeId, version: 1, seats: [{ seatId: 'A1', status: 'HELD', holder: winners[0] }] },
    ]);
  });

  it('never leaves a partial hold when overlapping multi-seat holds race', async () => {
    const next = random(42);
    for (let round = 0; round < 5; round++) {
      const played = showtimeRef(`${showtimeId}-${round}`);
      // [A1,A2], [A2,A3], ... plus random runs of 2-4 seats over a 12-seat row.
      const requests = Array.from({ length: 30 }, (_, i) => {
        const start = i < 11 ? i + 1 : 1 + Math.floor(next() * 10);
        const length = i < 11 ? 2 : 2 + Math.floor(next() * 3);
        const seats = Array.from({ length }, (_, k) => `A${start + k}`).filter(
          (seat) => Number(seat.slice(1)) <= 12,
        );
        // Holders of their own per round: one holder's seats in five showtimes at once would
        // be over the showtimes cap, which is not what this test is about.
        return { holder: `holder-${round}-${i}`, seats };
      });
      const results = await Promise.allSettled(
        requests.map(({ holder, seats }, i) =>
          (i % 2 ? h.peer : h.store).hold(played, holder, seats, T0),
        ),
      );
      const { holds, version } = await h.store.snapshot(played.id, T0);
      const winners = new Set(
        requests.filter((_, i) => results[i].status === 'fulfilled').map((r) => r.holder),
      );
      requests.forEach(({ holder, seats }, i) => {
        const result = results[i];
        if (result.status === 'fulfilled') {
          expect(result.value.seatIds.sort()).toEqual([...seats].sort());
          for (const seat of seats) expect(holds.get(seat)).toBe(holder);
        } else {
          expect(result.reason.extensions.code).toBe('SEAT_UNAVAILABLE');
          // Every seat named as unavailable is a winner's (nothing is released in between),
          // and a loser holds nothing at all.
          const named = result.reason.extensions.seatIds as string[];
          expect(named.length).toBeGreaterThan(0);
          for (const seat of named) expect(winners.has(holds.get(seat) ?? '')).toBe(true);
          expect([...holds.values()]).not.toContain(holder);
        }
      });
      for (const holder of holds.values()) expect(winners.has(holder)).toBe(true);
      expect(version).toBe(winners.size);
      await h.flush();
      expect(h.events(played.id).map((e) => e.version)).toEqual(
        Array.from({ length: winners.size }, (_, i) => i + 1),
      );
    }
  });

  it('allows 8 seats per holder; a 9th fails with HOLD_LIMIT_EXCEEDED and changes nothing', async () => {
    await h.store.hold(showtime, 'h', ['A1', 'A2', 'A3', 'A4', 'A5'], T0);
    const eight = await h.store.hold(showtime, 'h', ['A6', 'A7', 'A8'], T0 + 1000);
    expect(eight.seatIds).toEqual(['A1', 'A2', 'A3', 'A4', 'A5', 'A6', 'A7', 'A8']);
    expect(eight.version).toBe(2);
    const before = await h.store.snapshot(showtimeId, T0 + 2000);

    for (const seats of [['A9'], ['A1', 'A9'], ['B1', 'B2']]) {
      expect(await failure(h.store.hold(showtime, 'h', seats, T0 + 2000))).toMatchObject({
        code: 'HOLD_LIMIT_EXCEEDED',
      });
    }
    const nine = Array.from({ length: 9 }, (_, i) => `C${i + 1}`);
    expect(await failure(h.store.hold(showtime, 'other', nine, T0))).toMatchObject({
      code: 'HOLD_LIMIT_EXCEEDED',
    });

    // Holding seats one already holds is fine at the limit, and changes nothing.
    const again = await h.store.hold(showtime, 'h', ['A1', 'A8'], T0 + 2000);
    expect(again).toEqual({ ...eight, expiresAt: new Date(T0 + TTL_MS) });
    expect(await h.store.snapshot(showtimeId, T0 + 2000)).toEqual(before);
    await h.flush();
    expect(h.events(showtimeId).map((e) => e.version)).toEqual([1, 2]);
  });

  it('counts the window from the first hold; sweep() frees exactly that holder’s seats', async () => {
    const first = await h.store.hold(showtime, 'h', ['A1', 'A2'], T0);
    expect(first.expiresAt).toEqual(new Date(T0 + TTL_MS));
    const later = await h.store.hold(showtime, 'h', ['A3'], T0 + TTL_MS / 2);
    expect(later.expiresAt).toEqual(new Date(T0 + TTL_MS)); // not extended
    expect(later.seatIds).toEqual(['A1', 'A2', 'A3']);
    await h.store.hold(showtime, 'g', ['B1'], T0 + TTL_MS / 2);

    expect(await h.store.sweep(T0 + TTL_MS - 1)).toBe(0);
    expect((await h.store.snapshot(showtimeId, T0 + TTL_MS - 1)).holds.size).toBe(4);
    // Past its window h holds nothing, even before any sweep.
    expect(await h.store.snapshot(showtimeId, T0 + TTL_MS)).toEqual({
      version: 3,
      holds: new Map([['B1', 'g']]),
    });

    expect(await h.store.sweep(T0 + TTL_MS)).toBe(1);
    expect(await h.store.sweep(T0 + TTL_MS)).toBe(0);
    await h.flush();
    const events = h.events(showtimeId);
    expect(events).toHaveLength(4);
    expect(events[3]).toEqual({
      showtimeId,
      version: 4,
      seats: ['A1', 'A2', 'A3'].map((seatId) => ({ seatId, status: 'AVAILABLE', holder: null })),
    });
    expect(await h.store.snapshot(showtimeId, T0 + TTL_MS)).toEqual({
      version: 4,
      holds: new Map([['B1', 'g']]),
    });

    // The next hold starts a new window, once the cooldown has passed.
    const renewed = await h.store.hold(showtime, 'h', ['A1'], T0 + TTL_MS + COOLDOWN_MS);
    expect(renewed.expiresAt).toEqual(new Date(T0 + TTL_MS + COOLDOWN_MS + TTL_MS));
  });

  it('releases and publishes each window once when two sweepers race', async () => {
    for (let round = 0; round < 5; round++) {
      const start = T0 + round * 2 * TTL_MS;
      const holders = Array.from({ length: 12 }, (_, i) => `holder-${i}`);
      await Promise.all(
        holders.map((holder, i) =>
          h.store.hold(showtime, holder, [`R${round}S${2 * i}`, `R${round}S${2 * i + 1}`], start),
        ),
      );
      const [a, b] = await Promise.all([
        h.store.sweep(start + TTL_MS),
        h.peer.sweep(start + TTL_MS),
      ]);
      expect(a + b).toBe(holders.length);
      expect((await h.store.snapshot(showtimeId, start)).holds.size).toBe(0);
    }
    await h.flush();
    const releases = h.events(showtimeId).filter((e) => e.seats[0].status === 'AVAILABLE');
    expect(releases).toHaveLength(5 * 12);
    const released = releases.flatMap(seatsOf);
    expect(new Set(released).size).toBe(released.length);
    expect(released).toHaveLength(5 * 24);
    expect(h.events(showtimeId).map((e) => e.version)).toEqual(
      Array.from({ length: 5 * 24 }, (_, i) => i + 1),
    );
  });

  it('publishes consecutive versions across hold, release, sweep and publishChange', async () => {
    const returned: number[] = [];
    returned.push((await h.store.hold(showtime, 'h', ['A1', 'A2', 'A3'], T0)).version);
    await failure(h.store.hold(showtime, 'g', ['A3', 'A4'], T0)); // no version
    returned.push((await h.store.release(showtime, 'h', ['A3'], T0)).version);
    returned.push(await h.store.publishChange(showtime, [{ seatId: 'A1', status: 'BOOKED' }]));
    const burst = await Promise.all(
      Array.from({ length: 20 }, (_, i) =>
        (i % 2 ? h.peer : h.store).hold(showtime, `b${i}`, [`B${i}`], T0 + 1),
      ),
    );
    returned.push(...burst.map((r) => r.version));
    returned.push((await h.store.hold(showtime, 'g', ['A2'], T0 + TTL_MS)).version); // taken over
    expect(await h.store.sweep(T0 + TTL_MS + 1)).toBe(21); // h (nothing left) and b0..b19
    returned.push(
      await h.store.publishChange(showtime, [
        { seatId: 'C1', status: 'BLOCKED' },
        { seatId: 'A2', status: 'AVAILABLE' },
      ]),
    );

    await h.flush();
    const versions = h.events(showtimeId).map((e) => e.version);
    // 1 hold, 1 release, 1 change, 20 holds, 1 take-over, 20 sweeps (h had nothing left), 1 change
    expect(versions).toEqual(Array.from({ length: 45 }, (_, i) => i + 1));
    expect(new Set(returned)).toEqual(new Set(versions.filter((v) => v < 25 || v === 45)));
    const last = h.events(showtimeId)[44];
    expect(last.seats).toEqual([
      { seatId: 'C1', status: 'BLOCKED', holder: null },
      { seatId: 'A2', status: 'AVAILABLE', holder: null },
    ]);
    expect(await h.store.snapshot(showtimeId, T0 + TTL_MS + 1)).toEqual({
      version: 45,
      holds: new Map(),
    });
  });

  it('ignores a release by someone who does not hold the seats', async () => {
    await h.store.hold(showtime, 'h', ['A1', 'A2'], T0);
    await h.store.hold(showtime, 'g', ['B1'], T0);
    const before = await h.store.snapshot(showtimeId, T0);

    expect(await h.store.release(showtime, 'g', ['A1', 'A2'], T0)).toEqual({
      released: [],
      version: 2,
    });
    expect(await h.store.release(showtime, 'nobody', ['A1', 'Z9'], T0)).toEqual({
      released: [],
      version: 2,
    });
    expect(await h.store.snapshot(showtimeId, T0)).toEqual(before);
    await h.flush();
    expect(h.events(showtimeId)).toHaveLength(2);

    // A mixed request releases only the caller's own seat.
    expect(await h.store.release(showtime, 'g', ['A1', 'B1'], T0)).toEqual({
      released: ['B1'],
      version: 3,
    });
    await h.flush();
    expect(h.events(showtimeId)[2]).toEqual({
      showtimeId,
      version: 3,
      seats: [{ seatId: 'B1', status: 'AVAILABLE', holder: null }],
    });
  });

  it('lets another holder take an expired window’s seats before the sweeper ran', async () => {
    await h.store.hold(showtime, 'h', ['A1', 'A2'], T0);
    expect(await failure(h.store.hold(showtime, 'g', ['A1'], T0 + TTL_MS - 1))).toMatchObject({
      code: 'SEAT_UNAVAILABLE',
      seatIds: ['A1'],
    });
    const taken = await h.store.hold(showtime, 'g', ['A1'], T0 + TTL_MS);
    expect(taken).toEqual({
      expiresAt: new Date(T0 + 2 * TTL_MS),
      version: 2,
      seatIds: ['A1'],
    });
    // h's own late release frees nothing: it no longer holds anything.
    expect(await h.store.release(showtime, 'h', ['A2'], T0 + TTL_MS)).toEqual({
      released: [],
      version: 2,
    });
    expect(await h.store.snapshot(showtimeId, T0 + TTL_MS)).toEqual({
      version: 2,
      holds: new Map([['A1', 'g']]),
    });

    // The sweep frees what h still had (A2), and leaves g's A1 alone.
    expect(await h.store.sweep(T0 + TTL_MS)).toBe(1);
    await h.flush();
    expect(h.events(showtimeId)).toEqual([
      {
        showtimeId,
        version: 1,
        seats: [
          { seatId: 'A1', status: 'HELD', holder: 'h' },
          { seatId: 'A2', status: 'HELD', holder: 'h' },
        ],
      },
      { showtimeId, version: 2, seats: [{ seatId: 'A1', status: 'HELD', holder: 'g' }] },
      { showtimeId, version: 3, seats: [{ seatId: 'A2', status: 'AVAILABLE', holder: null }] },
    ]);
    expect((await h.store.snapshot(showtimeId, T0 + TTL_MS)).holds).toEqual(new Map([['A1', 'g']]));
  });

  it('gives a holder whose window passed a new one, freeing leftovers it no longer wants', async () => {
    await h.store.hold(showtime, 'h', ['A1', 'A2'], T0);
    const again = T0 + TTL_MS + COOLDOWN_MS; // the cooldown is another test's
    const renewed = await h.store.hold(showtime, 'h', ['A2', 'A3'], again);
    expect(renewed).toEqual({
      expiresAt: new Date(again + TTL_MS),
      version: 2,
      seatIds: ['A2', 'A3'],
    });
    expect(await h.store.sweep(again)).toBe(0); // the window is the new one
    await h.flush();
    expect(h.events(showtimeId)[1]).toEqual({
      showtimeId,
      version: 2,
      seats: [
        { seatId: 'A1', status: 'AVAILABLE', holder: null },
        { seatId: 'A2', status: 'HELD', holder: 'h' },
        { seatId: 'A3', status: 'HELD', holder: 'h' },
      ],
    });
    expect(await h.store.sweep(again + TTL_MS)).toBe(1);
  });

  it('publishChange removes holds on the changed seats and never names a holder', async () => {
    await h.store.hold(showtime, 'h', ['A1', 'A2'], T0);
    const version = await h.store.publishChange(showtime, [
      { seatId: 'A1', status: 'BOOKED' },
      { seatId: 'C5', status: 'BLOCKED' },
    ]);
    expect(version).toBe(2);
    expect((await h.store.snapshot(showtimeId, T0)).holds).toEqual(new Map([['A2', 'h']]));
    // The seat is free of holds now; whether it may be held is the booking records' call.
    expect((await h.store.hold(showtime, 'g', ['A1'], T0)).seatIds).toEqual(['A1']);
    await h.flush();
    expect(h.events(showtimeId)[1]).toEqual({
      showtimeId,
      version: 2,
      seats: [
        { seatId: 'A1', status: 'BOOKED', holder: null },
        { seatId: 'C5', status: 'BLOCKED', holder: null },
      ],
    });
    for (const event of h.events(showtimeId)) {
      expect(Object.keys(event).sort()).toEqual(['seats', 'showtimeId', 'version']);
      for (const seat of event.seats) {
        expect(Object.keys(seat).sort()).toEqual(['holder', 'seatId', 'status']);
      }
    }
  });

  describe('reservations (a booking’s seats)', () => {
    const until = T0 + 2 * TTL_MS;

    it('turns the holder’s holds into a reservation nobody can hold, in one event', async () => {
      await h.store.hold(showtime, 'h', ['A1', 'A2', 'A3'], T0);
      expect(await h.store.reserve(showtime, 'h', ['A1', 'A2'], until, T0 + 1000)).toEqual({
        version: 2,
      });
      // Listed under the holder (the seat map shows them HELD, heldByMe for the holder).
      expect(await h.store.snapshot(showtimeId, T0 + 1000)).toEqual({
        version: 2,
        holds: new Map([
          ['A1', 'h'],
          ['A2', 'h'],
          ['A3', 'h'],
        ]),
      });
      for (const [holder, seats] of [
        ['g', ['A1']],
        ['g', ['A2', 'B1']],
        ['h', ['A1']], // the holder too: the seats are its booking's now
      ] as const) {
        expect(await failure(h.store.hold(showtime, holder, [...seats], T0 + 2000))).toEqual({
          code: 'SEAT_UNAVAILABLE',
          seatIds: seats.filter((s) => s !== 'B1'),
        });
      }
      // Its own release does not touch them; nor does the end of its window.
      expect(await h.store.release(showtime, 'h', ['A1', 'A2', 'A3'], T0 + 3000)).toEqual({
        released: ['A3'],
        version: 3,
      });
      expect(await h.store.sweep(T0 + TTL_MS)).toBe(1);
      expect((await h.store.snapshot(showtimeId, T0 + TTL_MS)).holds).toEqual(
        new Map([
          ['A1', 'h'],
          ['A2', 'h'],
        ]),
      );
      await h.flush();
      expect(h.events(showtimeId)).toEqual([
        expect.objectContaining({ version: 1 }),
        {
          showtimeId,
          version: 2,
          seats: [
            { seatId: 'A1', status: 'HELD', holder: 'h' },
            { seatId: 'A2', status: 'HELD', holder: 'h' },
          ],
        },
        { showtimeId, version: 3, seats: [{ seatId: 'A3', status: 'AVAILABLE', holder: null }] },
      ]);
    });

    it('is idempotent: a retry changes nothing and publishes nothing', async () => {
      await h.store.hold(showtime, 'h', ['A1', 'A2'], T0);
      await h.store.reserve(showtime, 'h', ['A1', 'A2'], until, T0);
      // After the window has passed too: the reservation is what counts now.
      for (const at of [T0 + 1, T0 + TTL_MS + 1]) {
        expect(await h.store.reserve(showtime, 'h', ['A2', 'A1'], until, at)).toEqual({
          version: 2,
        });
      }
      await h.flush();
      expect(h.events(showtimeId).map((e) => e.version)).toEqual([1, 2]);
    });

    it('refuses seats the holder does not hold with SEATS_NOT_HELD, changing nothing', async () => {
      await h.store.hold(showtime, 'h', ['A1'], T0);
      await h.store.hold(showtime, 'g', ['B1'], T0);
      for (const seats of [['A1', 'A2'], ['B1'], ['A1', 'B1', 'C1']]) {
        expect(await failure(h.store.reserve(showtime, 'h', seats, until, T0))).toEqual({
          code: 'SEATS_NOT_HELD',
          seatIds: seats.filter((s) => s !== 'A1'),
        });
      }
      // Once the holder's window has passed it holds nothing, even before the sweeper ran.
      expect(await failure(h.store.reserve(showtime, 'h', ['A1'], until, T0 + TTL_MS))).toEqual({
        code: 'SEATS_NOT_HELD',
        seatIds: ['A1'],
      });
      expect(await h.store.snapshot(showtimeId, T0)).toEqual({
        version: 2,
        holds: new Map([
          ['A1', 'h'],
          ['B1', 'g'],
        ]),
      });
    });

    it('stops counting the seats against the holder: seats, showtimes, cooldown', async () => {
      const eight = Array.from({ length: MAX_SEATS }, (_, i) => `A${i + 1}`);
      await h.store.hold(showtime, 'h', eight, T0);
      await h.store.reserve(showtime, 'h', eight, until, T0 + 1000);
      // Eight more seats within the window, in the same showtime.
      const more = Array.from({ length: MAX_SEATS }, (_, i) => `B${i + 1}`);
      expect((await h.store.hold(showtime, 'h', more, T0 + 2000)).seatIds).toEqual(more);
      await h.store.reserve(showtime, 'h', more, until, T0 + 3000);
      // The showtime no longer takes a place among the holder's MAX_SHOWTIMES.
      const others = Array.from({ length: MAX_SHOWTIMES }, () => showtimeRef());
      for (const other of others) await h.store.hold(other, 'h', ['A1'], T0 + 3000);
      for (const other of others) await h.store.release(other, 'h', ['A1'], T0 + 4000);
      // The cooldown ran from the reservation, as from a release: none left at the window's end.
      const next = await h.store.hold(showtime, 'h', ['C1'], T0 + TTL_MS);
      expect(next.expiresAt).toEqual(new Date(T0 + 2 * TTL_MS));
    });

    it('lapses at its end: the seats are free again, no event needed', async () => {
      await h.store.hold(showtime, 'h', ['A1'], T0);
      await h.store.reserve(showtime, 'h', ['A1'], T0 + 5000, T0);
      expect((await h.store.snapshot(showtimeId, T0 + 5000)).holds).toEqual(new Map());
      expect((await h.store.hold(showtime, 'g', ['A1'], T0 + 5000)).seatIds).toEqual(['A1']);
      expect(await failure(h.store.reserve(showtime, 'h', ['A1'], until, T0 + 5000))).toEqual({
        code: 'SEATS_NOT_HELD',
        seatIds: ['A1'],
      });
    });

    it('leaves with publishChange (BOOKED, then AVAILABLE after a cancellation)', async () => {
      await h.store.hold(showtime, 'h', ['A1', 'A2'], T0);
      await h.store.reserve(showtime, 'h', ['A1', 'A2'], until, T0);
      expect(
        await h.store.publishChange(showtime, [
          { seatId: 'A1', status: 'BOOKED' },
          { seatId: 'A2', status: 'AVAILABLE' },
        ]),
      ).toBe(3);
      expect(await h.store.snapshot(showtimeId, T0)).toEqual({ version: 3, holds: new Map() });
      // A2 is free of reservations; A1's sale is the booking records' (PostgreSQL) to refuse.
      expect((await h.store.hold(showtime, 'g', ['A2'], T0)).seatIds).toEqual(['A2']);
    });

    it('of a reservation racing another holder’s hold on a window that just ran out, one wins', async () => {
      for (let round = 0; round < 10; round++) {
        const played = showtimeRef();
        await h.store.hold(played, 'h', ['A1', 'A2'], T0);
        const at = T0 + TTL_MS; // h's window ends: g may take the seats, h may not book them
        const [reserved, held] = await Promise.allSettled([
          (round % 2 ? h.peer : h.store).reserve(played, 'h', ['A1', 'A2'], until, at - 1),
          (round % 2 ? h.store : h.peer).hold(played, 'g', ['A2'], at),
        ]);
        // Exactly one of them has A2.
        expect([reserved.status, held.status].filter((s) => s === 'fulfilled')).toHaveLength(1);
        const holds = (await h.store.snapshot(played.id, at)).holds;
        expect(holds.get('A2')).toBe(reserved.status === 'fulfilled' ? 'h' : 'g');
      }
    });

    describe('retake (a paid booking takes released seats back)', () => {
      it('reserves seats whoever holds them, in one event, and ends those holds for good', async () => {
        await h.store.hold(showtime, 'g', ['A1', 'B1'], T0);
        expect(await h.store.retake(showtime, 'h', ['A2', 'A1'], until, T0 + 1000)).toEqual({
          version: 2,
        });
        expect(await h.store.snapshot(showtimeId, T0 + 1000)).toEqual({
          version: 2,
          holds: new Map([
            ['A1', 'h'],
            ['A2', 'h'],
            ['B1', 'g'],
          ]),
        });
        // Nobody holds them now: the holder it took them from, their holder, anyone else.
        for (const holder of ['g', 'h', 'k']) {
          expect(await failure(h.store.hold(showtime, holder, ['A1', 'C1'], T0 + 2000))).toEqual({
            code: 'SEAT_UNAVAILABLE',
            seatIds: ['A1'],
          });
        }
        // g no longer holds A1: its release frees nothing, and the end of its window
        // announces B1 alone.
        expect(await h.store.release(showtime, 'g', ['A1'], T0 + 3000)).toEqual({
          released: [],
          version: 2,
        });
        expect(await h.store.sweep(T0 + TTL_MS)).toBe(1);
        expect((await h.store.snapshot(showtimeId, T0 + TTL_MS)).holds).toEqual(
          new Map([
            ['A1', 'h'],
            ['A2', 'h'],
          ]),
        );
        await h.flush();
        expect(h.events(showtimeId)).toEqual([
          expect.objectContaining({ version: 1 }),
          {
            showtimeId,
            version: 2,
            seats: [
              { seatId: 'A2', status: 'HELD', holder: 'h' },
              { seatId: 'A1', status: 'HELD', holder: 'h' },
            ],
          },
          { showtimeId, version: 3, seats: [{ seatId: 'B1', status: 'AVAILABLE', holder: null }] },
        ]);
      });

      it('replaces a lapsed or an orphaned reservation, and a retry only moves its end later', async () => {
        await h.store.hold(showtime, 'g', ['A1'], T0);
        await h.store.reserve(showtime, 'g', ['A1'], T0 + 5000, T0);
        await h.store.hold(showtime, 'k', ['B1'], T0);
        await h.store.reserve(showtime, 'k', ['B1'], until, T0);
        // g's has lapsed; k's lasts, but the caller's record says no booking is behind it.
        expect(await h.store.retake(showtime, 'h', ['A1', 'B1'], until, T0 + 6000)).toEqual({
          version: 5,
        });
        // Retries, with an earlier end and then a later one: no change to announce.
        expect(await h.store.retake(showtime, 'h', ['B1', 'A1'], until, T0 + 7000)).toEqual({
          version: 5,
        });
        expect(await h.store.retake(showtime, 'h', ['A1'], T0 + 10_000, T0 + 7000)).toEqual({
          version: 5,
        });
        expect(await h.store.retake(showtime, 'h', ['A1'], until + TTL_MS, T0 + 8000)).toEqual({
          version: 5,
        });
        expect((await h.store.snapshot(showtimeId, until - 1)).holds).toEqual(
          new Map([
            ['A1', 'h'],
            ['B1', 'h'],
          ]),
        );
        expect((await h.store.snapshot(showtimeId, until)).holds).toEqual(new Map([['A1', 'h']]));
        expect((await h.store.hold(showtime, 'k', ['B1'], until)).seatIds).toEqual(['B1']);
        await h.flush();
        expect(h.events(showtimeId).map((e) => e.version)).toEqual([1, 2, 3, 4, 5, 6]);
        expect(h.events(showtimeId)[4].seats).toEqual([
          { seatId: 'A1', status: 'HELD', holder: 'h' },
          { seatId: 'B1', status: 'HELD', holder: 'h' },
        ]);
      });

      it('leaves with publishChange, and refuses an end in the past or malformed seats', async () => {
        await h.store.retake(showtime, 'h', ['A1'], until, T0);
        expect(await h.store.publishChange(showtime, [{ seatId: 'A1', status: 'BOOKED' }])).toBe(2);
        expect(await h.store.snapshot(showtimeId, T0)).toEqual({ version: 2, holds: new Map() });
        await expect(h.store.retake(showtime, 'h', ['A2'], T0, T0)).rejects.toThrow(
          'in the future',
        );
        expect(await failure(h.store.retake(showtime, 'h', ['A2', 'A2'], until, T0))).toEqual({
          code: 'BAD_USER_INPUT',
          field: 'seatIds',
        });
        expect((await h.store.snapshot(showtimeId, T0)).version).toBe(2);
      });
    });
  });

  it('keeps showtimes apart', async () => {
    const other = showtimeRef();
    await h.store.hold(showtime, 'h', ['A1'], T0);
    expect((await h.store.hold(other, 'g', ['A1'], T0)).version).toBe(1);
    expect((await h.store.snapshot(other.id, T0)).holds).toEqual(new Map([['A1', 'g']]));
    expect(await h.store.snapshot(randomUUID(), T0)).toEqual({ version: 0, holds: new Map() });
  });

  it('refuses malformed input with BAD_USER_INPUT before touching any state', async () => {
    const bad: Array<[() => Promise<unknown>, string]> = [
      [() => h.store.hold(showtime, 'h', [], T0), 'seatIds'],
      [() => h.store.hold(showtime, 'h', ['A1', 'A1'], T0), 'seatIds'],
      [() => h.store.hold(showtime, 'h', [''], T0), 'seatIds'],
      [() => h.store.release(showtime, 'h', [], T0), 'seatIds'],
      [() => h.store.release(showtime, 'h', ['A1', 'A1'], T0), 'seatIds'],
      [() => h.store.hold(showtimeRef('a|b'), 'h', ['A1'], T0), 'showtimeId'],
      [() => h.store.hold(showtimeRef('{x}'), 'h', ['A1'], T0), 'showtimeId'],
      [() => h.store.publishChange(showtime, []), 'seats'],
      [
        () => h.store.publishChange(showtime, [{ seatId: 'A1', status: 'HELD' as 'BOOKED' }]),
        'seats',
      ],
    ];
    for (const [call, field] of bad) {
      expect(await failure(call())).toEqual({ code: 'BAD_USER_INPUT', field });
    }
    expect(await h.store.snapshot(showtimeId, T0)).toEqual({ version: 0, holds: new Map() });
    await h.flush();
    expect(h.events(showtimeId)).toEqual([]);
  });

  describe('against hoarding', () => {
    const end = T0 + TTL_MS;

    it('refuses a new window until the cooldown after one that ran out, sweep or not', async () => {
      await h.store.hold(showtime, 'h', ['A1', 'A2'], T0);
      await h.store.hold(showtime, 'g', ['B1'], T0 + 1000);

      // The instant the window ends, and after the sweeper freed its seats: not yet.
      expect(await failure(h.store.hold(showtime, 'h', ['A1'], end))).toEqual({
        code: 'RATE_LIMITED',
        retryAfter: COOLDOWN_SECONDS,
      });
      expect(await h.store.sweep(end)).toBe(1);
      const late = await failure(h.store.hold(showtime, 'h', ['C1'], end + COOLDOWN_MS - 1500));
      expect(late).toEqual({ code: 'RATE_LIMITED', retryAfter: 2 }); // rounded up
      // Nothing changed for the refusals: no version, no event, the seats free to others.
      expect((await h.store.snapshot(showtimeId, end)).version).toBe(3);
      expect((await h.store.hold(showtime, 'g', ['A1'], end)).seatIds).toEqual(['A1', 'B1']);

      const renewed = await h.store.hold(showtime, 'h', ['A2'], end + COOLDOWN_MS);
      expect(renewed.expiresAt).toEqual(new Date(end + COOLDOWN_MS + TTL_MS));
      // Only this showtime: elsewhere the same holder starts at once.
      expect((await h.store.hold(showtimeRef(), 'h', ['A1'], end)).seatIds).toEqual(['A1']);
    });

    it('keeps the window’s end when a holder releases everything and holds again', async () => {
      await h.store.hold(showtime, 'h', ['A1', 'A2'], T0);
      expect(await h.store.release(showtime, 'h', ['A1', 'A2'], T0 + 1000)).toMatchObject({
        released: ['A1', 'A2'],
      });
      const again = await h.store.hold(showtime, 'h', ['A3'], T0 + 2000);
      expect(again.expiresAt).toEqual(new Date(end)); // not a fresh ten minutes
      // Holding again puts the cooldown back at the window's end.
      expect(await failure(h.store.hold(showtime, 'h', ['A3'], end + 1000))).toEqual({
        code: 'RATE_LIMITED',
        retryAfter: COOLDOWN_SECONDS - 1,
      });
    });

    it('counts the cooldown from the last seat released, so giving seats back early costs nothing', async () => {
      await h.store.hold(showtime, 'h', ['A1', 'A2'], T0);
      await h.store.release(showtime, 'h', ['A1'], T0 + 1000); // one seat: nothing starts
      await h.store.release(showtime, 'h', ['A2'], T0 + 2000);
      const next = await h.store.hold(showtime, 'h', ['A1'], end);
      expect(next.expiresAt).toEqual(new Date(end + TTL_MS));

      // Released just before the end: the window passes, the cooldown runs from the release.
      const other = showtimeRef();
      await h.store.hold(other, 'g', ['A1'], T0);
      await h.store.release(other, 'g', ['A1'], end - 10_000);
      expect(await failure(h.store.hold(other, 'g', ['A1'], end))).toEqual({
        code: 'RATE_LIMITED',
        retryAfter: COOLDOWN_SECONDS - 10,
      });
      expect((await h.store.hold(other, 'g', ['A1'], end - 10_000 + COOLDOWN_MS)).seatIds).toEqual([
        'A1',
      ]);
    });

    it(`holds seats in at most ${MAX_SHOWTIMES} showtimes at once`, async () => {
      const [a, b, c, d] = [showtime, showtimeRef(), showtimeRef(), showtimeRef()];
      await h.store.hold(a, 'h', ['A1'], T0);
      await h.store.hold(b, 'h', ['A1'], T0);
      await h.store.hold(c, 'h', ['A1'], T0 + 60_000);
      expect(await failure(h.store.hold(d, 'h', ['A1'], T0))).toEqual({
        code: 'HOLD_LIMIT_EXCEEDED',
        limit: MAX_SHOWTIMES,
      });
      await expect(h.store.hold(d, 'h', ['A1'], T0)).rejects.toThrow(
        `Seats can be held in at most ${MAX_SHOWTIMES} showtimes at once`,
      );
      expect(await h.store.snapshot(d.id, T0)).toEqual({ version: 0, holds: new Map() });
      // More seats where it already holds some, and holding the same again, are fine.
      expect((await h.store.hold(a, 'h', ['A1', 'A2'], T0)).seatIds).toEqual(['A1', 'A2']);
      expect((await h.store.hold(d, 'g', ['A1'], T0)).seatIds).toEqual(['A1']); // others too

      // Releasing every seat of one showtime frees its place at once.
      await h.store.release(b, 'h', ['A1'], T0 + 1000);
      expect((await h.store.hold(d, 'h', ['A2'], T0 + 1000)).seatIds).toEqual(['A2']);
      expect(await failure(h.store.hold(b, 'h', ['A1'], T0 + 1000))).toMatchObject({
        code: 'HOLD_LIMIT_EXCEEDED',
      });
      // So does a window running out (a's, at `end`; c's and d's run a little longer).
      expect((await h.store.hold(showtimeRef(), 'h', ['A1'], end)).seatIds).toEqual(['A1']);
      expect(await failure(h.store.hold(showtimeRef(), 'h', ['A1'], end + 1))).toMatchObject({
        code: 'HOLD_LIMIT_EXCEEDED',
      });
    });

    it('keeps a showtime among the holder’s while further holds there are refused', async () => {
      const [a, b, c, d] = [showtime, showtimeRef(), showtimeRef(), showtimeRef()];
      for (const s of [a, b, c]) await h.store.hold(s, 'h', ['A1'], T0);
      await h.store.hold(a, 'g', ['A2'], T0);
      // Refused in a (a seat of g's; then more seats than a holder may have): A1 stays h's.
      expect(await failure(h.store.hold(a, 'h', ['A2'], T0 + 1000))).toMatchObject({
        code: 'SEAT_UNAVAILABLE',
      });
      const nine = Array.from({ length: MAX_SEATS }, (_, i) => `B${i + 1}`);
      expect(await failure(h.store.hold(a, 'h', nine, T0 + 1000))).toMatchObject({
        code: 'HOLD_LIMIT_EXCEEDED',
      });
      expect(await failure(h.store.hold(d, 'h', ['A1'], T0 + 2000))).toEqual({
        code: 'HOLD_LIMIT_EXCEEDED',
        limit: MAX_SHOWTIMES,
      });
      expect((await h.store.snapshot(a.id, T0 + 2000)).holds.get('A1')).toBe('h');
    });

    it(`admits ${RATE_PER_MINUTE} hold and release calls a minute per holder`, async () => {
      for (let i = 0; i < RATE_PER_MINUTE; i++) await h.store.admit('h', T0 + i * 1000);
      expect(await failure(h.store.admit('h', T0 + 45_500))).toEqual({
        code: 'RATE_LIMITED',
        retryAfter: 15, // when the call made at T0 leaves the minute (14.5 s, rounded up)
      });
      await expect(h.store.admit('h', T0 + 45_500)).rejects.toThrow(
        `At most ${RATE_PER_MINUTE} seat holds and releases a minute`,
      );
      await h.store.admit('g', T0 + 45_500); // per holder
      await h.store.admit('h', T0 + 60_000);
      expect(await failure(h.store.admit('h', T0 + 60_500))).toMatchObject({
        code: 'RATE_LIMITED',
        retryAfter: 1,
      });
      await h.store.admit('h', T0 + 61_000);
    });
  });

  describe('with the reservation record', () => {
    /** A record source that counts its reads and can act while one is under way. */
    const source = (
      read: (
        call: number,
      ) => Promise<{ sold: string[]; pending?: [string, string, number][]; closed?: boolean }>,
    ) => {
      let calls = 0;
      const records: ReservationRecords = async () => {
        calls += 1;
        const { sold, pending = [], closed = false } = await read(calls);
        return {
          closed,
          sold,
          pending: pending.map(([seatId, holder, until]) => ({ seatId, holder, until })),
        };
      };
      return { records, calls: () => calls };
    };
    let withRecords: Harness | undefined;
    afterEach(async () => {
      await withRecords?.close();
      withRecords = undefined;
    });

    it('refuses what the record has sold or reserved, reading it once per showtime', async () => {
      const record = source(() =>
        Promise.resolve({ sold: ['A1'], pending: [['A2', 'booker', T0 + 60_000]] }),
      );
      withRecords = await implementation.harness({ records: record.records });
      const { store, peer } = withRecords;
      expect(await failure(store.hold(showtime, 'h', ['A1', 'A3'], T0))).toEqual({
        code: 'SEAT_UNAVAILABLE',
        seatIds: ['A1'],
      });
      expect(await failure(peer.hold(showtime, 'g', ['A2'], T0))).toMatchObject({
        seatIds: ['A2'],
      });
      expect((await peer.hold(showtime, 'g', ['A3'], T0)).seatIds).toEqual(['A3']);
      expect(record.calls()).toBe(1);
      // The booking's reservation is listed under its booker, like one made by `reserve`,
      // and lapses at its end.
      expect((await store.snapshot(showtimeId, T0)).holds.get('A2')).toBe('booker');
      expect((await store.hold(showtime, 'h', ['A2'], T0 + 60_000)).seatIds).toEqual(['A2']);
      // Another showtime has a record of its own.
      await store.hold(showtimeRef(), 'h', ['B1'], T0);
      expect(record.calls()).toBe(2);
    });

    it('keeps what it learnt current from published changes', async () => {
      const record = source(() => Promise.resolve({ sold: ['A1'] }));
      withRecords = await implementation.harness({ records: record.records });
      const { store } = withRecords;
      await store.hold(showtime, 'h', ['A5'], T0);
      await store.publishChange(showtime, [
        { seatId: 'A1', status: 'AVAILABLE' },
        { seatId: 'A4', status: 'BOOKED' },
      ]);
      expect(await failure(store.hold(showtime, 'g', ['A4'], T0))).toMatchObject({
        code: 'SEAT_UNAVAILABLE',
        seatIds: ['A4'],
      });
      expect((await store.hold(showtime, 'g', ['A1'], T0)).seatIds).toEqual(['A1']);
      expect(record.calls()).toBe(1);
    });

    it('reads the record again when a change is published while it reads', async () => {
      const stores: { peer?: SeatHoldStore } = {};
      const record = source(async (call) => {
        if (call > 1) return { sold: [] };
        // The seat is released (a cancelled booking) after this read: the read is stale.
        await stores.peer!.publishChange(showtime, [{ seatId: 'A1', status: 'AVAILABLE' }]);
        return { sold: ['A1'] };
      });
      withRecords = await implementation.harness({ records: record.records });
      stores.peer = withRecords.peer;
      expect((await withRecords.store.hold(showtime, 'h', ['A1'], T0)).seatIds).toEqual(['A1']);
      expect(record.calls()).toBe(2);
    });

    it('closes the showtime on every instance when the record says it was cancelled', async () => {
      // As after a store lost its mark of the cancellation: the record brings it back.
      const record = source(() => Promise.resolve({ sold: [], closed: true }));
      withRecords = await implementation.harness({ records: record.records });
      for (const store of [withRecords.store, withRecords.peer]) {
        expect(await failure(store.hold(showtime, 'h', ['A1'], T0))).toEqual(CANCELLED);
      }
      expect((await withRecords.store.snapshot(showtimeId, T0)).holds.size).toBe(0);
    });
  });

  it('refuses every hold in a closed showtime, on every instance; releases still work', async () => {
    await h.store.hold(showtime, 'h', ['A1', 'A2'], T0);
    await h.store.closeShowtime(showtime);
    await h.store.closeShowtime(showtime); // idempotent
    for (const store of [h.store, h.peer]) {
      const refused = failure(store.hold(showtime, 'g', ['B1'], T0));
      expect(await refused).toEqual(CANCELLED);
    }
    await expect(h.store.hold(showtime, 'h', ['A3'], T0)).rejects.toThrow(
      'The showtime was cancelled',
    );
    expect((await h.store.release(showtime, 'h', ['A1'], T0)).released).toEqual(['A1']);
    expect((await h.store.hold(showtimeRef(), 'g', ['B1'], T0)).seatIds).toEqual(['B1']);
    expect((await h.store.snapshot(showtimeId, T0)).holds).toEqual(new Map([['A2', 'h']]));
  });

  it('counts a hold or release against the rate in the same step when asked to', async () => {
    for (let i = 0; i < RATE_PER_MINUTE - 2; i++) await h.store.admit('h', T0);
    await h.store.hold(showtime, 'h', ['A1'], T0, { admit: true });
    await h.store.release(showtime, 'h', ['A1'], T0, { admit: true });
    const before = await h.store.snapshot(showtimeId, T0);
    for (const refused of [
      h.store.hold(showtime, 'h', ['A2'], T0, { admit: true }),
      h.peer.release(showtime, 'h', ['A1'], T0, { admit: true }),
    ]) {
      expect(await failure(refused)).toEqual({ code: 'RATE_LIMITED', retryAfter: 60 });
    }
    expect(await h.store.snapshot(showtimeId, T0)).toEqual(before);
    // Without `admit`, as before: the caller counted the call itself.
    expect((await h.store.hold(showtime, 'h', ['A2'], T0)).seatIds).toEqual(['A2']);
  });

  it('never lets a showtime’s version go back across a restart, then counts on one by one', async () => {
    await h.store.hold(showtime, 'h', ['A1', 'A2'], T0);
    await h.store.release(showtime, 'h', ['A1'], T0);
    await h.store.publishChange(showtime, [{ seatId: 'C1', status: 'BLOCKED' }]);
    const before = (await h.store.snapshot(showtimeId, T0)).version;
    expect(before).toBe(3);
    await h.flush();

    const restarted = await h.restart(); // the old instance is not closed first: a crash
    const after = (await restarted.snapshot(showtimeId, T0)).version;
    expect(after).toBeGreaterThanOrEqual(before);
    const next = [
      (await restarted.hold(showtime, 'g', ['B1'], T0)).version,
      (await restarted.release(showtime, 'g', ['B1'], T0)).version,
      await restarted.publishChange(showtime, [{ seatId: 'C1', status: 'AVAILABLE' }]),
    ];
    expect(next).toEqual([after + 1, after + 2, after + 3]);
    const again = await h.restart();
    expect((await again.snapshot(showtimeId, T0)).version).toBeGreaterThanOrEqual(after + 3);
    await h.flush();
    const versions = h.events(showtimeId).map((e) => e.version);
    expect(versions).toEqual([1, 2, 3, after + 1, after + 2, after + 3]);
  });

  it('refuses calls once closed', async () => {
    await h.store.close();
    await expect(h.store.hold(showtime, 'h', ['A1'], T0)).rejects.toThrow(/closed/);
    await expect(h.store.sweep(T0)).rejects.toThrow(/closed/);
  });
});

/**
 * A connection of the describe block's own (opened before its tests, closed after them) and a
 * key prefix of its own, whose keys are deleted at the end.
 */
function redisOfTheBlock(): { redis: RedisClient; readonly keyPrefix: string } {
  const block = {
    redis: undefined as unknown as RedisClient,
    keyPrefix: `moviehub-test:${uniquePrefix()}`,
  };
  beforeAll(() => {
    block.redis = createRedis(testRedisUrl);
  });
  afterAll(async () => {
    const keys = await block.redis.keys(`${block.keyPrefix}*`);
    if (keys.length > 0) await block.redis.del(...keys);
    await closeRedis(block.redis);
  });
  return block;
}

/**
 * A store on a connection of its own (made with `options`) under a prefix of its own (tests
 * of 'RedisSeatHoldStore keys' list every key of their block's); both gone after `use`.
 */
async function onConnectionOfItsOwn(
  options: RedisOptions,
  use: (store: RedisSeatHoldStore, redis: RedisClient, keyPrefix: string) => Promise<void>,
): Promise<void> {
  const redis = createRedis(testRedisUrl, options);
  const keyPrefix = `moviehub-test:${uniquePrefix()}`;
  try {
    const store = new RedisSeatHoldStore({
      ...RULES,
      redis,
      keyPrefix,
      channel: (id) => seatChannel(keyPrefix, id),
    });
    await use(store, redis, keyPrefix);
  } finally {
    const keys = await redis.keys(`${keyPrefix}*`);
    if (keys.length > 0) await redis.del(...keys);
    await closeRedis(redis);
  }
}

describe('RedisSeatHoldStore keys', () => {
  const own = redisOfTheBlock();
  /** A store under a prefix of its own (tests below list every key of `own`'s). */
  const storeOfItsOwn = (records: ReservationRecords) => {
    const keyPrefix = `moviehub-test:${uniquePrefix()}`;
    const store = new RedisSeatHoldStore({
      ...RULES,
      redis: own.redis,
      keyPrefix,
      channel: (id) => seatChannel(keyPrefix, id),
      records,
    });
    return { store, keyPrefix };
  };

  it('send their scripts on their own on an auto-pipelining connection, not as a new Pipeline each', async () => {
    // As the subgraph's connection is made (runtime/subgraph-server.ts).
    await onConnectionOfItsOwn({ enableAutoPipelining: true }, async (store, redis, ownPrefix) => {
      // ioredis gives every connection its default list: left as it was for the others.
      const defaults = (Redis as unknown as { defaultOptions: RedisOptions }).defaultOptions;
      expect(defaults.autoPipeliningIgnoredCommands).toEqual([]);
      const pipelines = jest.spyOn(redis, 'pipeline');
      const now = Date.now();
      const showtime = { id: randomUUID(), endsAt: now + 3 * 3600_000 };
      await Promise.all([
        store.hold(showtime, 'h1', ['A1'], now),
        store.hold(showtime, 'h2', ['A2'], now),
        store.release(showtime, 'h1', ['A1'], now),
        store.snapshot(showtime.id, now),
      ]);
      expect((await store.snapshot(showtime.id, now)).holds).toEqual(new Map([['A2', 'h2']]));
      expect(pipelines).not.toHaveBeenCalled();
      // Other commands on the connection are still auto-pipelined.
      await redis.get(`${ownPrefix}nothing`);
      expect(pipelines).toHaveBeenCalledTimes(1);
    });
  });

  it('send the scripts called in one turn of the event loop to Redis in one write', async () => {
    await onConnectionOfItsOwn({}, async (store, redis) => {
      const now = Date.now();
      // Connected, and the hold script known to Redis (no EVAL fallback below).
      await store.hold({ id: randomUUID(), endsAt: now + 3 * 3600_000 }, 'h0', ['A0'], now);
      const socket = (redis as Redis).stream as unknown as {
        _write: (...args: unknown[]) => void;
        _writev: (chunks: unknown[], callback: () => void) => void;
      };
      const single = jest.spyOn(socket, '_write');
      const batched = jest.spyOn(socket, '_writev');
      const showtime = { id: randomUUID(), endsAt: now + 3 * 3600_000 };
      // As a rush's requests read in one turn: each holds, none waits for another.
      const results = await Promise.all(
        Array.from({ length: 20 }, (_, i) => store.hold(showtime, `h${i + 1}`, [`A${i}`], now)),
      );
      expect(results.map((r) => r.version).sort((a, b) => a - b)).toEqual(
        Array.from({ length: 20 }, (_, i) => i + 1),
      );
      expect(single).not.toHaveBeenCalled();
      expect(batched).toHaveBeenCalledTimes(1);
      expect(batched.mock.calls[0][0]).toHaveLength(20);
      // Each answer still went to its own call.
      const { holds } = await store.snapshot(showtime.id, now);
      expect(holds.size).toBe(20);
      expect(holds.get('A7')).toBe('h8');
    });
  });

  it('write a read made in a setImmediate callback (a loader batch) at once, not a turn later', async () => {
    await onConnectionOfItsOwn({}, async (store, redis) => {
      const now = Date.now();
      const showtimeId = randomUUID();
      await store.snapshot(showtimeId, now); // connected, the script known to Redis
      const socket = (redis as Redis).stream as unknown as { _write: (...args: unknown[]) => void };
      const single = jest.spyOn(socket, '_write');
      // As the shared loaders run their batch (runtime/loaders.ts): in the check phase, where
      // an uncork scheduled with setImmediate would wait for the whole next turn.
      const written = await new Promise<number>((resolve, reject) =>
        setImmediate(() => {
          store.snapshot(showtimeId, now).catch(reject);
          resolve(single.mock.calls.length);
        }),
      );
      expect(written).toBe(1);
    });
  });

  it("read only the seats a holder's first hold asks for, not every seat the showtime holds", async () => {
    // In a rush every hold is its holder's first; reading the showtime's holds whole made
    // each one cost as much as the seats held before it, serially on the one Redis.
    const { store, keyPrefix: ownPrefix } = storeOfItsOwn(() =>
      Promise.resolve({ closed: false, sold: [], pending: [] }),
    );
    const showtime = { id: randomUUID(), endsAt: Date.now() + 3 * 3600_000 };
    for (let i = 1; i <= 12; i++) await store.hold(showtime, `earlier-${i}`, [`A${i}`]);
    const holdsKey = `${ownPrefix}seat:{${showtime.id}}:holds`;
    const monitor = await new Redis(testRedisUrl, { lazyConnect: true }).monitor();
    /** The commands on the showtime's holds while `run` runs, between two marker commands. */
    const commandsOnHolds = async (run: () => Promise<unknown>) => {
      const [begin, end] = [`${ownPrefix}begin-${randomUUID()}`, `${ownPrefix}end-${randomUUID()}`];
      const commands: string[] = [];
      const ended = deferred();
      let recording = false;
      const onCommand = (_time: string, args: string[]) => {
        if (args.includes(begin)) recording = true;
        else if (args.includes(end)) ended.resolve();
        else if (recording && args[1] === holdsKey) commands.push(args[0].toUpperCase());
      };
      monitor.on('monitor', onCommand);
      try {
        await own.redis.get(begin);
        await run();
        await own.redis.get(end);
        await ended.wait('the end marker on the monitor');
      } finally {
        monitor.off('monitor', onCommand);
      }
      return commands;
    };
    try {
      const first = await commandsOnHolds(() => store.hold(showtime, 'newcomer', ['B1', 'B2']));
      expect(first).toContain('HMGET');
      expect(first).not.toContain('HGETALL');
      // A holder with a window here reads its own seats (the whole hash, which the check
      // above would have seen).
      const again = await commandsOnHolds(() => store.hold(showtime, 'earlier-1', ['B3']));
      expect(again).toContain('HGETALL');
      expect((await store.snapshot(showtime.id)).holds.get('B3')).toBe('earlier-1');
    } finally {
      monitor.disconnect();
      const keys = await own.redis.keys(`${ownPrefix}*`);
      if (keys.length > 0) await own.redis.del(...keys);
    }
  });

  it('free a holder’s leftovers when it holds again after the showtime’s windows were lost', async () => {
    const { store, keyPrefix: ownPrefix } = storeOfItsOwn(() =>
      Promise.resolve({ closed: false, sold: [], pending: [] }),
    );
    const showtime = showtimeRef();
    try {
      await store.hold(showtime, 'x', ['A1', 'A2'], T0);
      // The windows gone apart from the holds (expired or evicted on their own), and no
      // sweep since: x comes back once its cooldown has passed.
      await own.redis.del(`${ownPrefix}seat:{${showtime.id}}:windows`);
      const later = T0 + TTL_MS + COOLDOWN_MS + 1000;
      expect((await store.hold(showtime, 'x', ['A3'], later)).seatIds).toEqual(['A3']);
      expect((await store.snapshot(showtime.id, later)).holds).toEqual(new Map([['A3', 'x']]));
    } finally {
      const keys = await own.redis.keys(`${ownPrefix}*`);
      if (keys.length > 0) await own.redis.del(...keys);
    }
  });

  it('load the reservation record again once Redis lost either side of it', async () => {
    let calls = 0;
    const { store, keyPrefix: ownPrefix } = storeOfItsOwn(() => {
      calls += 1;
      return Promise.resolve({
        closed: false,
        sold: ['A1'],
        pending: [{ seatId: 'A2', holder: 'booker', until: Date.now() + 60_000 }],
      });
    });
    const showtime = { id: randomUUID(), endsAt: Date.now() + 3 * 3600_000 };
    const refused = async (seat: string) =>
      (await failure(store.hold(showtime, `h-${randomUUID()}`, [seat]))).seatIds;
    expect(await refused('A1')).toEqual(['A1']);
    expect(calls).toBe(1);
    for (const lost of ['reserved', 'sold']) {
      await own.redis.del(`${ownPrefix}seat:{${showtime.id}}:${lost}`);
      expect(await refused('A2')).toEqual(['A2']);
      expect(await refused('A1')).toEqual(['A1']);
    }
    expect(calls).toBe(3);
    const keys = await own.redis.keys(`${ownPrefix}*`);
    if (keys.length > 0) await own.redis.del(...keys);
  });

  it('keep a cancelled showtime closed after Redis lost everything of it', async () => {
    let cancelled = false;
    let calls = 0;
    const { store, keyPrefix: ownPrefix } = storeOfItsOwn(() => {
      calls += 1;
      return Promise.resolve({ closed: cancelled, sold: [], pending: [] });
    });
    const showtime = { id: randomUUID(), endsAt: Date.now() + 3 * 3600_000 };
    expect((await store.hold(showtime, 'h', ['A1'])).seatIds).toEqual(['A1']);
    cancelled = true;
    await store.closeShowtime(showtime);
    const keys = await own.redis.keys(`${ownPrefix}*`);
    expect(keys).toContain(`${ownPrefix}seat:{${showtime.id}}:facts`);
    await own.redis.del(...keys);
    expect(await failure(store.hold(showtime, 'g', ['A2']))).toEqual(CANCELLED);
    expect(calls).toBe(2);
    // Closed for good: no further read of the record.
    expect(await failure(store.hold(showtime, 'g', ['A3']))).toMatchObject({
      field: 'showtimeId',
    });
    expect(calls).toBe(2);
    const left = await own.redis.keys(`${ownPrefix}*`);
    if (left.length > 0) await own.redis.del(...left);
  });

  it('expire a day after the showtime ends (a showtime’s), or with their last use (a holder’s)', async () => {
    const store = new RedisSeatHoldStore({
      ...RULES,
      redis: own.redis,
      keyPrefix: own.keyPrefix,
      channel: (id) => seatChannel(own.keyPrefix, id),
    });
    const now = Date.now();
    const showtime = { id: randomUUID(), endsAt: now + 3 * 3600_000 };
    await store.admit('h', now);
    await store.hold(showtime, 'h', ['A1', 'A2'], now);
    await store.release(showtime, 'h', ['A1'], now);
    await store.publishChange(showtime, [{ seatId: 'C1', status: 'BLOCKED' }]);

    const keys = (await own.redis.keys(`${own.keyPrefix}*`)).sort();
    const ttl = Object.fromEntries(
      await Promise.all(
        keys.map(async (k) => [k.slice(own.keyPrefix.length), await own.redis.pttl(k)]),
      ),
    );
    const showtimeKeys = ['cooldowns', 'expiries', 'holds', 'version', 'windows'].map(
      (name) => `seat:{${showtime.id}}:${name}`,
    );
    // The sweeper's index: its entries leave as the windows are swept.
    const shard = `{seat-expiry:${expiryShard(showtime.id)}}`;
    expect(Object.keys(ttl).sort()).toEqual(
      [...showtimeKeys, 'seat-holder:{h:h}:calls', 'seat-holder:{h:h}:showtimes', shard].sort(),
    );
    const keep = showtime.endsAt + KEEP_AFTER_END_MS - now;
    for (const key of showtimeKeys) {
      expect(ttl[key]).toBeLessThanOrEqual(keep);
      expect(ttl[key]).toBeGreaterThan(keep - 60_000);
    }
    expect(ttl['seat-holder:{h:h}:showtimes']).toBeLessThanOrEqual(TTL_MS);
    expect(ttl['seat-holder:{h:h}:showtimes']).toBeGreaterThan(TTL_MS - 60_000);
    expect(ttl['seat-holder:{h:h}:calls']).toBeLessThanOrEqual(60_000);
    expect(ttl['seat-holder:{h:h}:calls']).toBeGreaterThan(0);
    expect(ttl[shard]).toBe(-1);
  });
});

describe('RedisSeatHoldStore sweep on one Redis', () => {
  const own = redisOfTheBlock();

  it('asks Redis once per sweep while nothing is due, and still sweeps every due shard', async () => {
    const store = new RedisSeatHoldStore({
      ...RULES,
      redis: own.redis,
      keyPrefix: own.keyPrefix,
      channel: (id) => seatChannel(own.keyPrefix, id),
    });
    // Showtimes in several expiry shards, so that the due ones are found in each.
    const showtimes = new Map<number, ShowtimeRef>();
    while (showtimes.size < 4) {
      const showtime = showtimeRef();
      if (!showtimes.has(expiryShard(showtime.id)))
        showtimes.set(expiryShard(showtime.id), showtime);
    }
    let n = 0;
    for (const showtime of showtimes.values()) await store.hold(showtime, `h-${n++}`, ['A1'], T0);
    await store.sweep(T0); // loads the scripts

    // Spied, not replaced: every command still goes to Redis.
    const sent = jest.spyOn(own.redis, 'sendCommand');
    try {
      expect(await store.sweep(T0 + TTL_MS - 1)).toBe(0);
      expect(sent).toHaveBeenCalledTimes(1);
      expect(await store.sweep(T0 + TTL_MS)).toBe(showtimes.size);
    } finally {
      sent.mockRestore();
    }
    expect(await store.sweep(T0 + TTL_MS)).toBe(0);
    await store.close();
  });
});

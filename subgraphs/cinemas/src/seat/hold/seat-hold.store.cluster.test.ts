// The Redis seat-hold store on a real Redis Cluster (3 primaries, 1 replica each): no script
// touches two slots, the expiry index is sharded, the holder-wide rules hold across slots,
// and a primary killed mid-rush loses no acknowledged hold.
import { randomUUID } from 'node:crypto';
import { Redis, type Cluster } from 'ioredis';
import { closeRedis, createRedis, type RedisClient } from '../../../../../runtime/redis';
import {
  redisServerAvailable,
  startRedisCluster,
  type RedisClusterHandle,
} from '../../../../../tests/support/redis-cluster';
import { deferred, waitFor } from '../../../../../tests/support/wait-for';
import { seatChannel } from '../seat-topic';
import { EXPIRY_SHARDS, liveReplicas, RedisSeatHoldStore } from './redis-seat-hold.store';
import type { SeatEvent, ShowtimeRef } from './seat-hold.store';

const TTL_MS = 600_000;
const MAX_SHOWTIMES = 3;
const RULES = {
  ttlSeconds: TTL_MS / 1000,
  maxSeatsPerHolder: 8,
  cooldownSeconds: 120,
  maxShowtimesPerHolder: MAX_SHOWTIMES,
  ratePerMinute: 1000,
};
const T0 = 1_700_000_000_000;
const showtimeRef = (): ShowtimeRef => ({ id: randomUUID(), endsAt: T0 + 3 * 3600_000 });

/** A small deterministic PRNG, so a failing interleaving can be replayed. */
function random(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (Math.imul(state, 1664525) + 1013904223) >>> 0;
    return state / 2 ** 32;
  };
}

const describeCluster = redisServerAvailable() ? describe : describe.skip;

describeCluster('RedisSeatHoldStore on a Redis Cluster', () => {
  jest.setTimeout(60_000);
  const keyPrefix = `moviehub-test:${randomUUID().slice(0, 8)}:`;
  const channel = (showtimeId: string) => seatChannel(keyPrefix, showtimeId);
  let cluster: RedisClusterHandle;
  let redis: RedisClient;
  let peerRedis: RedisClient;
  let subscriber: Redis | undefined;
  let store: RedisSeatHoldStore;
  let peer: RedisSeatHoldStore;
  /** The showtime whose primary the failover test kills (the subscriber is elsewhere). */
  const doomed = showtimeRef();
  const received = new Map<string, SeatEvent[]>();
  const events = (showtimeId: string) => received.get(channel(showtimeId)) ?? [];
  /** Checked again on every event received, until they hold. */
  const watchers = new Set<() => void>();
  /** Resolves once `check` holds, checked now and on each event the subscriber receives. */
  const untilReceived = async (check: () => boolean, what: string) => {
    if (check()) return;
    const done = deferred();
    const watcher = () => {
      if (check()) done.resolve();
    };
    watchers.add(watcher);
    try {
      await done.wait(what);
    } finally {
      watchers.delete(watcher);
    }
  };
  const open = (connection: RedisClient, extra = {}) =>
    new RedisSeatHoldStore({ ...RULES, redis: connection, keyPrefix, channel, ...extra });

  /** The port of the primary serving `key` now. */
  const primaryOf = async (key: string): Promise<number> => {
    const slot = Number(await redis.call('CLUSTER', 'KEYSLOT', key));
    const owner = (redis as unknown as { slots: string[][] }).slots[slot][0];
    return Number(owner.split(':').pop());
  };

  beforeAll(async () => {
    cluster = await startRedisCluster({ primaries: 3, replicasPerPrimary: 1 });
    // What a subgraph gets for REDIS_URL=redis+cluster://...
    redis = createRedis(cluster.url, { enableAutoPipelining: true });
    peerRedis = createRedis(cluster.url, { enableAutoPipelining: true });
    // A PUBLISH reaches every node of a cluster; listen on a primary the failover spares.
    const victim = await primaryOf(`${keyPrefix}seat:{${doomed.id}}:holds`);
    const listenOn = (await cluster.primaries()).find((port) => port !== victim)!;
    subscriber = new Redis({ host: '127.0.0.1', port: listenOn, maxRetriesPerRequest: 1 });
    subscriber.on('error', () => {});
    subscriber.on('pmessage', (_pattern: string, name: string, message: string) => {
      received.set(name, [...(received.get(name) ?? []), JSON.parse(message) as SeatEvent]);
      for (const watcher of [...watchers]) watcher();
    });
    await subscriber.psubscribe(`${keyPrefix}*`);
    store = open(redis);
    peer = open(peerRedis);
  });
  afterAll(async () => {
    await Promise.all([store?.close(), peer?.close()]);
    subscriber?.disconnect();
    await Promise.all([redis, peerRedis].filter(Boolean).map(closeRedis));
    await cluster?.stop();
  });

  /** Waits until every version up to the showtime's current one has arrived. */
  const arrived = async (showtimeId: string) => {
    const { version } = await store.snapshot(showtimeId, T0);
    await untilReceived(() => events(showtimeId).length >= version, `events of ${showtimeId}`);
    return version;
  };

  it('keeps a seat rush over several showtimes consistent: one holder a seat, one event a change', async () => {
    const showtimes = Array.from({ length: 4 }, showtimeRef);
    const next = random(7);
    const requests = Array.from({ length: 120 }, (_, i) => {
      const start = 1 + Math.floor(next() * 18);
      const length = 1 + Math.floor(next() * 3);
      return {
        showtime: showtimes[Math.floor(i / 30)],
        holder: `rush-${i % 60}`, // each holder in two showtimes
        seats: Array.from({ length }, (_, k) => `A${start + k}`),
      };
    });
    const results = await Promise.allSettled(
      requests.map(({ showtime, holder, seats }, i) =>
        (i % 2 ? peer : store).hold(showtime, holder, seats, T0, { admit: true }),
      ),
    );
    for (const showtime of showtimes) {
      const { holds, version } = await store.snapshot(showtime.id, T0);
      const won = requests.filter(
        (r, i) => r.showtime === showtime && results[i].status === 'fulfilled',
      );
      const seats = won.flatMap((r) => r.seats);
      // No seat held twice: the winners' seats are disjoint, and each is its winner's.
      expect(new Set(seats).size).toBe(seats.length);
      for (const r of won) for (const seat of r.seats) expect(holds.get(seat)).toBe(r.holder);
      expect(holds.size).toBe(seats.length);
      await arrived(showtime.id);
      // One event per change, versions 1..n without a gap, and the events replay the holds.
      expect(events(showtime.id).map((e) => e.version)).toEqual(
        Array.from({ length: version }, (_, i) => i + 1),
      );
      const replayed = new Map<string, string>();
      for (const e of events(showtime.id)) {
        for (const s of e.seats) {
          if (s.status === 'HELD') replayed.set(s.seatId, s.holder!);
          else replayed.delete(s.seatId);
        }
      }
      expect(replayed).toEqual(holds);
    }
    results.forEach((result) => {
      if (result.status === 'rejected') {
        expect(result.reason.extensions.code).toBe('SEAT_UNAVAILABLE');
      }
    });
  });

  it(`lets a holder hold seats in at most ${MAX_SHOWTIMES} showtimes, even when its holds race`, async () => {
    const showtimes = Array.from({ length: 8 }, showtimeRef);
    const results = await Promise.allSettled(
      showtimes.map((showtime, i) => (i % 2 ? peer : store).hold(showtime, 'racer', ['A1'], T0)),
    );
    const won = showtimes.filter((_, i) => results[i].status === 'fulfilled');
    expect(won).toHaveLength(MAX_SHOWTIMES);
    for (const [i, result] of results.entries()) {
      if (result.status === 'rejected') {
        expect(result.reason.extensions).toEqual({ code: 'HOLD_LIMIT_EXCEEDED', limit: 3 });
      } else {
        expect((await store.snapshot(showtimes[i].id, T0)).holds.get('A1')).toBe('racer');
      }
    }
    // Refused holds gave their place back at once: seats taken by others elsewhere cost
    // nothing, and releasing one showtime frees its place.
    const taken = showtimeRef();
    await store.hold(taken, 'someone', ['B1'], T0);
    await store.release(won[0], 'racer', ['A1'], T0 + 1);
    await expect(store.hold(taken, 'racer', ['B1'], T0 + 2)).rejects.toMatchObject({
      extensions: { code: 'SEAT_UNAVAILABLE' },
    });
    const free = showtimes.find((s) => !won.includes(s))!;
    expect((await peer.hold(free, 'racer', ['A1'], T0 + 3)).seatIds).toEqual(['A1']);
    await expect(store.hold(showtimeRef(), 'racer', ['A1'], T0 + 4)).rejects.toMatchObject({
      extensions: { code: 'HOLD_LIMIT_EXCEEDED' },
    });
    // The rate is per holder across slots too.
    const limited = open(redis, { ratePerMinute: 2 });
    await limited.hold(showtimeRef(), 'caller', ['A1'], T0, { admit: true });
    await limited.release(showtimeRef(), 'caller', ['A1'], T0, { admit: true });
    await expect(
      limited.hold(showtimeRef(), 'caller', ['A1'], T0, { admit: true }),
    ).rejects.toMatchObject({ extensions: { code: 'RATE_LIMITED' } });
    await limited.close();
  });

  it('sweeps expired windows across every expiry shard, once each, and empties the shards', async () => {
    const start = T0 + 10 * TTL_MS;
    await store.sweep(start); // the other tests' windows: this test counts its own alone
    const showtimes = Array.from({ length: 40 }, showtimeRef);
    await Promise.all(
      showtimes.map((showtime, i) =>
        (i % 2 ? peer : store).hold(showtime, `sweep-${i}`, ['C1', 'C2'], start),
      ),
    );
    await store.close(); // waits for the index updates it sent without waiting
    store = open(redis);
    const shards = Array.from(
      { length: EXPIRY_SHARDS },
      (_, k) => `${keyPrefix}{seat-expiry:${k}}`,
    );
    const used = (await Promise.all(shards.map((key) => redis.zcard(key)))).filter((n) => n > 0);
    expect(used.length).toBeGreaterThan(5); // spread, not one key

    expect(await store.sweep(start + TTL_MS - 1)).toBe(0);
    const [a, b] = await Promise.all([store.sweep(start + TTL_MS), peer.sweep(start + TTL_MS)]);
    expect(a + b).toBe(showtimes.length);
    for (const showtime of showtimes) {
      expect((await store.snapshot(showtime.id, start)).holds.size).toBe(0);
      await arrived(showtime.id);
      expect(events(showtime.id).map((e) => e.seats.map((s) => s.status))).toEqual([
        ['HELD', 'HELD'],
        ['AVAILABLE', 'AVAILABLE'],
      ]);
    }
    expect(await Promise.all(shards.map((key) => redis.zcard(key)))).toEqual(shards.map(() => 0));
  });

  it('still sweeps a window whose shard entry was lost with its process (the rescan)', async () => {
    const start = T0 + 20 * TTL_MS;
    const showtime = showtimeRef();
    await store.hold(showtime, 'lost', ['D1'], start);
    await store.close();
    // The process died between the hold and its index update: no shard lists the showtime.
    await Promise.all(
      Array.from({ length: EXPIRY_SHARDS }, (_, k) =>
        redis.zrem(`${keyPrefix}{seat-expiry:${k}}`, showtime.id),
      ),
    );
    const running = open(redis, { rescanIntervalMs: 3600_000 });
    expect(await running.sweep(start)).toBe(0); // its own first rescan, before the loss mattered
    await Promise.all(
      Array.from({ length: EXPIRY_SHARDS }, (_, k) =>
        redis.zrem(`${keyPrefix}{seat-expiry:${k}}`, showtime.id),
      ),
    );
    expect(await running.sweep(start + TTL_MS)).toBe(0); // no rescan due: nothing lists it
    await running.close();
    // A restarted instance rescans every primary at its first sweep and finds the window.
    store = open(redis);
    expect(await store.sweep(start + TTL_MS)).toBe(1);
    await arrived(showtime.id);
    expect(events(showtime.id).at(-1)?.seats).toEqual([
      { seatId: 'D1', status: 'AVAILABLE', holder: null },
    ]);
  });

  it('acknowledges a change only once a replica has it: a replica slower than WAIT’s 100 ms is waited for, a stalled one is not', async () => {
    const showtime = showtimeRef();
    const key = `${keyPrefix}seat:{${showtime.id}}:holds`;
    let resumed = false;
    // The primary's commands: the store asks it about its replicas once WAIT's first 100 ms
    // went by unconfirmed.
    const monitor = await new Redis({
      host: '127.0.0.1',
      port: await cluster.primaryOf(key),
      lazyConnect: true,
    }).monitor();
    const askedReplicas = deferred();
    monitor.on('monitor', (_time: string, args: string[]) => {
      if (args[0]?.toLowerCase() === 'info' && args[1] === 'replication') askedReplicas.resolve();
    });
    const resume = await cluster.pauseReplicasOf(key);
    try {
      // Read when the hold is answered: before the replica is back, it was acknowledged
      // while only the primary had it.
      const holding = store.hold(showtime, 'slow', ['A1'], T0).then(() => resumed);
      await askedReplicas.wait('the store to wait on for the replica');
      resumed = true;
      resume();
      expect(await holding).toBe(true);
    } finally {
      resume();
      monitor.disconnect();
    }

    // A replica that stopped acknowledging altogether (its primary reports its last ack over
    // 2 s old) is not waited for: holds go on, as on a primary without replicas.
    const primary = new Redis({ host: '127.0.0.1', port: await cluster.primaryOf(key) });
    const resumeLater = await cluster.pauseReplicasOf(key);
    try {
      await waitFor(
        async () => liveReplicas(String(await primary.info('replication'))) === 0,
        'the paused replica to count as stalled',
        15_000,
      );
      let stillPaused = true;
      const held = store.hold(showtime, 'stalled', ['A2'], T0).then(() => stillPaused);
      expect(await held).toBe(true);
      stillPaused = false;
    } finally {
      resumeLater();
      primary.disconnect();
    }
    expect((await store.snapshot(showtime.id, T0)).holds.get('A2')).toBe('stalled');
  });

  it('loses no acknowledged hold when the showtime’s primary fails over mid-rush', async () => {
    const start = T0 + 30 * TTL_MS;
    const seats = Array.from({ length: 120 }, (_, i) => `R${i + 1}`);
    const acknowledged: Array<{ holder: string; seat: string; version: number }> = [];
    const failures: string[] = [];
    const firstHolds = deferred();
    const attempt = async (i: number, seat = seats[i % seats.length]) => {
      const holder = `fo-${i}`;
      try {
        const result = await (i % 2 ? peer : store).hold(doomed, holder, [seat], start);
        acknowledged.push({ holder, seat, version: result.version });
        if (acknowledged.length === 10) firstHolds.resolve();
      } catch (err) {
        // Refused (taken) or failed (the primary is gone): not acknowledged.
        const { extensions, cause } = err as { extensions?: { code?: string }; cause?: Error };
        failures.push(`${extensions?.code ?? String(err)}${cause ? ` (${cause.message})` : ''}`);
      }
    };
    // Two holders per seat, racing; the failover starts once the first holds are in.
    const first = Promise.all(Array.from({ length: 60 }, (_, i) => attempt(i)));
    await firstHolds.wait('the first holds');
    const failover = cluster.failover({ key: `${keyPrefix}seat:{${doomed.id}}:holds` });
    const during = Promise.all(Array.from({ length: 120 }, (_, i) => attempt(60 + i)));
    await Promise.all([first, failover, during]);
    // After the failover, holds work again on the promoted replica. The harness answered
    // once the replica was promoted and every node reports cluster_state:ok; the client
    // learns the new slot map when it next asks (as on its next MOVED or failed command).
    // Asked twice: a refresh already under way (started by a failed command) answers the
    // first call, and may have read the map from before the promotion; the second starts
    // after it.
    const refreshSlots = () =>
      new Promise<void>((resolve, reject) =>
        (redis as Cluster).refreshSlotsCache((err) => (err ? reject(err) : resolve())),
      );
    await refreshSlots();
    await refreshSlots();
    await attempt(1000, 'Z1');
    expect(acknowledged.some((a) => a.holder === 'fo-1000') ? 'held' : failures.slice(-3)).toBe(
      'held',
    );

    // No seat was acknowledged to two holders, and every acknowledged hold stays.
    const bySeat = new Map<string, string>();
    for (const { holder, seat } of acknowledged) {
      expect(bySeat.get(seat) ?? holder).toBe(holder);
      bySeat.set(seat, holder);
    }
    const { holds, version } = await store.snapshot(doomed.id, start);
    for (const { holder, seat } of acknowledged) expect(holds.get(seat)).toBe(holder);
    // Versions never went back: every acknowledged one is at or below the current one, and
    // the events that arrived came in increasing order, each version once.
    expect(Math.max(...acknowledged.map((a) => a.version))).toBeLessThanOrEqual(version);
    const versions = events(doomed.id).map((e) => e.version);
    expect([...versions].sort((x, y) => x - y)).toEqual(versions);
    expect(new Set(versions).size).toBe(versions.length);

    // And the promoted replica's index still sweeps them: every held seat is released and
    // published.
    expect(await store.sweep(start + TTL_MS)).toBeGreaterThanOrEqual(holds.size);
    expect((await store.snapshot(doomed.id, start)).holds.size).toBe(0);
    await untilReceived(() => {
      const released = new Set(
        events(doomed.id)
          .flatMap((e) => e.seats)
          .filter((s) => s.status === 'AVAILABLE')
          .map((s) => s.seatId),
      );
      return [...holds.keys()].every((seat) => released.has(seat));
    }, 'every held seat released and published');
  });
});

import { randomUUID } from 'node:crypto';
import type { Cluster, Redis } from 'ioredis';
import { AppError } from '../../../../../runtime/errors';
import { isRedisUnavailable, type RedisClient } from '../../../../../runtime/redis';
import {
  ADMIT_LUA,
  CLOSE_SHOWTIME_LUA,
  DUE_SHARDS_LUA,
  HOLD_LUA,
  HOLDER_ENTER_LUA,
  HOLDER_PLACE_LUA,
  INDEX_LUA,
  LOAD_RECORD_LUA,
  PUBLISH_CHANGE_LUA,
  REINDEX_LUA,
  RELEASE_LUA,
  RESERVE_LUA,
  RETAKE_LUA,
  SNAPSHOT_LUA,
  SWEEP_LUA,
} from './redis-seat-hold.scripts';
import {
  checkExternalChanges,
  checkHolder,
  checkHoldSeatIds,
  checkRules,
  checkSeatIds,
  checkShowtime,
  checkShowtimeId,
  checkUntil,
  clock,
  coolingDown,
  holdLimitExceeded,
  KEEP_AFTER_END_MS,
  keepMs,
  RATE_WINDOW_MS,
  RECORD_LOAD_ATTEMPTS,
  seatHoldsUnavailable,
  showtimeClosed,
  seatsNotHeld,
  seatUnavailable,
  showtimeLimitExceeded,
  sortSeatIds,
  tooManyCalls,
  windowMember,
  type CallOptions,
  type CheckedRules,
  type ExternalSeatStatus,
  type HoldResult,
  type ReservationRecords,
  type SeatHoldRules,
  type SeatHoldStore,
  type ShowtimeRef,
} from './seat-hold.store';

/** One Redis or a Redis Cluster (what `createRedis` returns for a `redis+cluster://` URL). */
export type SeatHoldRedis = RedisClient;

export interface RedisSeatHoldStoreOptions extends SeatHoldRules {
  /** A connection the caller owns (and closes); the store only defines its scripts on it. */
  redis: SeatHoldRedis;
  /** Prepended to every key, e.g. `moviehub:`; tests use a unique one per run. */
  keyPrefix: string;
  /** The pub/sub channel a showtime's events go to; subscribers listen there. */
  channel: (showtimeId: string) => string;
  /**
   * Where a showtime's sold seats and PENDING reservations are read from (PostgreSQL), once
   * per showtime while Redis keeps them: with it, `hold` refuses sold seats itself.
   */
  records?: ReservationRecords;
  /**
   * Keep every script inside one cluster slot (the holder-wide rules and the expiry shard
   * in steps of their own). Default: whether `redis` is a Cluster; tests set it on one Redis
   * to run the cluster path there.
   */
  splitSlots?: boolean;
  /**
   * Split mode: how often (ms, wall clock) `sweep` also rescans every primary for showtimes
   * with windows, re-indexing them in their shard: the backstop for an index update lost
   * with a process that died right after its hold. Default 60 s; the first sweep rescans.
   */
  rescanIntervalMs?: number;
  /**
   * Replicas that must have a showtime's change before the call returns (WAIT, pipelined
   * with the script: no extra round trip), so that a change acknowledged before its primary
   * fails over is not lost with it (replication is asynchronous). Default: 1 on a Cluster,
   * 0 on one Redis. When they have not within `replicaAckTimeoutMs` (default 100) and the
   * primary still has that many live replicas, the call waits on for them, up to
   * `replicaAckBudgetMs` (default 1000) in all, and then fails with SERVICE_UNAVAILABLE
   * (the change may stand, it was not acknowledged); a primary left without live replicas
   * (gone, or stalled: see `awaitReplicas`) answers at once, as one Redis does.
   */
  replicaAcks?: number;
  replicaAckTimeoutMs?: number;
  replicaAckBudgetMs?: number;
}

/**
 * The sweeper's index is split in this many shards (`{seat-expiry:k}`), spread over the
 * cluster's slots; a showtime is always in the same one (`expiryShard`). Changing it strands
 * the entries of the old shards until the rescan (split mode) lists them again.
 */
export const EXPIRY_SHARDS = 16;

/** How long a hold under way keeps its claim on the holder's place (split mode). */
const CLAIM_LEASE_MS = 30_000;

const ALL_SHARDS: readonly number[] = Array.from({ length: EXPIRY_SHARDS }, (_, shard) => shard);

/** Showtime windows a sweep script releases per call. */
const WINDOWS_PER_SWEEP = 200;

/** Passes over one expiry shard per `sweep`, so that a shard kept busy cannot stall it. */
const SWEEP_PASSES = 20;

/** FNV-1a: the expiry shard of a showtime, the same in every process. */
export function expiryShard(showtimeId: string): number {
  let hash = 0x811c9dc5;
  for (let i = 0; i < showtimeId.length; i++) {
    hash ^= showtimeId.charCodeAt(i);
    hash = Math.imul(hash, 0x01000193) >>> 0;
  }
  return hash % EXPIRY_SHARDS;
}

/** A SCAN pattern matching `text` literally. */
const globLiteral = (text: string): string => text.replace(/[*?[\]\\]/g, '\\$&');

/** Shard entries handled per round trip of `sweep`. */
const SWEEP_BATCH = 100;

type Arg = string | number;
type ScriptReply = Array<string | number>;
/** The scripts as ioredis `defineCommand` methods (EVALSHA, falling back to EVAL). */
type ScriptName =
  | 'moviehubSeatAdmit'
  | 'moviehubSeatHold'
  | 'moviehubSeatRelease'
  | 'moviehubSeatSnapshot'
  | 'moviehubSeatSweep'
  | 'moviehubSeatDueShards'
  | 'moviehubSeatReserve'
  | 'moviehubSeatRetake'
  | 'moviehubSeatPublishChange'
  | 'moviehubSeatLoadRecord'
  | 'moviehubSeatClose'
  | 'moviehubSeatIndex'
  | 'moviehubSeatReindex'
  | 'moviehubSeatHolderEnter'
  | 'moviehubSeatHolderPlace';
type SeatHoldCommands = Record<ScriptName, (...args: Arg[]) => Promise<unknown>>;

const SCRIPTS: ReadonlyArray<[ScriptName, string, boolean?]> = [
  ['moviehubSeatAdmit', ADMIT_LUA],
  ['moviehubSeatHold', HOLD_LUA],
  ['moviehubSeatRelease', RELEASE_LUA],
  ['moviehubSeatSnapshot', SNAPSHOT_LUA, true],
  ['moviehubSeatSweep', SWEEP_LUA],
  ['moviehubSeatDueShards', DUE_SHARDS_LUA, true],
  ['moviehubSeatReserve', RESERVE_LUA],
  ['moviehubSeatRetake', RETAKE_LUA],
  ['moviehubSeatPublishChange', PUBLISH_CHANGE_LUA],
  ['moviehubSeatLoadRecord', LOAD_RECORD_LUA],
  ['moviehubSeatClose', CLOSE_SHOWTIME_LUA],
  ['moviehubSeatIndex', INDEX_LUA],
  ['moviehubSeatReindex', REINDEX_LUA],
  ['moviehubSeatHolderEnter', HOLDER_ENTER_LUA],
  ['moviehubSeatHolderPlace', HOLDER_PLACE_LUA],
];

/**
 * The production hold store. Every state change is one Lua script that also INCRs the
 * showtime's version and PUBLISHes its event, so version order is publish order and no
 * change is published twice or lost (see `redis-seat-hold.scripts.ts` for the key layout).
 * Any number of instances may share one Redis or one Redis Cluster; all state lives there.
 *
 * Redis down is an answer, not a hang or a crash: the connection fails fast (see
 * `createRedis`) and every method turns "Redis unreachable" into a retryable
 * `SERVICE_UNAVAILABLE` (`seatHoldsUnavailable`); the next call after Redis returns works.
 *
 * On a Redis Cluster (`splitSlots`) no script touches two slots:
 * - a showtime's keys share its hash tag; a holder's keys share `{h:<tag>}`; the sweeper's
 *   index is `EXPIRY_SHARDS` sorted sets `{seat-expiry:k}` listing each showtime at (or
 *   before) its earliest window end, while the showtime keeps its windows in its own
 *   `expiries`. The sweeper walks the shards, releases a due showtime's windows with one
 *   script there, and moves the shard entry to the next window end only if no hold touched
 *   it meanwhile (REINDEX_LUA). A hold whose new window becomes the showtime's earliest
 *   lists it in the shard after its script, without waiting (INDEX_LUA); if the process dies
 *   in between, the periodic rescan (`rescanIntervalMs`) lists it again. Until then the
 *   window still ends on time (an expired holder holds nothing, whoever looks), only its
 *   AVAILABLE event waits for the rescan.
 * - a hold takes the holder's side first (rate, and its place among its showtimes:
 *   HOLDER_ENTER_LUA), then holds in the showtime, whose script says where the holder
 *   stands there now; HOLDER_PLACE_LUA then keeps or gives back the place, applying only the
 *   latest of the showtime's decisions and never while another hold of the holder there is
 *   under way. A place taken by a caller that died lapses when a window taken then would
 *   have ended; the cap is never exceeded, at worst briefly over-counted.
 * So a hold costs two round trips there (holder, then showtime) plus a settling command the
 * caller does not wait for (it does on a refusal, so the place is back before it answers);
 * on one Redis everything is one script and one round trip, as before.
 */
export class RedisSeatHoldStore implements SeatHoldStore {
  private readonly redis: SeatHoldRedis & SeatHoldCommands;
  private readonly rules: CheckedRules;
  private readonly split: boolean;
  /** Every expiry shard's key, in shard order (built once, not on every sweep). */
  private readonly shardKeys: string[];
  private readonly rescanIntervalMs: number;
  private readonly replicaAcks: number;
  private readonly replicaAckTimeoutMs: number;
  private readonly replicaAckBudgetMs: number;
  private lastRescan: number | undefined;
  /** Commands sent without waiting (index and place updates), awaited by `close`. */
  private readonly background = new Set<Promise<unknown>>();
  /** The connection's socket while its writes are held for the end of this event-loop turn. */
  private corked: { uncork(): void } | undefined;
  private closed = false;

  constructor(private readonly options: RedisSeatHoldStoreOptions) {
    this.rules = checkRules(options);
    const redis = options.redis;
    // No numberOfKeys: each call passes its own count, so that one script serves both the
    // one-Redis form (showtime, holder and shard keys) and the one-slot form.
    // Defining again on a shared connection just replaces the identical definition.
    for (const [name, lua, readOnly] of SCRIPTS) {
      redis.defineCommand(name, { lua, ...(readOnly ? { readOnly } : {}) });
    }
    // Each script call goes on its own, never through auto-pipelining:
    // - on a cluster, auto-pipelining batches commands by the slot of their first key; with
    //   no numberOfKeys ioredis reads the key count as the key, so calls for different nodes
    //   landed in one batch and failed ("All keys in the pipeline should belong to the same
    //   slots allocation group");
    // - everywhere, a batch is a new ioredis Pipeline, whose constructor copies every command
    //   and script defined on the connection onto it: for a hold that is usually alone in its
    //   batch, that cost more CPU than the rest of its trip through ioredis. Calls issued
    //   together still share the connection and reach Redis back to back.
    // A new list, never pushed to: ioredis hands every connection its default list itself.
    const ignored = redis.options.autoPipeliningIgnoredCommands ?? [];
    redis.options.autoPipeliningIgnoredCommands = [
      ...ignored,
      ...SCRIPTS.map(([name]) => name).filter((name) => !ignored.includes(name)),
    ];
    this.redis = redis as SeatHoldRedis & SeatHoldCommands;
    this.split = options.splitSlots ?? redis.isCluster;
    this.shardKeys = ALL_SHARDS.map((shard) => this.shardKeyOf(shard));
    this.rescanIntervalMs = options.rescanIntervalMs ?? 60_000;
    this.replicaAcks = options.replicaAcks ?? (redis.isCluster ? 1 : 0);
    this.replicaAckTimeoutMs = options.replicaAckTimeoutMs ?? 100;
    this.replicaAckBudgetMs = options.replicaAckBudgetMs ?? 1000;
  }

  async admit(holder: string, now?: number): Promise<void> {
    this.assertOpen();
    this.corkUntilTurnEnds();
    checkHolder(holder);
    await this.admitCall(holder, clock(now));
  }

  private async admitCall(holder: string, now: number): Promise<void> {
    const [admitted, waitMs] = await this.script<ScriptReply>(
      'moviehubSeatAdmit',
      [this.holderKeys(holder).calls],
      [now, this.rules.ratePerMinute, RATE_WINDOW_MS],
    );
    if (Number(admitted) !== 1) throw tooManyCalls(this.rules.ratePerMinute, Number(waitMs));
  }

  async hold(
    showtime: ShowtimeRef,
    holder: string,
    seatIds: string[],
    now?: number,
    options: CallOptions = {},
  ): Promise<HoldResult> {
    this.assertOpen();
    this.corkUntilTurnEnds();
    checkShowtime(showtime);
    checkHolder(holder);
    const requested = checkHoldSeatIds(seatIds, this.rules.maxSeatsPerHolder);
    const at = clock(now);
    const keys = this.keys(showtime.id);
    const holderKeys = this.holderKeys(holder);
    const records = this.options.records;
    const admitLimit = options.admit ? this.rules.ratePerMinute : 0;
    const claim = this.split ? windowMember(showtime.id, randomUUID()) : '';
    if (this.split) await this.enterHolder(showtime, holder, at, admitLimit, claim);
    const scriptKeys = [
      keys.holds,
      keys.windows,
      keys.version,
      keys.expiries,
      keys.cooldowns,
      keys.reserved,
      keys.sold,
      keys.facts,
      keys.places,
      ...(this.split ? [] : [holderKeys.showtimes, holderKeys.calls, this.shardKey(showtime.id)]),
    ];
    for (let attempt = 1; ; attempt++) {
      let reply = await this.change<ScriptReply>('moviehubSeatHold', scriptKeys, [
        showtime.id,
        holder,
        at,
        this.rules.ttlMs,
        this.rules.maxSeatsPerHolder,
        this.options.channel(showtime.id),
        this.split ? '1' : '0',
        keepMs(showtime, at),
        this.rules.cooldownMs,
        this.rules.maxShowtimesPerHolder,
        records ? 1 : 0,
        this.split ? 0 : admitLimit,
        RATE_WINDOW_MS,
        ...requested,
      ]);
      let settled: Promise<void> | undefined;
      if (this.split) {
        const [place, seq, reindex] = reply.map(Number);
        reply = reply.slice(3);
        const settle = () => this.settlePlace(showtime, holder, at, claim, place, seq);
        if (reply[0] === 'OK') {
          this.inBackground(settle);
          if (reindex > 0) this.inBackground(() => this.index(showtime.id, reindex));
        } else if (reply[0] !== 'LOAD_RECORD' || !records) {
          // A refusal: the place this call took is given back before the caller hears of
          // it, so that its next hold elsewhere is not refused for it.
          settled = settle().catch(() => {});
        }
      }
      const [outcome, ...rest] = reply;
      await settled;
      if (outcome === 'LOAD_RECORD' && records) {
        // Redis does not know the showtime's sales yet (first hold there, or its state was
        // lost): load them from the record, then hold again.
        if (attempt >= RECORD_LOAD_ATTEMPTS) throw seatHoldsUnavailable();
        await this.loadRecord(showtime, String(rest[0]), records, at);
        continue;
      }
      if (outcome === 'SEAT_UNAVAILABLE') throw seatUnavailable(rest.map(String));
      if (outcome === 'HOLD_LIMIT_EXCEEDED') throw holdLimitExceeded(this.rules.maxSeatsPerHolder);
      if (outcome === 'SHOWTIME_LIMIT_EXCEEDED') {
        throw showtimeLimitExceeded(this.rules.maxShowtimesPerHolder);
      }
      if (outcome === 'COOLING_DOWN') throw coolingDown(Number(rest[0]));
      if (outcome === 'RATE_LIMITED') throw tooManyCalls(this.rules.ratePerMinute, Number(rest[0]));
      if (outcome === 'SHOWTIME_CLOSED') throw showtimeClosed();
      const [expiresAt, version, ...held] = rest;
      return {
        expiresAt: new Date(Number(expiresAt)),
        version: Number(version),
        seatIds: sortSeatIds(held.map(String)),
      };
    }
  }

  /** Split mode: the holder's half of a hold, before the showtime's (HOLDER_ENTER_LUA). */
  private async enterHolder(
    showtime: ShowtimeRef,
    holder: string,
    now: number,
    admitLimit: number,
    claim: string,
  ): Promise<void> {
    const holderKeys = this.holderKeys(holder);
    const [outcome, waitMs] = await this.script<ScriptReply>(
      'moviehubSeatHolderEnter',
      [holderKeys.showtimes, holderKeys.calls, holderKeys.claims],
      [
        now,
        admitLimit,
        RATE_WINDOW_MS,
        showtime.id,
        this.rules.maxShowtimesPerHolder,
        now + this.rules.ttlMs,
        claim,
        now + CLAIM_LEASE_MS,
      ],
    );
    if (outcome === 'RATE_LIMITED') throw tooManyCalls(this.rules.ratePerMinute, Number(waitMs));
    if (outcome === 'SHOWTIME_LIMIT_EXCEEDED') {
      throw showtimeLimitExceeded(this.rules.maxShowtimesPerHolder);
    }
  }

  /** Split mode: applies a showtime's decision about the holder's place (HOLDER_PLACE_LUA). */
  private async settlePlace(
    showtime: ShowtimeRef,
    holder: string,
    now: number,
    claim: string,
    place: number,
    seq: number,
  ): Promise<void> {
    const holderKeys = this.holderKeys(holder);
    await this.script(
      'moviehubSeatHolderPlace',
      [holderKeys.showtimes, holderKeys.claims, holderKeys.placeSeqs],
      [now, showtime.id, claim, place, seq, Math.max(this.rules.ttlMs, CLAIM_LEASE_MS)],
    );
  }

  /** Split mode: lists the showtime in its shard no later than `at` (INDEX_LUA). */
  private async index(showtimeId: string, at: number): Promise<void> {
    await this.script('moviehubSeatIndex', [this.shardKey(showtimeId)], [showtimeId, at]);
  }

  /** Reads the showtime's record and hands it to Redis, unless a change was published meanwhile. */
  private async loadRecord(
    showtime: ShowtimeRef,
    epoch: string,
    records: ReservationRecords,
    now: number,
  ): Promise<void> {
    const record = await records(showtime.id);
    const keys = this.keys(showtime.id);
    await this.change(
      'moviehubSeatLoadRecord',
      [keys.sold, keys.facts, keys.reserved],
      [
        epoch,
        now,
        keepMs(showtime, now),
        record.closed ? '1' : '0',
        record.sold.length,
        ...record.sold,
        ...record.pending.flatMap((p) => [p.seatId, p.until, p.holder]),
      ],
    );
  }

  async closeShowtime(showtime: ShowtimeRef): Promise<void> {
    this.assertOpen();
    checkShowtime(showtime);
    const keys = this.keys(showtime.id);
    await this.change('moviehubSeatClose', [keys.facts], [keepMs(showtime, Date.now())]);
  }

  async release(
    showtime: ShowtimeRef,
    holder: string,
    seatIds: string[],
    now?: number,
    options: CallOptions = {},
  ): Promise<{ released: string[]; version: number }> {
    this.assertOpen();
    this.corkUntilTurnEnds();
    checkShowtime(showtime);
    checkHolder(holder);
    const seats = checkSeatIds(seatIds);
    const at = clock(now);
    const keys = this.keys(showtime.id);
    const holderKeys = this.holderKeys(holder);
    if (this.split && options.admit) await this.admitCall(holder, at);
    let reply = await this.change<ScriptReply>(
      'moviehubSeatRelease',
      [
        keys.holds,
        keys.windows,
        keys.version,
        keys.cooldowns,
        keys.places,
        ...(this.split ? [] : [holderKeys.showtimes, holderKeys.calls]),
      ],
      [
        showtime.id,
        holder,
        at,
        this.options.channel(showtime.id),
        keepMs(showtime, at),
        this.rules.cooldownMs,
        !this.split && options.admit ? this.rules.ratePerMinute : 0,
        RATE_WINDOW_MS,
        this.split ? '1' : '0',
        ...seats,
      ],
    );
    if (this.split) {
      const [place, seq] = reply.map(Number);
      reply = reply.slice(2);
      // Its last seat here went: the place is free before the caller hears so.
      if (place >= 0) await this.settlePlace(showtime, holder, at, '', place, seq).catch(() => {});
    }
    const [version, ...released] = reply;
    if (version === 'RATE_LIMITED') {
      throw tooManyCalls(this.rules.ratePerMinute, Number(released[0]));
    }
    return { released: released.map(String), version: Number(version) };
  }

  async snapshot(
    showtimeId: string,
    now?: number,
  ): Promise<{ version: number; holds: Map<string, string> }> {
    this.assertOpen();
    checkShowtimeId(showtimeId);
    const keys = this.keys(showtimeId);
    const [version, ...flat] = await this.script<ScriptReply>(
      'moviehubSeatSnapshot',
      [keys.holds, keys.windows, keys.version, keys.reserved],
      [clock(now)],
    );
    const holds = new Map<string, string>();
    for (let i = 0; i < flat.length; i += 2) holds.set(String(flat[i]), String(flat[i + 1]));
    return { version: Number(version), holds };
  }

  /**
   * Walks the expiry shards and sweeps every showtime listed as due, one script per
   * showtime that re-checks everything (so instances sweeping the same entries release
   * each window once); each entry leaves its shard or moves to the showtime's next window
   * end, so the walk ends even while other instances sweep too.
   */
  async sweep(now?: number): Promise<number> {
    this.assertOpen();
    const at = clock(now);
    if (this.split && this.rescanDue()) await this.rescan();
    // Split mode: the shards live in different slots, so no one script can look at them all.
    const shards = this.split ? ALL_SHARDS : await this.dueShards(at);
    if (shards.length === 0) return 0;
    const counts = await Promise.all(shards.map((shard) => this.sweepShard(shard, at)));
    return counts.reduce((sum, n) => sum + n, 0);
  }

  /** One Redis: the shards listing something due at `now`, in one round trip. */
  private async dueShards(now: number): Promise<number[]> {
    const due = await this.script<number[]>('moviehubSeatDueShards', this.shardKeys, [now]);
    return due.map((position) => Number(position) - 1);
  }

  private async sweepShard(shard: number, now: number): Promise<number> {
    const shardKey = this.shardKeys[shard];
    let released = 0;
    for (let pass = 0; pass < SWEEP_PASSES; pass++) {
      const flat = await this.run(() =>
        this.redis.zrangebyscore(shardKey, '-inf', now, 'WITHSCORES', 'LIMIT', 0, SWEEP_BATCH),
      );
      const entries: Array<[string, string]> = [];
      for (let i = 0; i < flat.length; i += 2) entries.push([flat[i], flat[i + 1]]);
      const results = await Promise.all(
        entries.map(([showtimeId, score]) => this.sweepShowtime(shardKey, showtimeId, score, now)),
      );
      released += results.reduce((sum, n) => sum + n, 0);
      if (entries.length < SWEEP_BATCH) break;
    }
    return released;
  }

  private async sweepShowtime(
    shardKey: string,
    showtimeId: string,
    listed: string,
    now: number,
  ): Promise<number> {
    try {
      checkShowtimeId(showtimeId);
    } catch {
      // Not written by this store (every id it lists is valid): drop it so it cannot come
      // back in every batch.
      await this.run(() => this.redis.zrem(shardKey, showtimeId));
      return 0;
    }
    const keys = this.keys(showtimeId);
    const [released, next] = await this.change<ScriptReply>(
      'moviehubSeatSweep',
      [keys.holds, keys.windows, keys.version, keys.expiries, ...(this.split ? [] : [shardKey])],
      [
        showtimeId,
        now,
        this.options.channel(showtimeId),
        KEEP_AFTER_END_MS,
        WINDOWS_PER_SWEEP,
        this.split ? '1' : '0',
      ],
    );
    if (this.split) {
      await this.script('moviehubSeatReindex', [shardKey], [showtimeId, listed, Number(next)]);
    }
    return Number(released);
  }

  private rescanDue(): boolean {
    const wall = Date.now();
    if (this.lastRescan !== undefined && wall - this.lastRescan < this.rescanIntervalMs) {
      return false;
    }
    this.lastRescan = wall;
    return true;
  }

  /**
   * Split mode's backstop: lists every showtime that has windows in its expiry shard, at its
   * earliest window end (INDEX_LUA, so that it never raises an entry). Finds them with SCAN
   * on every primary (one Redis: on it), so it costs a pass over the keyspace: hence only
   * every `rescanIntervalMs`. Public so that tests (and operators) can run it at will.
   */
  async rescan(): Promise<number> {
    this.assertOpen();
    const redis = this.redis;
    const nodes: Redis[] = redis.isCluster ? (redis as Cluster).nodes('master') : [redis as Redis];
    const pattern = `${globLiteral(this.options.keyPrefix)}seat:{*}:expiries`;
    const head = `${this.options.keyPrefix}seat:{`;
    let listed = 0;
    for (const node of nodes) {
      let cursor = '0';
      do {
        const [nextCursor, keys] = await this.run(() =>
          node.scan(cursor, 'MATCH', pattern, 'COUNT', 1000),
        );
        cursor = nextCursor;
        for (const key of keys) {
          const showtimeId = key.slice(head.length, key.length - '}:expiries'.length);
          const first = await this.run(() => this.redis.zrange(key, 0, 0, 'WITHSCORES'));
          if (first.length < 2) continue;
          await this.run(() => this.index(showtimeId, Number(first[1])));
          listed += 1;
        }
      } while (cursor !== '0');
    }
    return listed;
  }

  async reserve(
    showtime: ShowtimeRef,
    holder: string,
    seatIds: string[],
    until: number,
    now?: number,
  ): Promise<{ version: number }> {
    this.assertOpen();
    checkShowtime(showtime);
    checkHolder(holder);
    const seats = checkSeatIds(seatIds);
    const at = clock(now);
    checkUntil(until, at);
    const keys = this.keys(showtime.id);
    const [outcome, ...rest] = await this.change<ScriptReply>(
      'moviehubSeatReserve',
      [
        keys.holds,
        keys.windows,
        keys.version,
        keys.cooldowns,
        keys.reserved,
        keys.places,
        ...(this.split ? [] : [this.holderKeys(holder).showtimes]),
      ],
      [
        showtime.id,
        holder,
        at,
        until,
        this.options.channel(showtime.id),
        keepMs(showtime, at),
        this.rules.cooldownMs,
        this.split ? '1' : '0',
        ...seats,
      ],
    );
    if (outcome === 'SEATS_NOT_HELD') throw seatsNotHeld(rest.map(String));
    const [version, place, seq] = rest.map(Number);
    if (this.split && place >= 0) {
      await this.settlePlace(showtime, holder, at, '', place, seq).catch(() => {});
    }
    return { version };
  }

  async retake(
    showtime: ShowtimeRef,
    holder: string,
    seatIds: string[],
    until: number,
    now?: number,
  ): Promise<{ version: number }> {
    this.assertOpen();
    checkShowtime(showtime);
    checkHolder(holder);
    const seats = checkSeatIds(seatIds);
    const at = clock(now);
    checkUntil(until, at);
    const keys = this.keys(showtime.id);
    const version = await this.change(
      'moviehubSeatRetake',
      [keys.holds, keys.version, keys.reserved],
      [
        showtime.id,
        holder,
        at,
        until,
        this.options.channel(showtime.id),
        keepMs(showtime, at),
        ...seats,
      ],
    );
    return { version: Number(version) };
  }

  async publishChange(
    showtime: ShowtimeRef,
    seats: Array<{ seatId: string; status: ExternalSeatStatus }>,
  ): Promise<number> {
    this.assertOpen();
    checkShowtime(showtime);
    const changes = checkExternalChanges(seats);
    const keys = this.keys(showtime.id);
    const version = await this.change(
      'moviehubSeatPublishChange',
      [keys.holds, keys.version, keys.reserved, keys.sold, keys.facts],
      [
        showtime.id,
        this.options.channel(showtime.id),
        keepMs(showtime, Date.now()),
        ...changes.flatMap(({ seatId, status }) => [seatId, status]),
      ],
    );
    return Number(version);
  }

  /**
   * The connection belongs to the caller, so closing only stops this store taking calls
   * (and waits for the commands it sent without waiting).
   */
  async close(): Promise<void> {
    this.closed = true;
    await Promise.allSettled([...this.background]);
  }

  /** Sends commands whose answer nobody waits for; a failure is left to the backstops. */
  private inBackground(commands: () => Promise<unknown>): void {
    const running = commands().catch(() => {});
    this.background.add(running);
    void running.finally(() => this.background.delete(running));
  }

  /** One script call: its keys (whose count ioredis sends first), then its arguments. */
  private script<T = unknown>(name: ScriptName, keys: string[], args: Arg[]): Promise<T> {
    return this.run(() => this.redis[name](keys.length, ...keys, ...args) as Promise<T>);
  }

  /**
   * Holds the connection's writes until the end of this turn of the event loop, so that the
   * holds and releases of every request read in that turn (a rush: hundreds) reach Redis in
   * one write, and Redis answers them in one, instead of a system call and a wake-up of Redis
   * per call. Called as a request's hold, release or admission starts, in the turn's I/O
   * phase: the uncork (`setImmediate`) comes at the end of that same turn, so a call waits at
   * most for the rest of it. Not for calls made from `setImmediate` callbacks (the loaders'
   * batched reads: `snapshot`), whose uncork would wait for the whole next turn. One Redis
   * only: a cluster client writes to a connection per node.
   */
  private corkUntilTurnEnds(): void {
    if (this.corked || this.redis.isCluster) return;
    const stream = (this.redis as Redis).stream as
      { cork(): void; uncork(): void; writable: boolean } | undefined;
    if (!stream?.writable) return;
    stream.cork();
    this.corked = stream;
    setImmediate(() => {
      this.corked = undefined;
      stream.uncork();
    });
  }

  /**
   * A script that changes a showtime, followed by WAIT in the same pipeline (same node, one
   * round trip) when `replicaAcks` asks for it; too few acks, and the call waits on for the
   * replicas still connected (`awaitReplicas`).
   */
  private change<T = unknown>(name: ScriptName, keys: string[], args: Arg[]): Promise<T> {
    if (this.replicaAcks === 0) return this.script<T>(name, keys, args);
    return this.run(async () => {
      for (let attempt = 1; ; attempt++) {
        try {
          return await this.pipelined<T>(name, keys, args);
        } catch (err) {
          // The slot moved (a failover): ioredis follows MOVED for a pipeline only when every
          // command in it was redirected, and the keyless WAIT never is, so it would keep
          // sending to the old owner. The script did not run: learn the new owner, send again.
          if (!(err instanceof Error) || !/^(MOVED|ASK) /.test(err.message) || attempt >= 3) {
            throw err;
          }
          const redis = this.redis;
          if (redis.isCluster) {
            await new Promise<void>((resolve) =>
              (redis as Cluster).refreshSlotsCache(() => resolve()),
            );
          }
        }
      }
    });
  }

  private async pipelined<T>(name: ScriptName, keys: string[], args: Arg[]): Promise<T> {
    {
      const pipeline = this.redis.pipeline() as unknown as SeatHoldCommands & {
        wait(replicas: number, timeoutMs: number): unknown;
        exec(): Promise<Array<[Error | null, unknown]> | null>;
      };
      void pipeline[name](keys.length, ...keys, ...args);
      pipeline.wait(this.replicaAcks, this.replicaAckTimeoutMs);
      const results = await pipeline.exec();
      const [err, value] = results?.[0] ?? [new Error('Redis answered no result'), undefined];
      if (err) throw err;
      const acks = results?.[1]?.[1];
      if (typeof acks !== 'number' || acks < this.replicaAcks) await this.awaitReplicas(keys[0]);
      return value as T;
    }
  }

  /**
   * A change made on the primary of `key`'s slot, which its replicas have not all confirmed
   * within `replicaAckTimeoutMs` (a replica busy or slow under load): acknowledged now, it
   * would be lost if the primary failed over before they had it. So, on that same node
   * (each pipeline goes to the slot's owner, the keyless commands with it), while it is still
   * the primary and has at least `replicaAcks` live replicas (online, their last ack at most
   * `LIVE_REPLICA_LAG_S` old), WAIT again in short steps until they have it, or until
   * `replicaAckBudgetMs` has passed since the change: then SERVICE_UNAVAILABLE (the change may
   * stand, the caller was not told it did). A replica that stopped acknowledging altogether
   * (stalled, cut off) is not waited for: with fewer live replicas the change is acknowledged
   * as on one Redis, so that one stalled replica does not hold every change of its primary
   * (WAIT blocks the connection it is sent on). A node that is no longer the primary (a
   * failover meanwhile) may have lost the change: SERVICE_UNAVAILABLE too.
   */
  private async awaitReplicas(key: string): Promise<void> {
    const deadline = Date.now() + this.replicaAckBudgetMs - this.replicaAckTimeoutMs;
    const onOwner = async (...command: [string, ...(string | number)[]]): Promise<unknown> => {
      const pipeline = this.redis.pipeline();
      pipeline.exists(key);
      pipeline.call(...command);
      const reply = (await pipeline.exec())?.[1];
      if (!reply) throw new Error('Redis answered no result');
      if (reply[0]) throw reply[0];
      return reply[1];
    };
    for (;;) {
      const replication = String(await onOwner('INFO', 'replication'));
      if (!/^role:master\r?$/m.test(replication)) throw replicasUnconfirmed();
      if (liveReplicas(replication) < this.replicaAcks) return;
      const left = deadline - Date.now();
      if (left <= 0) throw replicasUnconfirmed();
      const acks = await onOwner('WAIT', this.replicaAcks, Math.max(1, Math.min(left, 100)));
      if (typeof acks === 'number' && acks >= this.replicaAcks) return;
    }
  }

  /** One hash tag per showtime, so a showtime's keys stay in one cluster slot. */
  private keys(showtimeId: string) {
    const base = `${this.options.keyPrefix}seat:{${showtimeId}}`;
    return {
      holds: `${base}:holds`,
      windows: `${base}:windows`,
      expiries: `${base}:expiries`,
      cooldowns: `${base}:cooldowns`,
      version: `${base}:version`,
      reserved: `${base}:reserved`,
      sold: `${base}:sold`,
      facts: `${base}:facts`,
      places: `${base}:places`,
    };
  }

  private shardKey(showtimeId: string): string {
    return this.shardKeyOf(expiryShard(showtimeId));
  }

  private shardKeyOf(shard: number): string {
    return `${this.options.keyPrefix}{seat-expiry:${shard}}`;
  }

  /**
   * A holder's own keys, across showtimes, in one slot of their own: the tag starts with
   * `h:` so that it is never empty, whatever the holder tag holds.
   */
  private holderKeys(holder: string) {
    const base = `${this.options.keyPrefix}seat-holder:{h:${holder}}`;
    return {
      showtimes: `${base}:showtimes`,
      calls: `${base}:calls`,
      claims: `${base}:claims`,
      placeSeqs: `${base}:place-seqs`,
    };
  }

  /** Runs Redis commands; "Redis unreachable" becomes a retryable SERVICE_UNAVAILABLE. */
  private async run<T>(commands: () => Promise<T>): Promise<T> {
    try {
      return await commands();
    } catch (err) {
      throw isRedisUnavailable(err) ? seatHoldsUnavailable(err) : err;
    }
  }

  private assertOpen(): void {
    if (this.closed) throw new Error('The seat-hold store is closed');
  }
}

/** A replica whose last acknowledgement is older than this (s) has stalled: not waited for. */
const LIVE_REPLICA_LAG_S = 2;

/** Replicas online and acknowledging, from a primary's `INFO replication`. */
export function liveReplicas(info: string): number {
  let live = 0;
  for (const [, fields] of info.matchAll(/^slave\d+:(.*)$/gm)) {
    const field = (name: string) => new RegExp(`(?:^|,)${name}=([^,\\r]*)`).exec(fields)?.[1];
    if (field('state') === 'online' && Number(field('lag')) <= LIVE_REPLICA_LAG_S) live += 1;
  }
  return live;
}

/** A change its replicas did not confirm in time: retryable, its outcome unknown. */
function replicasUnconfirmed(): AppError {
  return new AppError(
    'SERVICE_UNAVAILABLE',
    'Seat holds could not be confirmed on a replica in time; try again',
    { retryAfter: 1 },
  );
}

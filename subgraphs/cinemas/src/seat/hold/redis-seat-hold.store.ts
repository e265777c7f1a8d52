import type { Redis } from 'ioredis';
import { isRedisUnavailable } from '../../../../../runtime/redis';
import {
  ADMIT_LUA,
  CLOSE_SHOWTIME_LUA,
  HOLD_LUA,
  LOAD_RECORD_LUA,
  PUBLISH_CHANGE_LUA,
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
  parseWindowMember,
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

export interface RedisSeatHoldStoreOptions extends SeatHoldRules {
  /** A connection the caller owns (and closes); the store only defines its scripts on it. */
  redis: Redis;
  /** Prepended to every key, e.g. `moviehub:`; tests use a unique one per run. */
  keyPrefix: string;
  /** The pub/sub channel a showtime's events go to; subscribers listen there. */
  channel: (showtimeId: string) => string;
  /**
   * Where a showtime's sold seats and PENDING reservations are read from (PostgreSQL), once
   * per showtime while Redis keeps them: with it, `hold` refuses sold seats itself.
   */
  records?: ReservationRecords;
}

/** Window index entries handled per round trip of `sweep`. */
const SWEEP_BATCH = 100;

type Arg = string | number;
type ScriptReply = Array<string | number>;

/** The scripts as ioredis `defineCommand` methods (EVALSHA, falling back to EVAL). */
interface SeatHoldCommands {
  moviehubSeatAdmit(...args: Arg[]): Promise<ScriptReply>;
  moviehubSeatHold(...args: Arg[]): Promise<ScriptReply>;
  moviehubSeatRelease(...args: Arg[]): Promise<ScriptReply>;
  moviehubSeatSnapshot(...args: Arg[]): Promise<ScriptReply>;
  moviehubSeatSweep(...args: Arg[]): Promise<number>;
  moviehubSeatReserve(...args: Arg[]): Promise<ScriptReply>;
  moviehubSeatRetake(...args: Arg[]): Promise<number>;
  moviehubSeatPublishChange(...args: Arg[]): Promise<number>;
  moviehubSeatLoadRecord(...args: Arg[]): Promise<number>;
  moviehubSeatClose(...args: Arg[]): Promise<number>;
}

/**
 * The production hold store. Every state change is one Lua script that also INCRs the
 * showtime's version and PUBLISHes its event, so version order is publish order and no
 * change is published twice or lost (see `redis-seat-hold.scripts.ts` for the key layout).
 * Any number of instances may share one Redis; all state lives there.
 *
 * Redis down is an answer, not a hang or a crash: the connection fails fast (see
 * `createRedis`) and every method turns "Redis unreachable" into a retryable
 * `SERVICE_UNAVAILABLE` (`seatHoldsUnavailable`); the next call after Redis returns works.
 *
 * Deployment note: the per-showtime keys carry a `{showtimeId}` hash tag, but the sweeper's
 * `expiries` sorted set is one key for the whole prefix and is written by the hold and sweep
 * scripts, so those scripts need every key on one node: a single Redis (or a primary with
 * replicas), not Redis Cluster as is.
 */
export class RedisSeatHoldStore implements SeatHoldStore {
  private readonly redis: Redis & SeatHoldCommands;
  private readonly rules: CheckedRules;
  private readonly expiriesKey: string;
  private closed = false;

  constructor(private readonly options: RedisSeatHoldStoreOptions) {
    this.rules = checkRules(options);
    const redis = options.redis;
    // Defining again on a shared connection just replaces the identical definition.
    redis.defineCommand('moviehubSeatAdmit', { numberOfKeys: 1, lua: ADMIT_LUA });
    redis.defineCommand('moviehubSeatHold', { numberOfKeys: 10, lua: HOLD_LUA });
    redis.defineCommand('moviehubSeatRelease', { numberOfKeys: 6, lua: RELEASE_LUA });
    redis.defineCommand('moviehubSeatSnapshot', {
      numberOfKeys: 4,
      lua: SNAPSHOT_LUA,
      readOnly: true,
    });
    redis.defineCommand('moviehubSeatSweep', { numberOfKeys: 5, lua: SWEEP_LUA });
    redis.defineCommand('moviehubSeatReserve', { numberOfKeys: 6, lua: RESERVE_LUA });
    redis.defineCommand('moviehubSeatRetake', { numberOfKeys: 3, lua: RETAKE_LUA });
    redis.defineCommand('moviehubSeatPublishChange', { numberOfKeys: 5, lua: PUBLISH_CHANGE_LUA });
    redis.defineCommand('moviehubSeatLoadRecord', { numberOfKeys: 3, lua: LOAD_RECORD_LUA });
    redis.defineCommand('moviehubSeatClose', { numberOfKeys: 1, lua: CLOSE_SHOWTIME_LUA });
    this.redis = redis as Redis & SeatHoldCommands;
    this.expiriesKey = `${options.keyPrefix}seat:expiries`;
  }

  async admit(holder: string, now?: number): Promise<void> {
    this.assertOpen();
    checkHolder(holder);
    const [admitted, waitMs] = await this.run(() =>
      this.redis.moviehubSeatAdmit(
        this.holderKeys(holder).calls,
        clock(now),
        this.rules.ratePerMinute,
        RATE_WINDOW_MS,
      ),
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
    checkShowtime(showtime);
    checkHolder(holder);
    const requested = checkHoldSeatIds(seatIds, this.rules.maxSeatsPerHolder);
    const at = clock(now);
    const keys = this.keys(showtime.id);
    const holderKeys = this.holderKeys(holder);
    const records = this.options.records;
    for (let attempt = 1; ; attempt++) {
      const reply = await this.run(() =>
        this.redis.moviehubSeatHold(
          keys.holds,
          keys.windows,
          keys.version,
          this.expiriesKey,
          keys.cooldowns,
          holderKeys.showtimes,
          keys.reserved,
          keys.sold,
          keys.facts,
          holderKeys.calls,
          showtime.id,
          holder,
          at,
          this.rules.ttlMs,
          this.rules.maxSeatsPerHolder,
          this.options.channel(showtime.id),
          windowMember(showtime.id, holder),
          keepMs(showtime, at),
          this.rules.cooldownMs,
          this.rules.maxShowtimesPerHolder,
          records ? 1 : 0,
          options.admit ? this.rules.ratePerMinute : 0,
          RATE_WINDOW_MS,
          ...requested,
        ),
      );
      const [outcome, ...rest] = reply;
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

  /** Reads the showtime's record and hands it to Redis, unless a change was published meanwhile. */
  private async loadRecord(
    showtime: ShowtimeRef,
    epoch: string,
    records: ReservationRecords,
    now: number,
  ): Promise<void> {
    const record = await records(showtime.id);
    const keys = this.keys(showtime.id);
    await this.run(() =>
      this.redis.moviehubSeatLoadRecord(
        keys.sold,
        keys.facts,
        keys.reserved,
        epoch,
        now,
        keepMs(showtime, now),
        record.sold.length,
        ...record.sold,
        ...record.pending.flatMap((p) => [p.seatId, p.until, p.holder]),
      ),
    );
  }

  async closeShowtime(showtime: ShowtimeRef): Promise<void> {
    this.assertOpen();
    checkShowtime(showtime);
    const keys = this.keys(showtime.id);
    await this.run(() => this.redis.moviehubSeatClose(keys.facts, keepMs(showtime, Date.now())));
  }

  async release(
    showtime: ShowtimeRef,
    holder: string,
    seatIds: string[],
    now?: number,
    options: CallOptions = {},
  ): Promise<{ released: string[]; version: number }> {
    this.assertOpen();
    checkShowtime(showtime);
    checkHolder(holder);
    const seats = checkSeatIds(seatIds);
    const at = clock(now);
    const keys = this.keys(showtime.id);
    const holderKeys = this.holderKeys(holder);
    const [version, ...released] = await this.run(() =>
      this.redis.moviehubSeatRelease(
        keys.holds,
        keys.windows,
        keys.version,
        keys.cooldowns,
        holderKeys.showtimes,
        holderKeys.calls,
        showtime.id,
        holder,
        at,
        this.options.channel(showtime.id),
        keepMs(showtime, at),
        this.rules.cooldownMs,
        options.admit ? this.rules.ratePerMinute : 0,
        RATE_WINDOW_MS,
        ...seats,
      ),
    );
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
    const [version, ...flat] = await this.run(() =>
      this.redis.moviehubSeatSnapshot(
        keys.holds,
        keys.windows,
        keys.version,
        keys.reserved,
        clock(now),
      ),
    );
    const holds = new Map<string, string>();
    for (let i = 0; i < flat.length; i += 2) holds.set(String(flat[i]), String(flat[i + 1]));
    return { version: Number(version), holds };
  }

  /**
   * Lists expired windows from the index and hands each to the sweep script, which re-checks
   * it; every listed member leaves the index (released, or re-scored when renewed), so the
   * loop ends even while other instances sweep the same entries.
   */
  async sweep(now?: number): Promise<number> {
    this.assertOpen();
    const at = clock(now);
    let released = 0;
    for (;;) {
      const members = await this.run(() =>
        this.redis.zrangebyscore(this.expiriesKey, '-inf', at, 'LIMIT', 0, SWEEP_BATCH),
      );
      const results = await Promise.all(
        members.map((member) => this.run(() => this.sweepWindow(member, at))),
      );
      released += results.reduce((sum, n) => sum + n, 0);
      if (members.length < SWEEP_BATCH) return released;
    }
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
    const [outcome, ...rest] = await this.run(() =>
      this.redis.moviehubSeatReserve(
        keys.holds,
        keys.windows,
        keys.version,
        keys.cooldowns,
        this.holderKeys(holder).showtimes,
        keys.reserved,
        showtime.id,
        holder,
        at,
        until,
        this.options.channel(showtime.id),
        keepMs(showtime, at),
        this.rules.cooldownMs,
        ...seats,
      ),
    );
    if (outcome === 'SEATS_NOT_HELD') throw seatsNotHeld(rest.map(String));
    return { version: Number(rest[0]) };
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
    const version = await this.run(() =>
      this.redis.moviehubSeatRetake(
        keys.holds,
        keys.version,
        keys.reserved,
        showtime.id,
        holder,
        at,
        until,
        this.options.channel(showtime.id),
        keepMs(showtime, at),
        ...seats,
      ),
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
    const version = await this.run(() =>
      this.redis.moviehubSeatPublishChange(
        keys.holds,
        keys.version,
        keys.reserved,
        keys.sold,
        keys.facts,
        showtime.id,
        this.options.channel(showtime.id),
        keepMs(showtime, Date.now()),
        ...changes.flatMap(({ seatId, status }) => [seatId, status]),
      ),
    );
    return Number(version);
  }

  /** The connection belongs to the caller, so closing only stops this store taking calls. */
  close(): Promise<void> {
    this.closed = true;
    return Promise.resolve();
  }

  private async sweepWindow(member: string, now: number): Promise<number> {
    const window = parseWindowMember(member);
    if (!window) {
      // Not written by this store (every member it writes parses); drop it so it cannot
      // come back in every batch.
      await this.redis.zrem(this.expiriesKey, member);
      return 0;
    }
    const keys = this.keys(window.showtimeId);
    const released = await this.redis.moviehubSeatSweep(
      keys.holds,
      keys.windows,
      keys.version,
      this.expiriesKey,
      this.holderKeys(window.holder).showtimes,
      member,
      window.showtimeId,
      window.holder,
      now,
      this.options.channel(window.showtimeId),
      KEEP_AFTER_END_MS,
    );
    return Number(released);
  }

  /** One hash tag per showtime, so a showtime's keys stay in one cluster slot. */
  private keys(showtimeId: string) {
    const base = `${this.options.keyPrefix}seat:{${showtimeId}}`;
    return {
      holds: `${base}:holds`,
      windows: `${base}:windows`,
      cooldowns: `${base}:cooldowns`,
      version: `${base}:version`,
      reserved: `${base}:reserved`,
      sold: `${base}:sold`,
      facts: `${base}:facts`,
    };
  }

  /** A holder's own keys, across showtimes. */
  private holderKeys(holder: string) {
    const base = `${this.options.keyPrefix}seat-holder:${holder}`;
    return { showtimes: `${base}:showtimes`, calls: `${base}:calls` };
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

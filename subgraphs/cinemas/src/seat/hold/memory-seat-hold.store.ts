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
  RATE_WINDOW_MS,
  RECORD_LOAD_ATTEMPTS,
  seatHoldsUnavailable,
  seatsNotHeld,
  showtimeClosed,
  seatUnavailable,
  showtimeLimitExceeded,
  sortSeatIds,
  tooManyCalls,
  type CallOptions,
  type CheckedRules,
  type ExternalSeatStatus,
  type HoldResult,
  type ReservationRecords,
  type SeatEvent,
  type SeatEventSeat,
  type SeatHoldRules,
  type SeatHoldStore,
  type SeatVersionLedger,
  type ShowtimeRef,
} from './seat-hold.store';

export interface MemorySeatHoldStoreOptions extends SeatHoldRules {
  /**
   * Called synchronously inside the change, so events leave in version order. It must not
   * throw: by then the change is made, and failing the caller would misreport it.
   */
  publish: (showtimeId: string, event: SeatEvent) => void;
  /**
   * Where versions are reserved before they are issued, so that they never go back across a
   * restart (the embedded default: PostgreSQL). Without one, versions start at 0 in every
   * process: fine for tests that do not restart.
   */
  versions?: SeatVersionLedger;
  /**
   * Where a showtime's sold seats and PENDING reservations are read from (PostgreSQL), once
   * per showtime and process: with it, `hold` refuses sold seats itself.
   */
  records?: ReservationRecords;
}

interface ShowtimeState {
  /** Kept after the last hold goes, so a showtime's versions never restart. */
  version: number;
  /** Versions up to here are reserved in the ledger (Infinity without one). */
  ceiling: number;
  /** seatId -> holder tag; may still name holders whose window has passed. */
  holds: Map<string, string>;
  /** holder tag -> end of its window (ms). */
  windows: Map<string, number>;
  /** holder tag -> earliest start of its next window (ms). */
  cooldowns: Map<string, number>;
  /** seatId -> a booking's reservation (see `reserve`); may still hold lapsed ones. */
  reserved: Map<string, { until: number; holder: string }>;
  /** Seats sold, as far as `publishChange` and the loaded record tell. */
  sold: Set<string>;
  /** Whether the reservation record was loaded (`records`). */
  recordLoaded: boolean;
  /** Changes published since: a load that read the record before one is read again. */
  epoch: number;
  /** Cancelled: no more holds. */
  closed: boolean;
}

interface HolderState {
  /** showtimeId -> end of the window in which the holder holds seats there. */
  showtimes: Map<string, number>;
  /** Times of its hold/release calls in the last minute, oldest first. */
  calls: number[];
}

/** Versions reserved per trip to the ledger: at most this many are skipped by a restart. */
const VERSION_BLOCK = 100;

/** Bytewise, like Lua's `table.sort` in the Redis scripts, so both stores order events alike. */
const bytewise = (a: string, b: string): number => (a < b ? -1 : a > b ? 1 : 0);

/**
 * The hold store of the embedded local mode: one process, so each change runs to completion
 * synchronously, which makes every operation atomic without locks. The only awaits come
 * before that synchronous part (loading the version ledger, reserving versions), and the
 * part re-reads everything it decides on. Mirrors `RedisSeatHoldStore` rule for rule; see
 * `seat-hold.store.ts`.
 *
 * Versions: the ledger holds, per showtime, a ceiling no issued version exceeds. A process
 * starts every showtime at its ceiling and reserves a block of versions (raising the ceiling)
 * before it issues any, so after a restart, crash included, versions continue above
 * everything issued before: consecutive within a run, one jump (at most a block) across a
 * restart, which clients treat as a gap (refetch) — and a restart dropped the holds anyway.
 */
export class MemorySeatHoldStore implements SeatHoldStore {
  private readonly showtimes = new Map<string, ShowtimeState>();
  private readonly holders = new Map<string, HolderState>();
  private readonly rules: CheckedRules;
  private loading: Promise<void> | undefined;
  private loaded = false;
  private readonly reserving = new Map<string, Promise<void>>();
  private closed = false;

  constructor(private readonly options: MemorySeatHoldStoreOptions) {
    this.rules = checkRules(options);
  }

  admit(holder: string, now?: number): Promise<void> {
    // The executor turns a refusal (closed store, bad holder, rate limit) into a rejection.
    return new Promise((resolve) => {
      this.admitNow(holder, now);
      resolve();
    });
  }

  private admitNow(holder: string, now?: number): void {
    this.assertOpen();
    checkHolder(holder);
    const at = clock(now);
    const state = this.holder(holder);
    state.calls = state.calls.filter((t) => t > at - RATE_WINDOW_MS);
    if (state.calls.length >= this.rules.ratePerMinute) {
      throw tooManyCalls(this.rules.ratePerMinute, state.calls[0] + RATE_WINDOW_MS - at);
    }
    state.calls.push(at);
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
    const showtimeId = showtime.id;
    for (let attempt = 1; ; attempt++) {
      while (!this.hasVersions(showtimeId, 1)) await this.reserveVersions(showtimeId, 1);
      const records = this.options.records;
      const state = this.state(showtimeId);
      if (state.closed || !records || state.recordLoaded) break;
      if (attempt >= RECORD_LOAD_ATTEMPTS) throw seatHoldsUnavailable();
      // Read while other calls run: applied only if no change was published meanwhile.
      const epoch = state.epoch;
      const record = await records(showtimeId);
      this.assertOpen();
      const current = this.state(showtimeId);
      // A cancellation is never undone: closed whatever was published meanwhile.
      if (record.closed) current.closed = true;
      if (current.recordLoaded || current.epoch !== epoch) continue;
      for (const seat of record.sold) current.sold.add(seat);
      for (const { seatId, holder: booker, until } of record.pending) {
        if (until > at && !current.reserved.has(seatId)) {
          current.reserved.set(seatId, { until, holder: booker });
        }
      }
      current.recordLoaded = true;
    }
    // Synchronous from the check above to the end: nothing else runs in between.
    this.assertOpen();
    const state = this.state(showtimeId);
    if (state.closed) throw showtimeClosed();
    if (options.admit) this.admitNow(holder, at);
    const holderState = this.holder(holder);
    const live = (h: string) => (state.windows.get(h) ?? -Infinity) > at;
    const reservedNow = (seat: string) => (state.reserved.get(seat)?.until ?? -Infinity) > at;

    const holderLive = live(holder);
    if (!holderLive) {
      const allowed = state.cooldowns.get(holder);
      if (allowed !== undefined && allowed > at) throw coolingDown(allowed - at);
    }
    const mine = new Set<string>();
    if (holderLive) for (const [seat, h] of state.holds) if (h === holder) mine.add(seat);
    if (mine.size === 0) {
      for (const [id, ends] of holderState.showtimes) {
        if (ends <= at) holderState.showtimes.delete(id);
      }
      if (
        !holderState.showtimes.has(showtimeId) &&
        holderState.showtimes.size >= this.rules.maxShowtimesPerHolder
      ) {
        throw showtimeLimitExceeded(this.rules.maxShowtimesPerHolder);
      }
    }

    // A live reservation blocks everyone, its own holder included (see the contract), and
    // so does a sale.
    const checkSold = this.options.records !== undefined;
    const conflicts = requested.filter((seat) => {
      const h = state.holds.get(seat);
      return (
        (checkSold && state.sold.has(seat)) ||
        reservedNow(seat) ||
        (h !== undefined && h !== holder && live(h))
      );
    });
    if (conflicts.length > 0) throw seatUnavailable(conflicts);
    const total = mine.size + requested.filter((seat) => !mine.has(seat)).length;
    if (total > this.rules.maxSeatsPerHolder) {
      throw holdLimitExceeded(this.rules.maxSeatsPerHolder);
    }

    const changes: SeatEventSeat[] = [];
    let expiresAt = state.windows.get(holder) ?? 0;
    if (!holderLive) {
      // A new window. Seats left over from the holder's expired one count as free: those it
      // asks for again are re-held below, the rest are released now.
      expiresAt = at + this.rules.ttlMs;
      state.windows.set(holder, expiresAt);
      const wanted = new Set(requested);
      const stale = [...state.holds]
        .filter(([seat, h]) => h === holder && !wanted.has(seat))
        .map(([seat]) => seat)
        .sort(bytewise);
      for (const seat of stale) {
        state.holds.delete(seat);
        changes.push({ seatId: seat, status: 'AVAILABLE', holder: null });
      }
    }
    for (const seat of requested) state.reserved.delete(seat); // lapsed leftovers, if any
    for (const seat of requested) {
      if (mine.has(seat)) continue;
      state.holds.set(seat, holder);
      mine.add(seat);
      changes.push({ seatId: seat, status: 'HELD', holder });
    }
    // Holding seats again moves the cooldown back to the window's end (see the contract).
    state.cooldowns.set(holder, expiresAt + this.rules.cooldownMs);
    holderState.showtimes.set(showtimeId, expiresAt);
    const version = this.commit(showtimeId, state, changes);
    return { expiresAt: new Date(expiresAt), version, seatIds: sortSeatIds(mine) };
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
    const showtimeId = showtime.id;
    while (!this.hasVersions(showtimeId, 1)) await this.reserveVersions(showtimeId, 1);
    this.assertOpen();
    if (options.admit) this.admitNow(holder, at);
    const state = this.state(showtimeId);
    const released: string[] = [];
    // An expired holder holds nothing, so it has nothing to release; the sweeper frees its
    // seats and publishes that once.
    if ((state.windows.get(holder) ?? -Infinity) > at) {
      for (const seat of seats) {
        if (state.holds.get(seat) !== holder) continue;
        state.holds.delete(seat);
        released.push(seat);
      }
      if (released.length > 0 && ![...state.holds.values()].includes(holder)) {
        state.cooldowns.set(holder, at + this.rules.cooldownMs);
        this.holders.get(holder)?.showtimes.delete(showtimeId);
      }
    }
    const version = this.commit(
      showtimeId,
      state,
      released.map((seatId) => ({ seatId, status: 'AVAILABLE', holder: null })),
    );
    return { released, version };
  }

  async snapshot(
    showtimeId: string,
    now?: number,
  ): Promise<{ version: number; holds: Map<string, string> }> {
    this.assertOpen();
    checkShowtimeId(showtimeId);
    const at = clock(now);
    await this.load();
    const state = this.showtimes.get(showtimeId);
    const holds = new Map<string, string>();
    if (!state) return { version: 0, holds };
    for (const [seat, h] of state.holds) {
      if ((state.windows.get(h) ?? -Infinity) > at) holds.set(seat, h);
    }
    for (const [seat, r] of state.reserved) if (r.until > at) holds.set(seat, r.holder);
    return { version: state.version, holds };
  }

  async sweep(now?: number): Promise<number> {
    this.assertOpen();
    const at = clock(now);
    await this.load();
    let released = 0;
    for (const showtimeId of [...this.showtimes.keys()]) {
      // What Redis keeps until the key expires, memory drops here: lapsed reservations.
      const { reserved } = this.state(showtimeId);
      for (const [seat, r] of reserved) if (r.until <= at) reserved.delete(seat);
      const expired = () =>
        [...this.state(showtimeId).windows].filter(([, ends]) => ends <= at).map(([h]) => h);
      if (expired().length === 0) continue;
      while (!this.hasVersions(showtimeId, expired().length)) {
        await this.reserveVersions(showtimeId, expired().length);
      }
      if (this.closed) return released;
      const state = this.state(showtimeId);
      for (const holder of expired()) {
        state.windows.delete(holder);
        // The cooldown entry stays: it keeps the holder from starting again at once.
        this.holders.get(holder)?.showtimes.delete(showtimeId);
        const seats = [...state.holds]
          .filter(([, h]) => h === holder)
          .map(([seat]) => seat)
          .sort(bytewise);
        for (const seat of seats) state.holds.delete(seat);
        this.commit(
          showtimeId,
          state,
          seats.map((seatId) => ({ seatId, status: 'AVAILABLE', holder: null })),
        );
        released += 1;
      }
    }
    this.forgetIdleHolders(at);
    return released;
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
    while (!this.hasVersions(showtime.id, 1)) await this.reserveVersions(showtime.id, 1);
    // Synchronous from here on: the check and the move are one step.
    this.assertOpen();
    const state = this.state(showtime.id);
    const holderLive = (state.windows.get(holder) ?? -Infinity) > at;
    const todo: string[] = [];
    const missing: string[] = [];
    for (const seat of seats) {
      const r = state.reserved.get(seat);
      if (r && r.until > at && r.holder === holder) continue; // a retry: already done
      if (holderLive && state.holds.get(seat) === holder) todo.push(seat);
      else missing.push(seat);
    }
    if (missing.length > 0) throw seatsNotHeld(missing);
    for (const seat of todo) {
      state.holds.delete(seat);
      state.reserved.set(seat, { until, holder });
    }
    if (todo.length > 0 && ![...state.holds.values()].includes(holder)) {
      state.cooldowns.set(holder, at + this.rules.cooldownMs);
      this.holders.get(holder)?.showtimes.delete(showtime.id);
    }
    const version = this.commit(
      showtime.id,
      state,
      todo.map((seatId) => ({ seatId, status: 'HELD', holder })),
    );
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
    while (!this.hasVersions(showtime.id, 1)) await this.reserveVersions(showtime.id, 1);
    this.assertOpen();
    const state = this.state(showtime.id);
    const changes: SeatEventSeat[] = [];
    for (const seat of seats) {
      const r = state.reserved.get(seat);
      if (r && r.until > at && r.holder === holder) {
        r.until = Math.max(r.until, until);
        continue;
      }
      // Gone from the holds too, lapsed ones included: a sweep of that window must not
      // announce the seat AVAILABLE.
      state.holds.delete(seat);
      state.reserved.set(seat, { until, holder });
      changes.push({ seatId: seat, status: 'HELD', holder });
    }
    return { version: this.commit(showtime.id, state, changes) };
  }

  async publishChange(
    showtime: ShowtimeRef,
    seats: Array<{ seatId: string; status: ExternalSeatStatus }>,
  ): Promise<number> {
    this.assertOpen();
    checkShowtime(showtime);
    const changes = checkExternalChanges(seats);
    while (!this.hasVersions(showtime.id, 1)) await this.reserveVersions(showtime.id, 1);
    this.assertOpen();
    const state = this.state(showtime.id);
    for (const { seatId, status } of changes) {
      state.holds.delete(seatId);
      state.reserved.delete(seatId);
      if (status === 'BOOKED') state.sold.add(seatId);
      else state.sold.delete(seatId);
    }
    state.epoch += 1;
    return this.commit(
      showtime.id,
      state,
      changes.map(({ seatId, status }) => ({ seatId, status, holder: null })),
    );
  }

  closeShowtime(showtime: ShowtimeRef): Promise<void> {
    return new Promise((resolve) => {
      this.assertOpen();
      checkShowtime(showtime);
      this.state(showtime.id).closed = true;
      resolve();
    });
  }

  close(): Promise<void> {
    this.closed = true;
    this.showtimes.clear();
    this.holders.clear();
    return Promise.resolve();
  }

  /** Reads the ledger once per process: every showtime starts at its ceiling. */
  private load(): Promise<void> {
    const ledger = this.options.versions;
    if (!ledger || this.loaded) return Promise.resolve();
    this.loading ??= ledger.load().then(
      (ceilings) => {
        for (const [showtimeId, ceiling] of ceilings) {
          const state = this.state(showtimeId);
          state.version = Math.max(state.version, ceiling);
          state.ceiling = Math.max(state.ceiling, state.version);
        }
        this.loaded = true;
      },
      (err: unknown) => {
        this.loading = undefined; // the next call tries again
        throw err;
      },
    );
    return this.loading;
  }

  /**
   * Whether `count` more versions of the showtime may be issued now. Checked synchronously
   * right before the part that issues them (`while (!hasVersions) await reserveVersions`):
   * an await between the check and that part would let another call use them first.
   */
  private hasVersions(showtimeId: string, count: number): boolean {
    if (!this.options.versions) return true;
    if (!this.loaded) return false;
    const state = this.state(showtimeId);
    return state.ceiling - state.version >= count;
  }

  /** One trip to the ledger (shared by concurrent callers) for at least `count` versions. */
  private async reserveVersions(showtimeId: string, count: number): Promise<void> {
    const ledger = this.options.versions;
    if (!ledger) return;
    await this.load();
    if (this.hasVersions(showtimeId, count)) return;
    let reservation = this.reserving.get(showtimeId);
    if (!reservation) {
      const block = Math.max(VERSION_BLOCK, count);
      reservation = ledger
        .reserve(showtimeId, block)
        .then((ceiling) => {
          const current = this.state(showtimeId);
          // Another process reserved in between (not a supported set-up for this store):
          // jump above its block rather than issue a version twice.
          current.version = Math.max(current.version, ceiling - block);
          current.ceiling = Math.max(current.ceiling, ceiling);
        })
        .finally(() => this.reserving.delete(showtimeId));
      this.reserving.set(showtimeId, reservation);
    }
    await reservation;
  }

  private state(showtimeId: string): ShowtimeState {
    let state = this.showtimes.get(showtimeId);
    if (!state) {
      state = {
        version: 0,
        ceiling: this.options.versions ? 0 : Infinity,
        holds: new Map(),
        windows: new Map(),
        cooldowns: new Map(),
        reserved: new Map(),
        sold: new Set(),
        recordLoaded: false,
        epoch: 0,
        closed: false,
      };
      this.showtimes.set(showtimeId, state);
    }
    return state;
  }

  private holder(holder: string): HolderState {
    let state = this.holders.get(holder);
    if (!state) {
      state = { showtimes: new Map(), calls: [] };
      this.holders.set(holder, state);
    }
    return state;
  }

  /** What Redis expires by itself: holders with no live window and no recent call. */
  private forgetIdleHolders(at: number): void {
    for (const [holder, state] of this.holders) {
      for (const [id, ends] of state.showtimes) if (ends <= at) state.showtimes.delete(id);
      if (state.showtimes.size === 0 && !state.calls.some((t) => t > at - RATE_WINDOW_MS)) {
        this.holders.delete(holder);
      }
    }
  }

  /** One version and one event per change; nothing at all when nothing changed. */
  private commit(showtimeId: string, state: ShowtimeState, seats: SeatEventSeat[]): number {
    if (seats.length === 0) return state.version;
    if (state.version >= state.ceiling) {
      throw new Error('A seat-map version was about to be issued without a reservation');
    }
    state.version += 1;
    this.options.publish(showtimeId, { showtimeId, version: state.version, seats });
    return state.version;
  }

  private assertOpen(): void {
    if (this.closed) throw new Error('The seat-hold store is closed');
  }
}

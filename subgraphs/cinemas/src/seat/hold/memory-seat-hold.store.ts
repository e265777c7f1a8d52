import {
  checkExternalChanges,
  checkHolder,
  checkHoldSeatIds,
  checkRules,
  checkSeatIds,
  checkShowtimeId,
  clock,
  holdLimitExceeded,
  seatUnavailable,
  sortSeatIds,
  type ExternalSeatStatus,
  type HoldResult,
  type SeatEvent,
  type SeatEventSeat,
  type SeatHoldRules,
  type SeatHoldStore,
} from './seat-hold.store';

export interface MemorySeatHoldStoreOptions extends SeatHoldRules {
  /**
   * Called synchronously inside the change, so events leave in version order. It must not
   * throw: by then the change is made, and failing the caller would misreport it.
   */
  publish: (showtimeId: string, event: SeatEvent) => void;
}

interface ShowtimeState {
  /** Kept after the last hold goes, so a showtime's versions never restart. */
  version: number;
  /** seatId -> holder tag; may still name holders whose window has passed. */
  holds: Map<string, string>;
  /** holder tag -> end of its window (ms). */
  windows: Map<string, number>;
}

/** Bytewise, like Lua's `table.sort` in the Redis scripts, so both stores order events alike. */
const bytewise = (a: string, b: string): number => (a < b ? -1 : a > b ? 1 : 0);

/**
 * The hold store of the embedded local mode: one process, so each call runs to completion
 * synchronously before its promise settles, which makes every operation atomic without
 * locks. Mirrors `RedisSeatHoldStore` rule for rule; see `seat-hold.store.ts`.
 */
export class MemorySeatHoldStore implements SeatHoldStore {
  private readonly showtimes = new Map<string, ShowtimeState>();
  private readonly ttlMs: number;
  private readonly maxSeatsPerHolder: number;
  private closed = false;

  constructor(private readonly options: MemorySeatHoldStoreOptions) {
    ({ ttlMs: this.ttlMs, maxSeatsPerHolder: this.maxSeatsPerHolder } = checkRules(options));
  }

  async hold(
    showtimeId: string,
    holder: string,
    seatIds: string[],
    now?: number,
  ): Promise<HoldResult> {
    this.assertOpen();
    checkShowtimeId(showtimeId);
    checkHolder(holder);
    const requested = checkHoldSeatIds(seatIds, this.maxSeatsPerHolder);
    const at = clock(now);
    const state = this.state(showtimeId);
    const live = (h: string) => (state.windows.get(h) ?? -Infinity) > at;

    const conflicts = requested.filter((seat) => {
      const h = state.holds.get(seat);
      return h !== undefined && h !== holder && live(h);
    });
    if (conflicts.length > 0) throw seatUnavailable(conflicts);

    const holderLive = live(holder);
    const mine = new Set<string>();
    if (holderLive) for (const [seat, h] of state.holds) if (h === holder) mine.add(seat);
    const total = mine.size + requested.filter((seat) => !mine.has(seat)).length;
    if (total > this.maxSeatsPerHolder) throw holdLimitExceeded(this.maxSeatsPerHolder);

    const changes: SeatEventSeat[] = [];
    let expiresAt = state.windows.get(holder) ?? 0;
    if (!holderLive) {
      // A new window. Seats left over from the holder's expired one count as free: those it
      // asks for again are re-held below, the rest are released now.
      expiresAt = at + this.ttlMs;
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
    for (const seat of requested) {
      if (mine.has(seat)) continue;
      state.holds.set(seat, holder);
      mine.add(seat);
      changes.push({ seatId: seat, status: 'HELD', holder });
    }
    const version = this.commit(showtimeId, state, changes);
    return { expiresAt: new Date(expiresAt), version, seatIds: sortSeatIds(mine) };
  }

  async release(
    showtimeId: string,
    holder: string,
    seatIds: string[],
    now?: number,
  ): Promise<{ released: string[]; version: number }> {
    this.assertOpen();
    checkShowtimeId(showtimeId);
    checkHolder(holder);
    const seats = checkSeatIds(seatIds);
    const at = clock(now);
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
    const state = this.showtimes.get(showtimeId);
    const holds = new Map<string, string>();
    if (!state) return { version: 0, holds };
    for (const [seat, h] of state.holds) {
      if ((state.windows.get(h) ?? -Infinity) > at) holds.set(seat, h);
    }
    return { version: state.version, holds };
  }

  async sweep(now?: number): Promise<number> {
    this.assertOpen();
    const at = clock(now);
    let released = 0;
    for (const [showtimeId, state] of this.showtimes) {
      for (const [holder, expiresAt] of state.windows) {
        if (expiresAt > at) continue;
        state.windows.delete(holder);
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
    return released;
  }

  async publishChange(
    showtimeId: string,
    seats: Array<{ seatId: string; status: ExternalSeatStatus }>,
  ): Promise<number> {
    this.assertOpen();
    checkShowtimeId(showtimeId);
    const changes = checkExternalChanges(seats);
    const state = this.state(showtimeId);
    for (const { seatId } of changes) state.holds.delete(seatId);
    return this.commit(
      showtimeId,
      state,
      changes.map(({ seatId, status }) => ({ seatId, status, holder: null })),
    );
  }

  async close(): Promise<void> {
    this.closed = true;
    this.showtimes.clear();
  }

  private state(showtimeId: string): ShowtimeState {
    let state = this.showtimes.get(showtimeId);
    if (!state) {
      state = { version: 0, holds: new Map(), windows: new Map() };
      this.showtimes.set(showtimeId, state);
    }
    return state;
  }

  /** One version and one event per change; nothing at all when nothing changed. */
  private commit(showtimeId: string, state: ShowtimeState, seats: SeatEventSeat[]): number {
    if (seats.length === 0) return state.version;
    state.version += 1;
    this.options.publish(showtimeId, { showtimeId, version: state.version, seats });
    return state.version;
  }

  private assertOpen(): void {
    if (this.closed) throw new Error('The seat-hold store is closed');
  }
}

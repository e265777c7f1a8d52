import { AppError, badUserInput } from '../../../../../runtime/errors';

/**
 * The seat-hold store behind the live seat map: who holds which seat of a showtime for the
 * next few minutes, and the stream of changes every open seat map follows.
 *
 * Two implementations share this contract and its semantics exactly: `RedisSeatHoldStore`
 * (production; atomic Lua scripts, events PUBLISHed from inside them) and
 * `MemorySeatHoldStore` (the embedded single-process mode). The shared suite in
 * `seat-hold.store.test.ts` runs against both, so a rule that differs is a failing test.
 *
 * Rules both enforce (DESIGN.md invariants 2, 3 and 9):
 * - a hold is all-or-nothing: either every requested seat becomes the holder's, or nothing
 *   changes and the caller learns which seats others hold (`SEAT_UNAVAILABLE`);
 * - a holder's window starts at its first hold in the showtime and is never extended; once it
 *   has passed the holder holds nothing, even before the sweeper has run, so an expired
 *   holder can never block anyone;
 * - at most `maxSeatsPerHolder` seats per holder per showtime (`HOLD_LIMIT_EXCEEDED`);
 * - against hoarding (issue 8): once a holder's window in a showtime has passed, it may start
 *   a new one there only `cooldownSeconds` after it last held seats in it (`RATE_LIMITED` with
 *   `retryAfter`); a holder holds seats in at most `maxShowtimesPerHolder` showtimes at once
 *   (`HOLD_LIMIT_EXCEEDED`); and `admit` counts its hold and release calls, at most
 *   `ratePerMinute` in any 60 s (`RATE_LIMITED`). Releasing never ends a window: a holder who
 *   releases every seat and holds again within its window keeps the window's end, and one
 *   who releases its last seat starts its cooldown then (not at the window's end), so giving
 *   seats back early costs nothing while letting a window run out always costs the cooldown;
 * - every change gets the next per-showtime version and exactly one event, in version order,
 *   so a client that loads a snapshot at version v applies the events after v and misses none;
 *   versions never go back for a showtime, restarts included (Redis keeps its counters until
 *   a day after the showtime ends; the memory store reserves versions in a `SeatVersionLedger`
 *   before it uses them, so a restarted process starts above anything issued before);
 * - events carry the caller's opaque holder tag, never a user id (invariant 9: the gateway
 *   compares tags to compute `heldByMe` per subscriber);
 * - a booking's seats are *reserved* (`reserve`): taken out of the holder's holds (they stop
 *   counting against its seats, its showtimes and its window) into a reservation that blocks
 *   everyone, the holder included, until its end or until `publishChange` settles the seats
 *   (BOOKED when the booking is confirmed, AVAILABLE when it is released). PostgreSQL's
 *   `seat_reservations` is the record of the booking; the reservation here is what keeps a
 *   hold from slipping in between the moment the booking's rows are written and the moment
 *   the holds stop protecting the seats (see `ReservationService.reservePending`);
 * - with a `ReservationRecords` source, a hold also refuses sold seats (SEAT_UNAVAILABLE),
 *   so that callers need not read the table on every hold: the store learns a showtime's
 *   sold seats and PENDING reservations from the record the first time it holds seats there
 *   (and again whenever it has lost them), and keeps them current from `publishChange`
 *   (BOOKED: sold; AVAILABLE or BLOCKED: not). A load that read the record while a change
 *   was published is refused and read again, so it never brings back a state the change
 *   replaced. PostgreSQL's unique index stays the last guard (invariant 1): what the store
 *   cannot know (a change committed but not yet published) the booking's insert refuses;
 * - `closeShowtime` (a cancelled showtime) makes every later hold there fail, whichever
 *   instance takes it;
 * - a store that cannot reach its storage (Redis down) answers `SERVICE_UNAVAILABLE`, a
 *   retryable error, and works again once it can: it never hangs or ends the process.
 */

/** What a seat can become in an event; only the store itself produces `HELD`. */
export type SeatEventStatus = 'HELD' | 'AVAILABLE' | 'BOOKED' | 'BLOCKED';

/** Statuses other services set through `publishChange` (the booking engine, admins). */
export type ExternalSeatStatus = 'BOOKED' | 'AVAILABLE' | 'BLOCKED';

export interface SeatEventSeat {
  seatId: string;
  status: SeatEventStatus;
  /** The holder tag for `HELD`, otherwise null. Opaque: never a user id. */
  holder: string | null;
}

/** Published on every change, exactly one per version. */
export interface SeatEvent {
  showtimeId: string;
  /** Per-showtime counter: consecutive, no gaps, in publish order. */
  version: number;
  seats: SeatEventSeat[];
}

export interface HoldResult {
  /** When this holder's window in the showtime ends (first hold + TTL). */
  expiresAt: Date;
  /** The showtime's version after the hold (unchanged when the hold changed nothing). */
  version: number;
  /** Every seat this holder now holds in the showtime, in natural order (A2 before A10). */
  seatIds: string[];
}

/**
 * The showtime a change is about: its id, and when it ends (in the callers' clock, like
 * `now`). Redis keeps a showtime's keys until a day after its end (`KEEP_AFTER_END_MS`), so
 * nothing of a past showtime stays behind.
 */
export interface ShowtimeRef {
  readonly id: string;
  readonly endsAt: number;
}

/** How long a showtime's hold state and version counter outlive the showtime. */
export const KEEP_AFTER_END_MS = 24 * 3600 * 1000;

/**
 * Where the memory store reserves versions before it issues them (the embedded default
 * keeps it in PostgreSQL), so that a restarted process never issues a version again.
 */
export interface SeatVersionLedger {
  /** Every showtime's reserved ceiling: no version above it was ever issued. */
  load(): Promise<Map<string, number>>;
  /** Raises the showtime's ceiling by `count` (atomically) and returns the new ceiling. */
  reserve(showtimeId: string, count: number): Promise<number>;
}

/**
 * A showtime's live reservations as PostgreSQL records them (`seat_reservations`), and whether
 * it was cancelled (`showtimes.status`): what a store with a `ReservationRecords` source loads
 * before it holds seats in the showtime.
 */
export interface ReservationRecord {
  /**
   * The showtime was cancelled: the store closes it (as `closeShowtime` does), so that a store
   * that lost its mark of the cancellation learns it again with the record.
   */
  readonly closed: boolean;
  /** Seats of ACTIVE reservations: sold. */
  readonly sold: readonly string[];
  /** PENDING reservations: the booker's tag, and when the hold store lets them lapse (ms). */
  readonly pending: ReadonlyArray<{
    readonly seatId: string;
    readonly holder: string;
    readonly until: number;
  }>;
}

/** Reads a showtime's `ReservationRecord` (PostgreSQL in production). */
export type ReservationRecords = (showtimeId: string) => Promise<ReservationRecord>;

/** How a hold or release call is made. */
export interface CallOptions {
  /**
   * Count the call against the holder's rate first, as `admit` does, in the same step (one
   * round trip): for callers that did not call `admit` before. Refused calls change nothing.
   */
  readonly admit?: boolean;
}

export interface SeatHoldStore {
  /**
   * Counts one hold or release call of `holder` against its rate (`ratePerMinute` in any
   * 60 s); throws AppError `RATE_LIMITED` with `extensions.retryAfter` (seconds) when over.
   * A call of its own so that callers can refuse before any other work (database reads).
   */
  admit(holder: string, now?: number): Promise<void>;
  /**
   * All-or-nothing. Seats already held by this holder are fine (idempotent). Throws AppError
   * `SEAT_UNAVAILABLE` with `extensions.seatIds` (the seats held by others),
   * `HOLD_LIMIT_EXCEEDED` (too many seats here, or seats held in too many showtimes), or
   * `RATE_LIMITED` (a new window before the cooldown has passed). The window is ttlSeconds
   * from the holder's first hold in the showtime; later holds do not extend it. A holder whose
   * window has passed counts as holding nothing: its seats are free to others, and its own
   * next hold starts a new window once the cooldown allows. With a `ReservationRecords`
   * source, sold seats are `SEAT_UNAVAILABLE` too. In a closed showtime (`closeShowtime`) it
   * throws `BAD_USER_INPUT` (the showtime was cancelled).
   */
  hold(
    showtime: ShowtimeRef,
    holder: string,
    seatIds: string[],
    now?: number,
    options?: CallOptions,
  ): Promise<HoldResult>;
  /**
   * Releases those of seatIds this holder holds; others' seats are untouched. Releasing the
   * last seat starts the holder's cooldown in the showtime; its window keeps running.
   */
  release(
    showtime: ShowtimeRef,
    holder: string,
    seatIds: string[],
    now?: number,
    options?: CallOptions,
  ): Promise<{ released: string[]; version: number }>;
  /**
   * No more holds in this showtime (it was cancelled): every later `hold` fails, on every
   * instance. Holds already made stay until they end; releases still work. Idempotent.
   */
  closeShowtime(showtime: ShowtimeRef): Promise<void>;
  /** Current holds of a showtime, expired windows excluded: seatId -> holder tag. */
  snapshot(
    showtimeId: string,
    now?: number,
  ): Promise<{ version: number; holds: Map<string, string> }>;
  /**
   * Releases every expired window (one AVAILABLE event per showtime+holder that still held
   * seats) and returns how many windows it released. Safe to run concurrently on several
   * instances: each window is released and published exactly once.
   */
  sweep(now?: number): Promise<number>;
  /**
   * Turns seats `holder` holds (in a live window) into a reservation of that holder lasting
   * until `until` (ms), in one atomic step with one event: the seats as HELD by the holder
   * (to every other viewer they stay unavailable; to the holder they stay `heldByMe`). The
   * seats leave the holder's holds: they no longer count against its seats per showtime, and
   * when none is left its place among `maxShowtimesPerHolder` is freed and its cooldown
   * starts now, as after a release. Until `until` passes (or `publishChange` settles the
   * seats) nobody can hold them, and `snapshot` lists them under the holder's tag.
   * All-or-nothing and idempotent: seats already reserved by this holder count as done (no
   * event when nothing changed); if any seat is neither held nor reserved by the holder,
   * nothing changes and it throws AppError `SEATS_NOT_HELD` with `extensions.seatIds`.
   */
  reserve(
    showtime: ShowtimeRef,
    holder: string,
    seatIds: string[],
    until: number,
    now?: number,
  ): Promise<{ version: number }>;
  /**
   * Reserves seats for `holder` until `until` (ms) whether or not it holds them: a paid
   * booking whose seats were released takes them back (`ReservationService.retake`), after
   * PostgreSQL has made sure no other booking has them. So it refuses nothing: any hold on
   * those seats ends (a hold is not a purchase) and a reservation of another holder there is
   * replaced (the caller's record says it is an orphan: its booking was never written). Like
   * `publishChange`, it does not say whose holds it removed, so a holder left without seats
   * keeps its window, cooldown and place in `maxShowtimesPerHolder`. One event: the seats
   * that changed, HELD by `holder`. Seats already reserved by `holder` only have their end
   * moved to `until` if that is later (no event). Until the end passes (or `publishChange`
   * settles the seats) nobody can hold them, as after `reserve`.
   */
  retake(
    showtime: ShowtimeRef,
    holder: string,
    seatIds: string[],
    until: number,
    now?: number,
  ): Promise<{ version: number }>;
  /**
   * Publishes seat changes made elsewhere (BOOKED by the booking engine, BLOCKED by an admin,
   * AVAILABLE after a cancellation) with the next version, removing any holds and
   * reservations on those seats in the same step. Returns the new version. A holder left without seats by it (its seats
   * were booked) keeps its window, cooldown and place in `maxShowtimesPerHolder` until the
   * window ends: the change does not say whose holds it removed.
   */
  publishChange(
    showtime: ShowtimeRef,
    seats: Array<{ seatId: string; status: ExternalSeatStatus }>,
  ): Promise<number>;
  /** Stops accepting calls. Does not close connections the caller owns. */
  close(): Promise<void>;
}

/** The options both implementations share. */
export interface SeatHoldRules {
  /** Length of a holder's window, counted from its first hold in the showtime. */
  ttlSeconds: number;
  /** Most seats one holder may hold in one showtime (DESIGN.md invariant 3: 8). */
  maxSeatsPerHolder: number;
  /** After its last seat in a showtime, how long before a holder may start a new window there. */
  cooldownSeconds: number;
  /** Most showtimes in which one holder holds seats at the same time. */
  maxShowtimesPerHolder: number;
  /** Most hold and release calls of one holder in any 60 s (counted by `admit`). */
  ratePerMinute: number;
}

/** The rules in the units the stores compute with (milliseconds). */
export interface CheckedRules {
  ttlMs: number;
  maxSeatsPerHolder: number;
  cooldownMs: number;
  maxShowtimesPerHolder: number;
  ratePerMinute: number;
}

/** The window `ratePerMinute` counts calls in. */
export const RATE_WINDOW_MS = 60_000;

/**
 * Upper bound on ids in one release/publishChange call: keeps a Lua script's argument list
 * (and its time holding Redis' single thread) bounded; larger than any hall.
 */
export const MAX_SEATS_PER_CALL = 1000;
const MAX_ID_LENGTH = 200;
const EXTERNAL_STATUSES: ReadonlySet<string> = new Set(['BOOKED', 'AVAILABLE', 'BLOCKED']);

/**
 * Showtime ids end up inside Redis key hash tags (`{id}`) and sweeper members (`id|holder`),
 * so the characters that delimit those are refused rather than escaped.
 */
export function checkShowtimeId(showtimeId: string): string {
  if (
    typeof showtimeId !== 'string' ||
    showtimeId.length === 0 ||
    showtimeId.length > MAX_ID_LENGTH ||
    /[|{}]/.test(showtimeId)
  ) {
    throw badUserInput('showtimeId', 'showtimeId is not a valid showtime id');
  }
  return showtimeId;
}

/** Holder tags come from our own code, not from clients: a bad one is a bug, not bad input. */
export function checkHolder(holder: string): string {
  if (typeof holder !== 'string' || holder.length === 0 || holder.length > MAX_ID_LENGTH) {
    throw new Error('A seat holder tag must be a non-empty string of at most 200 characters');
  }
  return holder;
}

/** Whether a value from a caller is an array; unlike Array.isArray, it does not narrow to any[]. */
const isList = (value: unknown): boolean => Array.isArray(value);

/** Non-empty, each id a non-empty string, no duplicates, at most `maxItems`. */
export function checkSeatIds(
  seatIds: readonly string[],
  maxItems: number = MAX_SEATS_PER_CALL,
): string[] {
  if (!isList(seatIds) || seatIds.length === 0) {
    throw badUserInput('seatIds', 'seatIds must name at least one seat');
  }
  if (seatIds.length > maxItems) {
    throw badUserInput('seatIds', `seatIds takes at most ${maxItems} seats`);
  }
  for (const id of seatIds) {
    if (typeof id !== 'string' || id.length === 0 || id.length > MAX_ID_LENGTH) {
      throw badUserInput('seatIds', 'seatIds must be non-empty seat ids');
    }
  }
  if (new Set(seatIds).size !== seatIds.length) {
    throw badUserInput('seatIds', 'seatIds must not name a seat twice');
  }
  return [...seatIds];
}

/**
 * A hold request: valid seat ids, and no more of them than one holder may ever hold (such a
 * request could never succeed, so it fails before touching any state).
 */
export function checkHoldSeatIds(seatIds: readonly string[], maxSeatsPerHolder: number): string[] {
  const seats = checkSeatIds(seatIds);
  if (seats.length > maxSeatsPerHolder) throw holdLimitExceeded(maxSeatsPerHolder);
  return seats;
}

export function checkExternalChanges(
  seats: ReadonlyArray<{ seatId: string; status: string }>,
): Array<{ seatId: string; status: ExternalSeatStatus }> {
  if (!isList(seats)) throw badUserInput('seats', 'seats must be a list');
  try {
    checkSeatIds(seats.map((s) => s?.seatId));
  } catch (err) {
    // Same rules as seatIds, reported against this call's own argument.
    throw badUserInput('seats', (err as Error).message.replace('seatIds', 'seats'));
  }
  for (const { status } of seats) {
    if (!EXTERNAL_STATUSES.has(status)) {
      throw badUserInput('seats', 'status must be BOOKED, AVAILABLE or BLOCKED');
    }
  }
  return seats.map(({ seatId, status }) => ({ seatId, status: status as ExternalSeatStatus }));
}

export function checkRules(rules: SeatHoldRules): CheckedRules {
  const ttlMs = Math.round(rules.ttlSeconds * 1000);
  if (!Number.isFinite(ttlMs) || ttlMs < 1) throw new Error('ttlSeconds must be positive');
  const cooldownMs = Math.round(rules.cooldownSeconds * 1000);
  if (!Number.isFinite(cooldownMs) || cooldownMs < 0) {
    throw new Error('cooldownSeconds must be zero or positive');
  }
  for (const name of ['maxSeatsPerHolder', 'maxShowtimesPerHolder', 'ratePerMinute'] as const) {
    if (!Number.isInteger(rules[name]) || rules[name] < 1) {
      throw new Error(`${name} must be a positive integer`);
    }
  }
  return {
    ttlMs,
    maxSeatsPerHolder: rules.maxSeatsPerHolder,
    cooldownMs,
    maxShowtimesPerHolder: rules.maxShowtimesPerHolder,
    ratePerMinute: rules.ratePerMinute,
  };
}

/** A showtime reference with a valid id and end. */
export function checkShowtime(showtime: ShowtimeRef): ShowtimeRef {
  checkShowtimeId(showtime?.id);
  if (!Number.isFinite(showtime.endsAt)) throw new Error('A showtime needs its end time');
  return showtime;
}

/**
 * How long (ms, from `now`) a showtime's keys are kept: until a day after it ends, and at
 * least an hour, so a late change to a long-past showtime does not vanish at once.
 */
export function keepMs(showtime: ShowtimeRef, now: number): number {
  return Math.max(3600_000, Math.floor(showtime.endsAt + KEEP_AFTER_END_MS - now));
}

/** Clock readings are whole milliseconds so that both stores compare them identically. */
export function clock(now: number | undefined): number {
  const value = Math.floor(now ?? Date.now());
  if (!Number.isFinite(value)) throw new Error('now must be a finite number of milliseconds');
  return value;
}

/** A reservation's end: a whole number of ms after `now` (a reservation of the past is a bug). */
export function checkUntil(until: number, now: number): number {
  if (!Number.isSafeInteger(until) || until <= now) {
    throw new Error('A reservation must last until a whole number of ms in the future');
  }
  return until;
}

/** Seats the caller wants to book but does not hold (any more). */
export function seatsNotHeld(seatIds: string[]): AppError {
  return new AppError('SEATS_NOT_HELD', `Seats not held by you: ${seatIds.join(', ')}`, {
    seatIds,
  });
}

/** A hold in a showtime that was cancelled (`closeShowtime`). */
export function showtimeClosed(): AppError {
  return new AppError('BAD_USER_INPUT', 'The showtime was cancelled', {
    field: 'showtimeId',
    reason: 'SHOWTIME_CANCELLED',
  });
}

/**
 * Loads of a showtime's reservation record tried before giving up: each is refused only when
 * a change was published while it read, so a second try almost always succeeds.
 */
export const RECORD_LOAD_ATTEMPTS = 5;

/** Names only the seats; who holds them stays private (invariant 9). */
export function seatUnavailable(seatIds: string[]): AppError {
  return new AppError('SEAT_UNAVAILABLE', `Seats no longer available: ${seatIds.join(', ')}`, {
    seatIds,
  });
}

export function holdLimitExceeded(maxSeatsPerHolder: number): AppError {
  return new AppError(
    'HOLD_LIMIT_EXCEEDED',
    `At most ${maxSeatsPerHolder} seats can be held in one showtime`,
    { limit: maxSeatsPerHolder },
  );
}

export function showtimeLimitExceeded(maxShowtimes: number): AppError {
  return new AppError(
    'HOLD_LIMIT_EXCEEDED',
    `Seats can be held in at most ${maxShowtimes} showtimes at once; release seats elsewhere first`,
    { limit: maxShowtimes },
  );
}

/** Whole seconds, rounded up, so that retrying after `retryAfter` always succeeds. */
const seconds = (ms: number): number => Math.max(1, Math.ceil(ms / 1000));

export function coolingDown(waitMs: number): AppError {
  const retryAfter = seconds(waitMs);
  return new AppError(
    'RATE_LIMITED',
    `Your seat hold in this showtime has run out; you can hold seats in it again in ${retryAfter} s`,
    { retryAfter },
  );
}

export function tooManyCalls(ratePerMinute: number, waitMs: number): AppError {
  const retryAfter = seconds(waitMs);
  return new AppError(
    'RATE_LIMITED',
    `At most ${ratePerMinute} seat holds and releases a minute; try again in ${retryAfter} s`,
    { retryAfter },
  );
}

/** Redis is unreachable: retryable, and says so (the stores never hang or crash on it). */
export function seatHoldsUnavailable(cause?: unknown): AppError {
  const error = new AppError('SERVICE_UNAVAILABLE', 'Seat holds are unavailable, try again');
  if (cause !== undefined) Object.defineProperty(error, 'cause', { value: cause });
  return error;
}

const natural = new Intl.Collator('en', { numeric: true, sensitivity: 'variant' });

/** Seat ids in the order a person reads a row (A2 before A10), ties broken bytewise. */
export function sortSeatIds(seatIds: Iterable<string>): string[] {
  return [...seatIds].sort((a, b) => natural.compare(a, b) || (a < b ? -1 : a > b ? 1 : 0));
}

/** The sweeper's member for a window: the showtime id cannot contain `|`, the holder may. */
export function windowMember(showtimeId: string, holder: string): string {
  return `${showtimeId}|${holder}`;
}

export function parseWindowMember(member: string): { showtimeId: string; holder: string } | null {
  const bar = member.indexOf('|');
  if (bar <= 0 || bar === member.length - 1) return null;
  return { showtimeId: member.slice(0, bar), holder: member.slice(bar + 1) };
}

import { isUuid } from '../../../../runtime/ids';
import type { DataSource } from 'typeorm';
import { AppError, badUserInput, notFound } from '../../../../runtime/errors';
import { errorOutcome, serviceMetrics } from '../../../../runtime/metrics';
import { seatHolderTags } from '../../../../runtime/seat-holder';
import { PubSubUnavailableError, type ClosablePubSub } from '../../../../runtime/pubsub';
import type { Seat } from '../cinema/cinema.entity';
import { ShowtimeStatus, type Showtime } from '../showtime/showtime.entity';
import {
  holdLimitExceeded,
  showtimeClosed,
  type SeatEvent,
  type SeatHoldStore,
  type ShowtimeRef,
} from './hold/seat-hold.store';
import type { HallLayout, SeatFactsCache, ShowtimeFacts } from './seat-facts.cache';
import { SeatStatus, type SeatState } from './seat-map.types';
import { seatTopic } from './seat-topic';

/**
 * The last item of a seat-event feed whose transport lost its connection: the resolver
 * answers it with SERVICE_UNAVAILABLE, then the feed ends (events may have been missed, so
 * the client must refetch the seat map and subscribe again).
 */
export const SEAT_FEED_LOST: unique symbol = Symbol('seat feed lost');
/** The showtime was cancelled: the feed's last item (answered SHOWTIME_CANCELLED). */
export const SEAT_FEED_CLOSED: unique symbol = Symbol('seat feed closed');
export type SeatFeedItem = SeatEvent | typeof SEAT_FEED_LOST | typeof SEAT_FEED_CLOSED;

/** What a showtime's seat feed carries when it is cancelled, besides its seat events. */
interface ClosedNotice {
  readonly showtimeId: string;
  readonly closed: true;
}
const isClosedNotice = (value: unknown): value is ClosedNotice =>
  typeof value === 'object' && value !== null && (value as ClosedNotice).closed === true;

/** Holder tags kept at most; past it the cache starts over (a few KiB per thousand users). */
const HOLDER_TAGS_KEPT = 10_000;

const metrics = serviceMetrics('cinemas');
const holdCalls = metrics.counter(
  'moviehub_seat_holds_total',
  'holdSeats calls, by outcome: ok, or the error code that refused them',
  ['outcome'],
);
const releaseCalls = metrics.counter(
  'moviehub_seat_releases_total',
  'releaseSeats calls, by outcome: ok, or the error code that refused them',
  ['outcome'],
);
const seatsHeld = metrics
  .counter('moviehub_seats_held_total', 'Seats taken by holdSeats calls that succeeded', [])
  .bind();
const holdsOk = holdCalls.bind('ok');
const releasesOk = releaseCalls.bind('ok');

export function seatUpdatesUnavailable(): AppError {
  return new AppError('SERVICE_UNAVAILABLE', 'Live seat updates are unavailable, try again');
}

/**
 * Distinct ids of a seat list, refusing more than `max` as soon as it sees one more: a list of
 * 10,000 ids costs a few steps, and nothing downstream (database, errors) ever sees more ids
 * than the caller sent.
 */
function distinctAtMost(seatIds: readonly string[], max: number, tooMany: () => Error): string[] {
  const unique = new Set<string>();
  for (const id of seatIds) {
    unique.add(id);
    if (unique.size > max) throw tooMany();
  }
  return [...unique];
}

/**
 * The live reservations of one showtime (`seat_reservations`, PENDING or ACTIVE): a seat has
 * at most one.
 */
export interface ShowtimeReservations {
  /** Sold: ACTIVE reservations. */
  readonly booked: Set<string>;
  /** Reserved for a PENDING booking: seatId -> the booker's holder tag. */
  readonly pending: Map<string, string>;
}

/**
 * The live seat map: seats of the hall, BOOKED (ACTIVE) and HELD (PENDING, the booker's) from
 * the reservations table, BLOCKED from the seat, HELD from the hold store. Holders are known to the store only by an opaque tag (an
 * HMAC of the user id), so events never carry who holds a seat (invariant 9).
 */
export class SeatService {
  constructor(
    private readonly dataSource: DataSource,
    private readonly store: SeatHoldStore,
    private readonly pubSub: ClosablePubSub,
    secret: string,
    private readonly maxSeatsPerHolder: number,
    /** Showtime facts and hall layouts, kept in memory: a hold reads no table. */
    readonly facts: SeatFactsCache,
  ) {
    // The gateway derives the same tags (runtime/seat-holder.ts) for `heldByMe`.
    this.tagOf = seatHolderTags(secret);
  }

  private readonly tagOf: (userId: string) => string;
  /** Tags of recent users: an HMAC per hold, release and seat map is worth saving. */
  private readonly tags = new Map<string, string>();

  /** The user's opaque seat-holder tag (never the user id; see runtime/seat-holder.ts). */
  holderTag(userId: string): string {
    let tag = this.tags.get(userId);
    if (tag === undefined) {
      tag = this.tagOf(userId);
      if (this.tags.size >= HOLDER_TAGS_KEPT) this.tags.clear();
      this.tags.set(userId, tag);
    }
    return tag;
  }

  private viewerTag(userId: string | null): string | null {
    return userId ? this.holderTag(userId) : null;
  }

  private async showtimeOrFail(showtimeId: string): Promise<ShowtimeFacts> {
    const showtime = await this.facts.showtime(showtimeId);
    if (!showtime) throw notFound('Showtime', showtimeId);
    return showtime;
  }

  /**
   * The showtime's facts for a hold or release by `holder`. The rate counts before any
   * database read: when the facts (or the hall's layout, `withHall`) are not kept, the call
   * is admitted first, and `admitted` says so; otherwise the store admits it in the same
   * round trip as the change.
   */
  private async factsFor(
    showtimeId: string,
    holder: string,
    withHall: boolean,
  ): Promise<{ showtime: ShowtimeFacts; hall: HallLayout | undefined; admitted: boolean }> {
    let admitted = false;
    const admit = async () => {
      if (admitted) return;
      await this.store.admit(holder);
      admitted = true;
    };
    if (this.facts.cachedShowtime(showtimeId) === undefined) await admit();
    const showtime = await this.showtimeOrFail(showtimeId);
    if (!withHall) return { showtime, hall: undefined, admitted };
    if (this.facts.cachedHall(showtime.hallId) === undefined) await admit();
    return { showtime, hall: await this.facts.hall(showtime.hallId), admitted };
  }

  /** Seats with a live reservation (ACTIVE: sold; PENDING: a booking's), per showtime. */
  async liveReservations(
    showtimeIds: readonly string[],
  ): Promise<Map<string, ShowtimeReservations>> {
    const rows: {
      showtime_id: string;
      seat_id: string;
      status: 'PENDING' | 'ACTIVE';
      holder: string | null;
    }[] = await this.dataSource.query(
      `SELECT showtime_id, seat_id, status, holder FROM seat_reservations
       WHERE showtime_id = ANY($1) AND status IN ('PENDING', 'ACTIVE')`,
      // Only well-formed ids: a malformed one is a showtime with no reservations.
      [showtimeIds.filter(isUuid)],
    );
    const map = new Map<string, ShowtimeReservations>(
      showtimeIds.map((id) => [id, { booked: new Set<string>(), pending: new Map() }]),
    );
    for (const r of rows) {
      const reserved = map.get(r.showtime_id)!;
      if (r.status === 'ACTIVE') reserved.booked.add(r.seat_id);
      else reserved.pending.set(r.seat_id, r.holder ?? '');
    }
    return map;
  }

  /** A showtime's current holds and version (the scripts of one tick share a round trip). */
  snapshot(showtimeId: string) {
    return this.store.snapshot(showtimeId);
  }

  /**
   * The viewer's seat map. `reserved` is read before `snapshot` (the callers' loaders keep
   * that order): an event racing the reads carries a higher version, which the client applies
   * on top (or refetches on a gap). A PENDING booking's seats are HELD by the booker, from the
   * table (the record) or else the hold store (its reservation there says the same).
   */
  seatMap(
    seats: Seat[],
    { booked, pending }: ShowtimeReservations,
    { version, holds }: { version: number; holds: Map<string, string> },
    viewerId: string | null,
  ) {
    const me = this.viewerTag(viewerId);
    const states: SeatState[] = seats.map((seat) => {
      const holder = pending.get(seat.id) ?? holds.get(seat.id);
      const status = seat.blocked
        ? SeatStatus.BLOCKED
        : booked.has(seat.id)
          ? SeatStatus.BOOKED
          : holder !== undefined
            ? SeatStatus.HELD
            : SeatStatus.AVAILABLE;
      const held = status === SeatStatus.HELD;
      return {
        seatId: seat.id,
        status,
        heldByMe: held && holder === me,
        holderTag: held ? (holder ?? null) : null,
        row: seat.row,
        number: seat.number,
        type: seat.type,
      };
    });
    return { version, seats: states };
  }

  /** Seats free to book now, per showtime: sellable − sold − pending − held. */
  async availableCounts(showtimes: readonly Showtime[], sellable: number[]): Promise<number[]> {
    const reserved = await this.liveReservations(showtimes.map((s) => s.id));
    const snapshots = await Promise.all(showtimes.map((s) => this.store.snapshot(s.id)));
    return showtimes.map((s, i) => {
      // Nothing is free in a cancelled showtime, whatever its seats show.
      if (s.status === ShowtimeStatus.CANCELLED) return 0;
      const { booked, pending } = reserved.get(s.id)!;
      // A set: a PENDING booking's seats are in the table and in the snapshot alike.
      const taken = new Set([...booked, ...pending.keys(), ...snapshots[i].holds.keys()]);
      return Math.max(0, sellable[i] - taken.size);
    });
  }

  /**
   * The seat ids of a hold request, checked before anything else: at most
   * `maxSeatsPerHolder` distinct ones (HOLD_LIMIT_EXCEEDED), duplicates dropped.
   */
  holdRequest(seatIds: readonly string[]): string[] {
    return distinctAtMost(seatIds, this.maxSeatsPerHolder, () =>
      holdLimitExceeded(this.maxSeatsPerHolder),
    );
  }

  /** Likewise for a release: nobody holds more than `maxSeatsPerHolder` seats of a showtime. */
  releaseRequest(seatIds: readonly string[]): string[] {
    return distinctAtMost(seatIds, this.maxSeatsPerHolder, () =>
      badUserInput('seatIds', `seatIds takes at most ${this.maxSeatsPerHolder} seats`),
    );
  }

  /**
   * Holds seats for the caller: all or nothing. The count is checked before anything else,
   * the caller's rate before any database read. Unknown seats, seats of another hall and a
   * showtime that started are the caller's mistake (BAD_USER_INPUT); blocked seats are
   * SEAT_UNAVAILABLE, and so are seats with a live reservation (sold, or a PENDING
   * booking's) and seats held by others, which the hold store refuses in the same step as
   * the hold (it knows the showtime's reservations: see `SeatHoldStore`). With the showtime
   * and hall kept in memory, that is one round trip to the store and no table read.
   */
  async hold(showtimeId: string, userId: string, seatIds: string[]) {
    try {
      const held = await this.holdSeats(showtimeId, userId, seatIds);
      holdsOk.inc();
      seatsHeld.inc(held.seats.length);
      return held;
    } catch (err) {
      holdCalls.bind(errorOutcome(err)).inc();
      throw err;
    }
  }

  /** Releases the caller's holds among `seatIds`; other people's seats are untouched. */
  async release(showtimeId: string, userId: string, seatIds: string[]) {
    try {
      const released = await this.releaseSeats(showtimeId, userId, seatIds);
      releasesOk.inc();
      return released;
    } catch (err) {
      releaseCalls.bind(errorOutcome(err)).inc();
      throw err;
    }
  }

  private async holdSeats(showtimeId: string, userId: string, seatIds: string[]) {
    const unique = this.holdRequest(seatIds);
    const holder = this.holderTag(userId);
    const { showtime, hall, admitted } = await this.factsFor(showtimeId, holder, true);
    if (showtime.status !== 'SCHEDULED') throw showtimeClosed();
    if (showtime.startsAt <= Date.now()) {
      throw new AppError('BAD_USER_INPUT', 'The showtime has started', { field: 'showtimeId' });
    }
    const foreign = unique.filter((id) => !hall!.byId.has(id));
    if (foreign.length > 0) {
      throw new AppError('BAD_USER_INPUT', 'Some seats are not seats of this showtime’s hall', {
        field: 'seatIds',
        seatIds: foreign,
      });
    }
    const blocked = unique.filter((id) => hall!.byId.get(id)!.blocked);
    if (blocked.length > 0) {
      throw new AppError('SEAT_UNAVAILABLE', 'Some seats are not available', { seatIds: blocked });
    }
    const result = await this.store.hold(refOf(showtime), holder, unique, undefined, {
      admit: !admitted,
    });
    return {
      expiresAt: result.expiresAt,
      seats: result.seatIds.map((seatId) => ({
        seatId,
        status: SeatStatus.HELD,
        heldByMe: true,
        holderTag: holder,
      })),
    };
  }

  private async releaseSeats(showtimeId: string, userId: string, seatIds: string[]) {
    const unique = this.releaseRequest(seatIds);
    const holder = this.holderTag(userId);
    const { showtime, admitted } = await this.factsFor(showtimeId, holder, false);
    const { released } = await this.store.release(refOf(showtime), holder, unique, undefined, {
      admit: !admitted,
    });
    return {
      seats: released.map((seatId) => ({
        seatId,
        status: SeatStatus.AVAILABLE,
        heldByMe: false,
        holderTag: null,
      })),
    };
  }

  /**
   * A showtime was cancelled: no more holds in it, on any instance (the hold store refuses
   * them), and this instance forgets what it kept of it. Idempotent.
   */
  async showtimeCancelled(showtime: ShowtimeRef): Promise<void> {
    this.facts.forgetShowtime(showtime.id);
    await this.store.closeShowtime(showtime);
    // Every open seat map of it, on every instance, learns it now: its feed ends with
    // SHOWTIME_CANCELLED. Sent again when the event is consumed later: a feed ends once.
    const notice: ClosedNotice = { showtimeId: showtime.id, closed: true };
    await this.pubSub.publish(seatTopic(showtime.id), notice);
  }

  /**
   * The seat events of one showtime, for the subscription. Subscribes before returning, so
   * that Redis being down is an error result for this subscription (SERVICE_UNAVAILABLE),
   * never a hang, a crash, or an error that ends the whole connection.
   */
  async events(showtimeId: string): Promise<AsyncIterableIterator<SeatFeedItem>> {
    const showtime = await this.showtimeOrFail(showtimeId);
    if (showtime.status !== 'SCHEDULED') throw showtimeClosed();
    let source: AsyncIterableIterator<unknown>;
    try {
      source = await this.pubSub.listen(seatTopic(showtimeId));
    } catch (err) {
      throw err instanceof PubSubUnavailableError ? seatUpdatesUnavailable() : err;
    }
    return new SeatFeed(source);
  }

  /**
   * One event as a viewer sees it: whether each held seat is theirs, and (for the gateway,
   * which computes `heldByMe` per subscriber of its one shared subscription) the holder's
   * tag, which no client can select.
   */
  forViewer(event: SeatEvent, viewerId: string | null) {
    const me = this.viewerTag(viewerId);
    return {
      showtimeId: event.showtimeId,
      version: event.version,
      seats: event.seats.map((s) => {
        const holder = s.status === 'HELD' ? s.holder : null;
        return {
          seatId: s.seatId,
          status: s.status as SeatStatus,
          heldByMe: holder !== null && holder === me,
          holderTag: holder,
        };
      }),
    };
  }
}

/** What the hold store needs of a showtime: its id, and its end (when its keys may go). */
const refOf = (showtime: ShowtimeFacts): ShowtimeRef => ({
  id: showtime.id,
  endsAt: showtime.endsAt,
});

/**
 * A showtime's events as the subscription consumes them. A lost transport connection
 * becomes one last `SEAT_FEED_LOST` item (answered with SERVICE_UNAVAILABLE, then the
 * subscription completes) instead of a thrown error, which graphql-ws would report without
 * its code. A hand-written iterator rather than an async generator: a generator cannot be
 * stopped while it awaits the next event, so a client leaving a quiet showtime would keep
 * its Redis subscription until the next event.
 */
class SeatFeed implements AsyncIterableIterator<SeatFeedItem> {
  private ended = false;

  constructor(private readonly source: AsyncIterableIterator<unknown>) {}

  async next(): Promise<IteratorResult<SeatFeedItem>> {
    if (this.ended) return { value: undefined, done: true };
    try {
      const result = await this.source.next();
      if (result.done) {
        this.ended = true;
        return { value: undefined, done: true };
      }
      if (isClosedNotice(result.value)) {
        this.ended = true;
        void this.source.return?.();
        return { value: SEAT_FEED_CLOSED, done: false };
      }
      return { value: result.value as SeatEvent, done: false };
    } catch (err) {
      if (!(err instanceof PubSubUnavailableError)) throw err;
      this.ended = true;
      return { value: SEAT_FEED_LOST, done: false };
    }
  }

  async return(): Promise<IteratorResult<SeatFeedItem>> {
    this.ended = true;
    await this.source.return?.();
    return { value: undefined, done: true };
  }

  async throw(): Promise<IteratorResult<SeatFeedItem>> {
    return this.return();
  }

  [Symbol.asyncIterator](): AsyncIterableIterator<SeatFeedItem> {
    return this;
  }
}

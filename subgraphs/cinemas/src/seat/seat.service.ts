import { createHmac } from 'node:crypto';
import { In, type DataSource } from 'typeorm';
import { AppError, badUserInput, notFound } from '../../../../runtime/errors';
import { deriveKey } from '../../../../runtime/identity';
import { PubSubUnavailableError, type ClosablePubSub } from '../../../../runtime/pubsub';
import { Seat } from '../cinema/cinema.entity';
import { Showtime } from '../showtime/showtime.entity';
import {
  holdLimitExceeded,
  type SeatEvent,
  type SeatHoldStore,
  type ShowtimeRef,
} from './hold/seat-hold.store';
import { SeatStatus, type SeatState } from './seat-map.types';
import { seatTopic } from './seat-topic';

/**
 * The last item of a seat-event feed whose transport lost its connection: the resolver
 * answers it with SERVICE_UNAVAILABLE, then the feed ends (events may have been missed, so
 * the client must refetch the seat map and subscribe again).
 */
export const SEAT_FEED_LOST: unique symbol = Symbol('seat feed lost');
export type SeatFeedItem = SeatEvent | typeof SEAT_FEED_LOST;

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
  ) {
    // Its own key, derived from INTERNAL_SECRET: a tag can never double as an identity signature.
    this.holderKey = deriveKey(secret, 'seat-holder');
  }

  private readonly holderKey: Buffer;

  holderTag(userId: string): string {
    return createHmac('sha256', this.holderKey)
      .update(`holder:${userId}`)
      .digest('base64url')
      .slice(0, 22);
  }

  private viewerTag(userId: string | null): string | null {
    return userId ? this.holderTag(userId) : null;
  }

  private async showtimeOrFail(showtimeId: string): Promise<Showtime> {
    const showtime = await this.dataSource.getRepository(Showtime).findOneBy({ id: showtimeId });
    if (!showtime) throw notFound('Showtime', showtimeId);
    return showtime;
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
      [[...showtimeIds]],
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

  /** Current holds of several showtimes (one round trip with auto-pipelining). */
  async snapshots(showtimeIds: readonly string[]) {
    return Promise.all(showtimeIds.map((id) => this.store.snapshot(id)));
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
      return { seatId: seat.id, status, heldByMe: status === SeatStatus.HELD && holder === me };
    });
    return { version, seats: states };
  }

  /** Seats free to book now, per showtime: sellable − sold − pending − held. */
  async availableCounts(showtimes: readonly Showtime[], sellable: number[]): Promise<number[]> {
    const reserved = await this.liveReservations(showtimes.map((s) => s.id));
    const snapshots = await Promise.all(showtimes.map((s) => this.store.snapshot(s.id)));
    return showtimes.map((s, i) => {
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
   * Holds seats for the caller: all or nothing. The count and the caller's rate are checked
   * before any database read. Unknown seats, seats of another hall and a showtime that
   * started are the caller's mistake (BAD_USER_INPUT); blocked seats and seats with a live
   * reservation (sold, or a PENDING booking's) are SEAT_UNAVAILABLE like seats held by others.
   * The table is read before the hold script runs; a booking that reserves the seats in
   * between is still refused, by the hold store's reservation (see `SeatHoldStore.reserve`).
   */
  async hold(showtimeId: string, userId: string, seatIds: string[]) {
    const unique = this.holdRequest(seatIds);
    const holder = this.holderTag(userId);
    await this.store.admit(holder);
    const showtime = await this.showtimeOrFail(showtimeId);
    if (showtime.status !== 'SCHEDULED') {
      throw new AppError('BAD_USER_INPUT', 'The showtime was cancelled', { field: 'showtimeId' });
    }
    if (showtime.startsAt.getTime() <= Date.now()) {
      throw new AppError('BAD_USER_INPUT', 'The showtime has started', { field: 'showtimeId' });
    }
    const seats = await this.dataSource.getRepository(Seat).findBy({ id: In(unique) });
    const found = new Map(seats.map((s) => [s.id, s]));
    const foreign = unique.filter((id) => found.get(id)?.hallId !== showtime.hallId);
    if (foreign.length > 0) {
      throw new AppError('BAD_USER_INPUT', 'Some seats are not seats of this showtime’s hall', {
        field: 'seatIds',
        seatIds: foreign,
      });
    }
    const { booked, pending } = (await this.liveReservations([showtime.id])).get(showtime.id)!;
    const taken = unique.filter(
      (id) => found.get(id)!.blocked || booked.has(id) || pending.has(id),
    );
    if (taken.length > 0) {
      throw new AppError('SEAT_UNAVAILABLE', 'Some seats are not available', { seatIds: taken });
    }
    const result = await this.store.hold(refOf(showtime), holder, unique);
    return {
      expiresAt: result.expiresAt,
      seats: result.seatIds.map((seatId) => ({ seatId, status: SeatStatus.HELD, heldByMe: true })),
    };
  }

  /** Releases the caller's holds among `seatIds`; other people's seats are untouched. */
  async release(showtimeId: string, userId: string, seatIds: string[]) {
    const unique = this.releaseRequest(seatIds);
    const holder = this.holderTag(userId);
    await this.store.admit(holder);
    const showtime = await this.showtimeOrFail(showtimeId);
    const { released } = await this.store.release(refOf(showtime), holder, unique);
    return {
      seats: released.map((seatId) => ({ seatId, status: SeatStatus.AVAILABLE, heldByMe: false })),
    };
  }

  /**
   * The seat events of one showtime, for the subscription. Subscribes before returning, so
   * that Redis being down is an error result for this subscription (SERVICE_UNAVAILABLE),
   * never a hang, a crash, or an error that ends the whole connection.
   */
  async events(showtimeId: string): Promise<AsyncIterableIterator<SeatFeedItem>> {
    await this.showtimeOrFail(showtimeId);
    let source: AsyncIterableIterator<unknown>;
    try {
      source = await this.pubSub.listen(seatTopic(showtimeId));
    } catch (err) {
      throw err instanceof PubSubUnavailableError ? seatUpdatesUnavailable() : err;
    }
    return new SeatFeed(source);
  }

  /** One event as a viewer sees it: only whether each held seat is theirs. */
  forViewer(event: SeatEvent, viewerId: string | null) {
    const me = this.viewerTag(viewerId);
    return {
      showtimeId: event.showtimeId,
      version: event.version,
      seats: event.seats.map((s) => ({
        seatId: s.seatId,
        status: s.status as SeatStatus,
        heldByMe: s.status === 'HELD' && s.holder !== null && s.holder === me,
      })),
    };
  }
}

/** What the hold store needs of a showtime: its id, and its end (when its keys may go). */
const refOf = (showtime: Showtime): ShowtimeRef => ({
  id: showtime.id,
  endsAt: showtime.endsAt.getTime(),
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
      if (result.done) this.ended = true;
      return result.done
        ? { value: undefined, done: true }
        : { value: result.value as SeatEvent, done: false };
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

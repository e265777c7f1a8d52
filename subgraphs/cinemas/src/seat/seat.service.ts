import { createHmac } from 'node:crypto';
import { In, type DataSource } from 'typeorm';
import { AppError, notFound } from '../../../../runtime/errors';
import { deriveKey } from '../../../../runtime/identity';
import type { PubSub } from 'type-graphql';
import { Seat } from '../cinema/cinema.entity';
import { Showtime } from '../showtime/showtime.entity';
import type { SeatEvent, SeatHoldStore } from './hold/seat-hold.store';
import { SeatStatus, type SeatState } from './seat-map.types';

/** The pub/sub topic of one showtime's seat events (prefixed by the transport). */
export const seatTopic = (showtimeId: string): string => `seat-events:${showtimeId}`;

/**
 * The live seat map: seats of the hall, BOOKED from the reservations table, BLOCKED from the
 * seat, HELD from the hold store. Holders are known to the store only by an opaque tag (an
 * HMAC of the user id), so events never carry who holds a seat (invariant 9).
 */
export class SeatService {
  constructor(
    private readonly dataSource: DataSource,
    private readonly store: SeatHoldStore,
    private readonly pubSub: PubSub,
    secret: string,
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

  /** Seats with an ACTIVE reservation (sold), per showtime. */
  async bookedSeatIds(showtimeIds: readonly string[]): Promise<Map<string, Set<string>>> {
    const rows: { showtime_id: string; seat_id: string }[] = await this.dataSource.query(
      `SELECT showtime_id, seat_id FROM seat_reservations
       WHERE showtime_id = ANY($1) AND status = 'ACTIVE'`,
      [[...showtimeIds]],
    );
    const map = new Map<string, Set<string>>(showtimeIds.map((id) => [id, new Set<string>()]));
    for (const r of rows) map.get(r.showtime_id)!.add(r.seat_id);
    return map;
  }

  /** Current holds of several showtimes (one round trip with auto-pipelining). */
  async snapshots(showtimeIds: readonly string[]) {
    return Promise.all(showtimeIds.map((id) => this.store.snapshot(id)));
  }

  /**
   * The viewer's seat map. `booked` is read before `snapshot` (the callers' loaders keep that
   * order): an event racing the reads carries a higher version, which the client applies on
   * top (or refetches on a gap).
   */
  seatMap(
    seats: Seat[],
    booked: Set<string>,
    { version, holds }: { version: number; holds: Map<string, string> },
    viewerId: string | null,
  ) {
    const me = this.viewerTag(viewerId);
    const states: SeatState[] = seats.map((seat) => {
      const holder = holds.get(seat.id);
      const status = seat.blocked
        ? SeatStatus.BLOCKED
        : booked.has(seat.id)
          ? SeatStatus.BOOKED
          : holder
            ? SeatStatus.HELD
            : SeatStatus.AVAILABLE;
      return { seatId: seat.id, status, heldByMe: status === SeatStatus.HELD && holder === me };
    });
    return { version, seats: states };
  }

  /** Seats free to book now, per showtime: sellable − sold − held. */
  async availableCounts(showtimes: readonly Showtime[], sellable: number[]): Promise<number[]> {
    const booked = await this.bookedSeatIds(showtimes.map((s) => s.id));
    const snapshots = await Promise.all(showtimes.map((s) => this.store.snapshot(s.id)));
    return showtimes.map((s, i) => {
      const sold = booked.get(s.id)!;
      let held = 0;
      for (const seatId of snapshots[i].holds.keys()) if (!sold.has(seatId)) held += 1;
      return Math.max(0, sellable[i] - sold.size - held);
    });
  }

  /**
   * Holds seats for the caller: all or nothing. Unknown seats, seats of another hall and a
   * showtime that started are the caller's mistake (BAD_USER_INPUT); blocked and sold seats
   * are SEAT_UNAVAILABLE like seats held by others.
   */
  async hold(showtimeId: string, userId: string, seatIds: string[]) {
    const showtime = await this.showtimeOrFail(showtimeId);
    if (showtime.status !== 'SCHEDULED') {
      throw new AppError('BAD_USER_INPUT', 'The showtime was cancelled', { field: 'showtimeId' });
    }
    if (showtime.startsAt.getTime() <= Date.now()) {
      throw new AppError('BAD_USER_INPUT', 'The showtime has started', { field: 'showtimeId' });
    }
    const unique = [...new Set(seatIds)];
    const seats = await this.dataSource.getRepository(Seat).findBy({ id: In(unique) });
    const found = new Map(seats.map((s) => [s.id, s]));
    const foreign = unique.filter((id) => found.get(id)?.hallId !== showtime.hallId);
    if (foreign.length > 0) {
      throw new AppError('BAD_USER_INPUT', 'Some seats are not seats of this showtime’s hall', {
        field: 'seatIds',
        seatIds: foreign,
      });
    }
    const booked = (await this.bookedSeatIds([showtime.id])).get(showtime.id)!;
    const taken = unique.filter((id) => found.get(id)!.blocked || booked.has(id));
    if (taken.length > 0) {
      throw new AppError('SEAT_UNAVAILABLE', 'Some seats are not available', { seatIds: taken });
    }
    const result = await this.store.hold(showtime.id, this.holderTag(userId), unique);
    return {
      expiresAt: result.expiresAt,
      seats: result.seatIds.map((seatId) => ({ seatId, status: SeatStatus.HELD, heldByMe: true })),
    };
  }

  /** Releases the caller's holds among `seatIds`; other people's seats are untouched. */
  async release(showtimeId: string, userId: string, seatIds: string[]) {
    await this.showtimeOrFail(showtimeId);
    const { released } = await this.store.release(showtimeId, this.holderTag(userId), [
      ...new Set(seatIds),
    ]);
    return {
      seats: released.map((seatId) => ({ seatId, status: SeatStatus.AVAILABLE, heldByMe: false })),
    };
  }

  /** The seat events of one showtime, for the subscription. */
  async events(showtimeId: string): Promise<AsyncIterable<unknown>> {
    await this.showtimeOrFail(showtimeId);
    return this.pubSub.subscribe(seatTopic(showtimeId));
  }

  /**
   * The showtime of an event, read once per event however many subscriptions carry it (the
   * pub/sub hands every subscription of this process the same event object).
   */
  private readonly eventShowtimes = new WeakMap<SeatEvent, Promise<Showtime | null>>();

  showtimeOf(event: SeatEvent): Promise<Showtime | null> {
    let showtime = this.eventShowtimes.get(event);
    if (!showtime) {
      showtime = this.dataSource.getRepository(Showtime).findOneBy({ id: event.showtimeId });
      this.eventShowtimes.set(event, showtime);
    }
    return showtime;
  }

  /** One event as a viewer sees it: only whether each held seat is theirs. */
  forViewer(event: SeatEvent, viewerId: string | null) {
    const me = this.viewerTag(viewerId);
    return {
      showtime: () => this.showtimeOf(event),
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

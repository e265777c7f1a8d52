import { In, type DataSource, type EntityManager } from 'typeorm';
import type {
  BookingEventType,
  BookingSeatsPayload,
  PendingReservationRequest,
  PendingReservationResponse,
  RetakeReservationRequest,
  RetakeReservationResponse,
  ShowtimeFacts,
} from '../../../../runtime/contracts/booking-events';
import { AppError, badUserInput, notFound } from '../../../../runtime/errors';
import type { DomainEvent } from '../../../../runtime/events/event';
import type { Logger } from '../../../../runtime/logger';
import { Hall, Seat, SeatType } from '../cinema/cinema.entity';
import {
  sortSeatIds,
  type ExternalSeatStatus,
  type SeatHoldStore,
  type ShowtimeRef,
} from '../seat/hold/seat-hold.store';
import { Showtime } from '../showtime/showtime.entity';

/**
 * How long after a PENDING booking's expiry cinemas releases its seats by itself. The
 * bookings subgraph expires its bookings first (and says so with `booking.released`); the
 * grace keeps this safety net from racing it, while a bookings service that crashed or lost
 * its events can still never keep seats for longer than expiry + grace.
 */
export const RESERVATION_GRACE_MS = 2 * 60_000;

/** Reservations released (or announced) per transaction by the periodic jobs. */
const EXPIRY_BATCH = 500;

/**
 * How old an unannounced change must be before the catch-up announces it: well past the
 * moment the code that made it announces it itself, so the catch-up only picks up what a
 * crash or an outage left behind.
 */
export const ANNOUNCE_CATCH_UP_MS = 5000;

/** The live states of a reservation: at most one per seat and showtime (the unique index). */
const LIVE = ['PENDING', 'ACTIVE'] as const;

interface ReservationRow {
  id: string;
  showtime_id: string;
  seat_id: string;
  status: 'PENDING' | 'ACTIVE' | 'RELEASED';
  holder: string | null;
  booking_event_at: Date | null;
}

export interface ReservationServiceOptions {
  dataSource: DataSource;
  store: SeatHoldStore;
  /** The seat-hold tag of a user (`SeatService.holderTag`): holds and reservations use it. */
  holderTag: (userId: string) => string;
  log: Logger;
  graceMs?: number;
}

/**
 * The cinemas side of the booking engine: seat reservations of bookings.
 *
 * - `reservePending` (CreateBooking, through `POST /internal/reservations/pending`): seats the
 *   user holds become PENDING reservations of the booking until its expiry;
 * - `retake` (a late payment, through `POST /internal/reservations/retake`): a released
 *   booking's rows become PENDING again if no other booking has the seats;
 * - `applyBookingEvent` (the bookings stream): confirmed → ACTIVE (BOOKED), released →
 *   RELEASED (AVAILABLE);
 * - `expireOverdue` (a periodic job): PENDING reservations a grace past their expiry are
 *   released, so a bookings service that is down never keeps seats;
 * - `announce` / `announceOverdue`: the seat events for those changes, sent once the change
 *   has committed (and later, by the periodic job, if that failed).
 *
 * PostgreSQL (`seat_reservations`) is the record: the seat map reads it (ACTIVE is BOOKED,
 * PENDING is HELD, `heldByMe` for the booker), `holdSeats` refuses its live seats, and its
 * unique index is the last guard against selling a seat twice. The hold store carries the
 * live part: the reservation that keeps holds off the seats and the events seat maps follow.
 */
export class ReservationService {
  private readonly dataSource: DataSource;
  private readonly store: SeatHoldStore;
  private readonly log: Logger;
  private readonly graceMs: number;

  constructor(private readonly options: ReservationServiceOptions) {
    this.dataSource = options.dataSource;
    this.store = options.store;
    this.log = options.log;
    this.graceMs = options.graceMs ?? RESERVATION_GRACE_MS;
  }

  /**
   * Turns the seats `userId` holds into PENDING reservations of `bookingId`, all or nothing.
   * Refusals: NOT_FOUND (showtime), BAD_USER_INPUT (cancelled or started showtime, seats of
   * another hall, a bookingId already used for other seats), SEAT_UNAVAILABLE (blocked, or
   * reserved by another booking), SEATS_NOT_HELD (not held by the user at this moment);
   * SERVICE_UNAVAILABLE when the hold store cannot be reached. Idempotent per bookingId.
   *
   * The race the brief warns of (another user holding the seats between the rows being
   * written and the holds leaving the hold store) cannot happen, by construction: the rows
   * are inserted, then — still inside the same transaction — the hold store's `reserve`
   * checks that the user holds every seat and moves them from its holds into a reservation
   * in one atomic step. Before that step the user's live holds keep everyone else off the
   * seats; after it the reservation does (it blocks every hold until the booking is settled
   * and announced, or until expiry + grace). There is no instant in which the hold
   * store sees the seats free. If `reserve` refuses or fails, the transaction rolls back, so
   * nothing was reserved anywhere. If the commit itself failed after `reserve` succeeded
   * (the database going away at that instant), the seats stay reserved in the hold store
   * with no booking behind them until expiry + grace, then they lapse: unavailable for a
   * while, never sold twice. Concurrent calls with one bookingId serialise on an advisory
   * lock, so the second answers from the first's rows.
   */
  async reservePending(
    request: PendingReservationRequest,
    now: number = Date.now(),
  ): Promise<PendingReservationResponse> {
    const { bookingId, showtimeId, userId } = request;
    const seatIds = sortSeatIds(request.seatIds);
    const holder = this.options.holderTag(userId);
    const showtime = await this.dataSource.getRepository(Showtime).findOneBy({ id: showtimeId });
    if (!showtime) throw notFound('Showtime', showtimeId);

    const done = await this.rowsOfBooking(this.dataSource.manager, bookingId);
    if (done.length > 0) return this.answerRetry(request, holder, done, showtime);

    if (showtime.status !== 'SCHEDULED') {
      throw new AppError('BAD_USER_INPUT', 'The showtime was cancelled', { field: 'showtimeId' });
    }
    if (showtime.startsAt.getTime() <= now) {
      throw new AppError('BAD_USER_INPUT', 'The showtime has started', { field: 'showtimeId' });
    }
    const seats = await this.dataSource.getRepository(Seat).findBy({ id: In(seatIds) });
    const found = new Map(seats.map((s) => [s.id, s]));
    const foreign = seatIds.filter((id) => found.get(id)?.hallId !== showtime.hallId);
    if (foreign.length > 0) {
      throw new AppError('BAD_USER_INPUT', 'Some seats are not seats of this showtime’s hall', {
        field: 'seatIds',
        seatIds: foreign,
      });
    }
    const blocked = seatIds.filter((id) => found.get(id)!.blocked);
    if (blocked.length > 0) {
      throw new AppError('SEAT_UNAVAILABLE', 'Some seats are not available', {
        seatIds: blocked,
      });
    }

    const expiresAt = new Date(request.expiresAt);
    let retried: ReservationRow[] = [];
    try {
      await this.dataSource.transaction(async (tx) => {
        await tx.query('SELECT pg_advisory_xact_lock(hashtextextended($1, 0))', [
          `seat-reservation:${bookingId}`,
        ]);
        retried = await this.rowsOfBooking(tx, bookingId);
        if (retried.length > 0) return;
        await tx.query(
          `INSERT INTO seat_reservations
             (id, showtime_id, seat_id, booking_id, status, expires_at, holder)
           SELECT gen_random_uuid(), $1, seat_id, $2, 'PENDING', $3, $4
             FROM unnest($5::uuid[]) AS seat_id`,
          [showtimeId, bookingId, expiresAt, holder, seatIds],
        );
        // Last, inside the transaction: see the method's comment.
        await this.store.reserve(
          refOf(showtime),
          holder,
          seatIds,
          expiresAt.getTime() + this.graceMs,
          now,
        );
      });
    } catch (err) {
      if (!isUniqueViolation(err)) throw err;
      const taken = await this.liveSeats(showtimeId, seatIds);
      throw new AppError('SEAT_UNAVAILABLE', 'Some seats are not available', {
        seatIds: taken.length > 0 ? taken : seatIds,
      });
    }
    if (retried.length > 0) return this.answerRetry(request, holder, retried, showtime);
    return this.answer(showtime, seatIds);
  }

  /**
   * A payment arrived for a booking whose seats were released (it expired before the IPN,
   * DESIGN.md invariant 7): makes the booking's own rows live again, PENDING until
   * `expiresAt` (the `booking.confirmed` that follows makes them ACTIVE; without it the safety
   * net frees them a grace after `expiresAt`), all or nothing. Refusals: NOT_FOUND (cinemas
   * never reserved this booking), BAD_USER_INPUT (other seats or another showtime than the
   * booking's), SEAT_UNAVAILABLE with `reason` SHOWTIME_CLOSED (cancelled or started) or
   * SEATS_TAKEN with `seatIds` (another booking has some of them now); SERVICE_UNAVAILABLE
   * when the hold store cannot be reached (nothing changed: retry). Idempotent: live rows
   * answer 200, a PENDING one keeping the later of its expiry and `expiresAt`.
   *
   * Holds do not count (a hold is not a purchase; the seats were paid for), but once the rows
   * are live again nobody may newly hold the seats. `SeatService.hold` refuses seats with a
   * live row, yet it reads the table before its hold script runs, so a hold read just before
   * this commit would slip in after it. The hold store's reservation closes that gap, as in
   * `reservePending`: the rows are updated first, then (still inside the transaction, so
   * under the rows' locks and the unique index's entries) `store.retake` puts the seats in a
   * reservation of the booker that blocks every hold and ends the holds on them (one HELD
   * event tells seat maps). `reserve` cannot do it: it requires the holder to hold the seats.
   * Announcing the seats HELD through `publishChange` cannot either: it only removes holds and
   * has no state that refuses the next one. If that step fails, the transaction rolls back.
   */
  async retake(
    request: RetakeReservationRequest,
    now: number = Date.now(),
  ): Promise<RetakeReservationResponse> {
    const { bookingId, showtimeId } = request;
    const asked = sortSeatIds(request.seatIds);
    try {
      return await this.dataSource.transaction(async (tx) => {
        await tx.query('SELECT pg_advisory_xact_lock(hashtextextended($1, 0))', [
          `seat-reservation:${bookingId}`,
        ]);
        const rows: (ReservationRow & { expires_at: Date | null })[] = await tx.query(
          `SELECT id, showtime_id, seat_id, status, holder, booking_event_at, expires_at
             FROM seat_reservations WHERE booking_id = $1 ORDER BY id FOR UPDATE`,
          [bookingId],
        );
        if (rows.length === 0) throw notFound('Reservation of booking', bookingId);
        if (rows.some((r) => r.showtime_id !== showtimeId)) {
          throw badUserInput('showtimeId', 'This booking reserved seats of another showtime');
        }
        const reserved = sortSeatIds(rows.map((r) => r.seat_id));
        if (reserved.length !== asked.length || reserved.some((id, i) => id !== asked[i])) {
          throw badUserInput('seatIds', 'This booking reserved other seats');
        }
        // Confirmed already (a retry that lost its answer): sold for good, whatever the
        // showtime's state now; refusing would have bookings refund a valid booking.
        if (rows.every((r) => r.status === 'ACTIVE')) return { seatIds: asked };

        const showtime = await tx.getRepository(Showtime).findOneBy({ id: showtimeId });
        if (!showtime || showtime.status !== 'SCHEDULED' || showtime.startsAt.getTime() <= now) {
          throw new AppError('SEAT_UNAVAILABLE', 'The showtime was cancelled or has started', {
            reason: 'SHOWTIME_CLOSED',
          });
        }
        const released = rows.filter((r) => r.status === 'RELEASED');
        if (released.length > 0) {
          // The booking's own rows are not live, and (booking, seat) is unique: any live row
          // of these seats is another booking's.
          const taken = await this.liveSeats(
            showtimeId,
            released.map((r) => r.seat_id),
            tx,
          );
          if (taken.length > 0) throw seatsTaken(taken);
        }
        const pending = rows.filter((r) => r.status === 'PENDING');
        const expiresAt = new Date(
          Math.max(Date.parse(request.expiresAt), ...pending.map((r) => r.expires_at!.getTime())),
        );
        const live = [...released, ...pending];
        // The unique index on live rows is the last guard: a seat another booking takes
        // between the check above and this statement fails it (SEATS_TAKEN below).
        // `holder` is NOT NULL for PENDING; rows from before it existed get a tag of the
        // booking's own, which no user's tag equals.
        await tx.query(
          `UPDATE seat_reservations
              SET status = 'PENDING', expires_at = $2, released_at = NULL,
                  holder = COALESCE(holder, $3), unannounced_since = NULL
            WHERE id = ANY($1::uuid[])`,
          [live.map((r) => r.id), expiresAt, `booking:${bookingId}`],
        );
        const holder = live[0].holder ?? `booking:${bookingId}`;
        // Last, inside the transaction: see the method's comment.
        await this.store.retake(
          refOf(showtime),
          holder,
          sortSeatIds(live.map((r) => r.seat_id)),
          expiresAt.getTime() + this.graceMs,
          now,
        );
        return { seatIds: asked };
      });
    } catch (err) {
      if (!isUniqueViolation(err)) throw err;
      const taken = await this.liveSeats(showtimeId, asked, undefined, bookingId);
      throw seatsTaken(taken.length > 0 ? taken : asked);
    }
  }

  /** The facts of each showtime that exists, in the order asked; unknown ids are left out. */
  async showtimeFacts(showtimeIds: readonly string[]): Promise<ShowtimeFacts[]> {
    const unique = [...new Set(showtimeIds)];
    const found = await this.dataSource.getRepository(Showtime).findBy({ id: In(unique) });
    const byId = new Map(found.map((s) => [s.id, s]));
    return this.facts(unique.flatMap((id) => byId.get(id) ?? []));
  }

  /**
   * Applies one event of the bookings stream, in the transaction that records it as
   * processed (`handleOnce`), and returns the rows it changed: the caller announces them to
   * seat maps once that transaction committed (`announce`). Idempotent twice over: a
   * redelivered event is skipped by its id, and an event that changes no row changes
   * nothing. An event older than the newest one applied to the booking is skipped too, since
   * delivery order is not guaranteed (a release overtaken by a later confirmation must not
   * free sold seats).
   */
  async applyBookingEvent(
    tx: EntityManager,
    event: DomainEvent<BookingSeatsPayload>,
  ): Promise<string[]> {
    const type = event.type as BookingEventType;
    const bookingId = event.payload?.bookingId;
    if (typeof bookingId !== 'string' || bookingId.length === 0) {
      throw new Error(`Booking event ${event.id} carries no bookingId`);
    }
    const occurredAt = Date.parse(event.occurredAt);
    const rows: ReservationRow[] = await tx.query(
      `SELECT id, showtime_id, seat_id, status, holder, booking_event_at
         FROM seat_reservations WHERE booking_id = $1 ORDER BY id FOR UPDATE`,
      [bookingId],
    );
    if (rows.length === 0) {
      this.log.warn({ eventId: event.id, type, bookingId }, 'booking event for no reservation');
      return [];
    }
    if (rows.some((r) => r.booking_event_at && r.booking_event_at.getTime() > occurredAt)) {
      this.log.info(
        { eventId: event.id, type, bookingId },
        'skipped a booking event overtaken by a newer one',
      );
      return [];
    }
    if (type === 'booking.released') {
      const live = rows.filter((r) => r.status !== 'RELEASED').map((r) => r.id);
      await tx.query(
        `UPDATE seat_reservations
            SET status = 'RELEASED', released_at = now(), unannounced_since = now()
          WHERE id = ANY($1::uuid[])`,
        [live],
      );
      await this.recordEventTime(tx, bookingId, event.occurredAt);
      return live;
    }
    // booking.confirmed, and booking.completed (which implies it, should it arrive first).
    const released = rows.filter((r) => r.status === 'RELEASED');
    if (released.length > 0) {
      // Released by the safety net before the payment arrived (invariant 7): re-taken only if
      // no other booking has them now. A hold by someone else does not count: the seats were
      // paid for, and announcing them BOOKED takes them out of that hold.
      const taken = await this.liveSeats(
        rows[0].showtime_id,
        released.map((r) => r.seat_id),
        tx,
      );
      if (taken.length > 0) {
        this.log.error(
          { eventId: event.id, bookingId, showtimeId: rows[0].showtime_id, seatIds: taken },
          'a booking was confirmed after its seats were released and taken by another booking; the payment must be refunded',
        );
        return [];
      }
    }
    const changed = rows.filter((r) => r.status !== 'ACTIVE').map((r) => r.id);
    // A seat another booking took in the meantime (a race with the check above) fails this
    // statement on the unique index: the event is retried, and the check then sees it.
    await tx.query(
      `UPDATE seat_reservations
          SET status = 'ACTIVE', expires_at = NULL, released_at = NULL, unannounced_since = now()
        WHERE id = ANY($1::uuid[])`,
      [changed],
    );
    await this.recordEventTime(tx, bookingId, event.occurredAt);
    return changed;
  }

  /**
   * Tells seat maps about rows whose change has committed: one event per showtime, BOOKED for
   * ACTIVE rows, AVAILABLE for RELEASED ones (unless another booking has the seat by now: its
   * own state stands). Waits for rows another announcer is on, so each change goes out once;
   * what fails here (Redis down) stays marked and `announceOverdue` sends it later.
   *
   * Why after the commit: the seat map reads the rows before the version, so a reader that
   * gets version v must find the rows as they were when v was published; and a subscription
   * resolves `showtime { seatMap }` on the event itself. The event is published inside the
   * transaction that clears the mark, so it is never lost. It goes out twice only if that
   * commit fails after the publish: the states are absolute, so seat maps do not mind, but a
   * seat freed and held again in between would lose that new hold (`publishChange` clears
   * holds) — a database failure at that exact instant, which we accept.
   */
  async announce(rowIds: readonly string[]): Promise<number> {
    if (rowIds.length === 0) return 0;
    return this.announceWhere('id = ANY($1::uuid[])', [[...rowIds]], false);
  }

  /**
   * Announces changes that `announce` did not (the process stopped between the commit and
   * the announcement, or Redis was down), once they are `ANNOUNCE_CATCH_UP_MS` old. Safe on
   * several instances at once (`FOR UPDATE SKIP LOCKED`). Returns how many rows it announced.
   */
  async announceOverdue(now: number = Date.now()): Promise<number> {
    const cutoff = new Date(now - ANNOUNCE_CATCH_UP_MS);
    // Nearly every run finds nothing: one indexed read (seat_reservations_unannounced_idx)
    // outside a transaction says so in one round trip, where the locking read costs a query
    // runner, BEGIN and COMMIT around it (as the outbox relay does).
    const anyDue: unknown[] = await this.dataSource.query(
      `SELECT 1 FROM seat_reservations
        WHERE unannounced_since IS NOT NULL AND unannounced_since <= $1 LIMIT 1`,
      [cutoff],
    );
    if (anyDue.length === 0) return 0;
    let total = 0;
    for (;;) {
      const announced = await this.announceWhere(
        'unannounced_since <= $1',
        [cutoff],
        true,
        EXPIRY_BATCH,
      );
      total += announced;
      if (announced < EXPIRY_BATCH) return total;
    }
  }

  /**
   * The safety net: releases PENDING reservations whose expiry plus the grace has passed, then
   * announces them (one seat event per showtime), and returns how many it released. Rows are
   * taken with `FOR UPDATE SKIP LOCKED`, so instances running it at once never release a row
   * twice, and a row a confirmation is changing right now is left to it (the confirmation
   * then finds it still PENDING, or released and re-takes it).
   */
  async expireOverdue(now: number = Date.now()): Promise<number> {
    const cutoff = new Date(now - this.graceMs);
    // Likewise a cheap read first (seat_reservations_pending_expiry_idx): a row that becomes
    // due just after it is released by the next run, as it would be had it become due just
    // after the locking read.
    const anyDue: unknown[] = await this.dataSource.query(
      `SELECT 1 FROM seat_reservations WHERE status = 'PENDING' AND expires_at <= $1 LIMIT 1`,
      [cutoff],
    );
    if (anyDue.length === 0) return 0;
    let total = 0;
    for (;;) {
      const rows = await this.dataSource.transaction(async (tx) => {
        const due: { id: string; booking_id: string }[] = await tx.query(
          `SELECT id, booking_id FROM seat_reservations
            WHERE status = 'PENDING' AND expires_at <= $1
            ORDER BY expires_at LIMIT $2
            FOR UPDATE SKIP LOCKED`,
          [cutoff, EXPIRY_BATCH],
        );
        if (due.length === 0) return due;
        await tx.query(
          `UPDATE seat_reservations
              SET status = 'RELEASED', released_at = now(), unannounced_since = now()
            WHERE id = ANY($1::uuid[])`,
          [due.map((r) => r.id)],
        );
        return due;
      });
      if (rows.length > 0) {
        this.log.warn(
          { bookingIds: [...new Set(rows.map((r) => r.booking_id))], seats: rows.length },
          'released PENDING reservations past their expiry (the bookings subgraph did not)',
        );
        await this.announce(rows.map((r) => r.id));
      }
      total += rows.length;
      if (rows.length < EXPIRY_BATCH) return total;
    }
  }

  /** Marks the booking's rows with the newest event applied (see `applyBookingEvent`). */
  private async recordEventTime(
    tx: EntityManager,
    bookingId: string,
    occurredAt: string,
  ): Promise<void> {
    await tx.query('UPDATE seat_reservations SET booking_event_at = $2 WHERE booking_id = $1', [
      bookingId,
      occurredAt,
    ]);
  }

  private async announceWhere(
    condition: string,
    params: unknown[],
    skipLocked: boolean,
    limit?: number,
  ): Promise<number> {
    return this.dataSource.transaction(async (tx) => {
      const rows: Pick<ReservationRow, 'id' | 'showtime_id' | 'seat_id' | 'status'>[] =
        await tx.query(
          `SELECT id, showtime_id, seat_id, status FROM seat_reservations
            WHERE unannounced_since IS NOT NULL AND ${condition}
            ORDER BY id ${limit ? `LIMIT ${limit}` : ''}
            FOR UPDATE ${skipLocked ? 'SKIP LOCKED' : ''}`,
          params,
        );
      if (rows.length === 0) return 0;
      await tx.query(
        'UPDATE seat_reservations SET unannounced_since = NULL WHERE id = ANY($1::uuid[])',
        [rows.map((r) => r.id)],
      );
      const byShowtime = new Map<string, typeof rows>();
      for (const r of rows)
        byShowtime.set(r.showtime_id, [...(byShowtime.get(r.showtime_id) ?? []), r]);
      const showtimes = await tx.getRepository(Showtime).findBy({ id: In([...byShowtime.keys()]) });
      for (const showtime of showtimes) {
        const changed = byShowtime.get(showtime.id)!;
        const released = changed.filter((r) => r.status === 'RELEASED').map((r) => r.seat_id);
        const retaken = new Set(
          released.length > 0 ? await this.liveSeats(showtime.id, released, tx) : [],
        );
        const seats: Array<{ seatId: string; status: ExternalSeatStatus }> = [];
        for (const r of changed) {
          if (r.status === 'ACTIVE') seats.push({ seatId: r.seat_id, status: 'BOOKED' });
          else if (r.status === 'RELEASED' && !retaken.has(r.seat_id)) {
            seats.push({ seatId: r.seat_id, status: 'AVAILABLE' });
          }
        }
        if (seats.length > 0) await this.store.publishChange(refOf(showtime), seats);
      }
      return rows.length;
    });
  }

  private rowsOfBooking(manager: EntityManager, bookingId: string): Promise<ReservationRow[]> {
    return manager.query(
      `SELECT id, showtime_id, seat_id, status, holder, booking_event_at
         FROM seat_reservations WHERE booking_id = $1`,
      [bookingId],
    );
  }

  /**
   * Those of `seatIds` with a live (PENDING or ACTIVE) reservation in the showtime, of a
   * booking other than `exceptBookingId` when given.
   */
  private async liveSeats(
    showtimeId: string,
    seatIds: string[],
    manager: EntityManager = this.dataSource.manager,
    exceptBookingId: string | null = null,
  ): Promise<string[]> {
    const rows: { seat_id: string }[] = await manager.query(
      `SELECT seat_id FROM seat_reservations
        WHERE showtime_id = $1 AND seat_id = ANY($2::uuid[]) AND status = ANY($3)
          AND ($4::uuid IS NULL OR booking_id <> $4::uuid)`,
      [showtimeId, seatIds, LIVE, exceptBookingId],
    );
    return sortSeatIds(rows.map((r) => r.seat_id));
  }

  /**
   * A bookingId seen before: the same answer if it asks for the same thing (a retry), whatever
   * happened to the booking since; a different request under a used id is the caller's bug.
   */
  private answerRetry(
    request: PendingReservationRequest,
    holder: string,
    rows: ReservationRow[],
    showtime: Showtime,
  ): Promise<PendingReservationResponse> {
    const reserved = sortSeatIds(rows.map((r) => r.seat_id));
    const asked = sortSeatIds(request.seatIds);
    const same =
      rows.every((r) => r.showtime_id === request.showtimeId && (r.holder ?? holder) === holder) &&
      reserved.length === asked.length &&
      reserved.every((id, i) => id === asked[i]);
    if (!same) {
      throw badUserInput('bookingId', 'This bookingId already reserved other seats');
    }
    return this.answer(showtime, reserved);
  }

  private async answer(showtime: Showtime, seatIds: string[]): Promise<PendingReservationResponse> {
    const [[facts], seats] = await Promise.all([
      this.facts([showtime]),
      this.dataSource.getRepository(Seat).findBy({ id: In(seatIds) }),
    ]);
    seats.sort((a, b) => a.row.localeCompare(b.row) || a.number - b.number);
    return {
      showtime: facts,
      seats: seats.map((s) => ({ seatId: s.id, seatType: s.type, row: s.row, number: s.number })),
      prices: Object.values(SeatType)
        .filter((type) => showtime.priceTable[type] !== undefined)
        .map((type) => ({ seatType: type, amount: showtime.priceTable[type]! })),
    };
  }

  private async facts(showtimes: Showtime[]): Promise<ShowtimeFacts[]> {
    if (showtimes.length === 0) return [];
    const hallIds = [...new Set(showtimes.map((s) => s.hallId))];
    const [halls, counts] = await Promise.all([
      this.dataSource.getRepository(Hall).findBy({ id: In(hallIds) }),
      this.dataSource.query<{ hall_id: string; n: number }[]>(
        `SELECT hall_id, count(*)::int AS n FROM seats
          WHERE hall_id = ANY($1::uuid[]) AND NOT blocked GROUP BY hall_id`,
        [hallIds],
      ),
    ]);
    const cinemaOf = new Map(halls.map((h) => [h.id, h.cinemaId]));
    const capacityOf = new Map(counts.map((c) => [c.hall_id, c.n]));
    return showtimes.map((s) => ({
      id: s.id,
      movieId: s.movieId,
      cinemaId: cinemaOf.get(s.hallId)!,
      hallId: s.hallId,
      startsAt: s.startsAt.toISOString(),
      endsAt: s.endsAt.toISOString(),
      capacity: capacityOf.get(s.hallId) ?? 0,
      status: s.status,
    }));
  }
}

/** What the hold store needs of a showtime. */
const refOf = (showtime: Showtime): ShowtimeRef => ({
  id: showtime.id,
  endsAt: showtime.endsAt.getTime(),
});

/** The refusal of a retake whose seats another booking has now. */
function seatsTaken(seatIds: string[]): AppError {
  return new AppError('SEAT_UNAVAILABLE', 'Some seats were taken by another booking', {
    reason: 'SEATS_TAKEN',
    seatIds,
  });
}

/** PostgreSQL 23505: a unique index refused the row (here: a seat already reserved). */
function isUniqueViolation(err: unknown): boolean {
  return (err as { code?: string } | null)?.code === '23505';
}

import { IsNull, type DataSource, type EntityManager } from 'typeorm';
import type { BookingSeatsPayload } from '../../../../runtime/contracts/booking-events';
import { notFound } from '../../../../runtime/errors';
import type { Logger } from '../../../../runtime/logger';
import type { CounterSeries } from '../../../../runtime/metrics';
import { bookingsCounter } from '../bookings-metrics';
import type { CinemasClient } from '../cinemas/cinemas.client';
import { ConcessionService } from '../concession/concession.service';
import {
  assertTransition,
  recordTransition,
  type TransitionActor,
  type TransitionRecord,
} from '../domain/booking-state';
import { DomainError } from '../domain/errors';
import { pointsEarned } from '../domain/loyalty';
import { refundFor } from '../domain/refund-policy';
import { LoyaltyService } from '../loyalty/loyalty.service';
import { PromotionService } from '../promotion/promotion.service';
import { enqueueMail } from '../mail/mail-outbox';
import { grantRefund, paidPaymentOf } from '../payment/refund.service';
import { Refund, RefundKind } from '../refund/refund.entity';
import { TicketService } from '../ticket/ticket.service';
import { appendBookingEvent } from './booking-events';
import { awaitBookingsInFlight } from './showtime-barrier';
import { Booking, BookingStatus, PaymentStatus, type PromotionUse } from './booking.entity';
import { changedRows } from '../sql';

/** The clock every rule reads; tests pass their own. */
export type Clock = () => Date;

/**
 * How long cinemas keeps the seats of a late-paid booking re-taken (PENDING) before its
 * `booking.confirmed` event makes them BOOKED: the event follows the commit within moments;
 * if the commit never comes, the seats lapse after this (plus cinemas' grace).
 */
export const LATE_RETAKE_MS = 5 * 60_000;

/** Why a late payment's booking cannot be confirmed: the payment is refunded. */
const LATE_REFUSALS: ReadonlySet<string> = new Set([
  'SEAT_UNAVAILABLE',
  'NOT_FOUND',
  'CONCESSION_OUT_OF_STOCK',
  'INSUFFICIENT_POINTS',
  'PROMOTION_INVALID',
  'BAD_USER_INPUT',
]);

/** Bookings each job pass moves at most, per transaction. */
export const JOB_BATCH_SIZE = 100;

/** The system parts that move bookings, as the audit trail names them. */
export const EXPIRY_JOB: TransitionActor = { kind: 'service', service: 'expiry-job' };
export const COMPLETION_JOB: TransitionActor = { kind: 'service', service: 'completion-job' };
export const SHOWTIME_CANCELLATION: TransitionActor = {
  kind: 'service',
  service: 'showtime-cancellation',
};
const SHOWTIME_CANCELLED_REASON = 'The cinema cancelled the showtime';
/** SQL: the booking row `alias` is not of a showtime the cinema cancelled. */
const NOT_CANCELLED = (alias: string) =>
  `NOT EXISTS (SELECT 1 FROM cancelled_showtimes c WHERE c.showtime_id = ${alias}.showtime_id)`;

export interface LifecycleDeps {
  dataSource: DataSource;
  cinemas: CinemasClient;
  tickets: TicketService;
  promotions: PromotionService;
  concessions: ConcessionService;
  loyalty: LoyaltyService;
  clock: Clock;
  /** Called after a commit that wrote events, so the relay publishes them at once. */
  notify: () => void;
  log?: Logger;
}

/** The columns a transition may set besides the status (fixed names: never from input). */
const SETTABLE = {
  paymentStatus: 'payment_status',
  confirmedAt: 'confirmed_at',
  completedAt: 'completed_at',
  cancelledAt: 'cancelled_at',
  promotionUse: 'promotion_use',
  expiresAt: 'expires_at',
} as const;
type Settable = Partial<{
  expiresAt: null;
  paymentStatus: PaymentStatus;
  confirmedAt: Date;
  completedAt: Date;
  cancelledAt: Date;
  promotionUse: PromotionUse;
}>;

export interface CancelResult {
  booking: Booking;
  refund: Refund | null;
}

/**
 * Everything that moves an existing booking: confirmation (the one way into CONFIRMED),
 * cancellation, the expiry of PENDING bookings, the completion of ended ones, and the expiry
 * of points. Each move is one transaction that
 *
 * - locks the booking row (`FOR UPDATE`; the jobs `SKIP LOCKED`, so several instances split
 *   the work instead of waiting for each other), checks the move with the state machine
 *   (domain/booking-state.ts), and changes the status with a conditional UPDATE
 *   (`WHERE status = :from`): of two racers (a late payment and the expiry job, two job
 *   instances) exactly one moves it;
 * - writes the audit row (who, when, from, to, why);
 * - gives back or makes final what the booking holds (promotion use, concession stock,
 *   redeemed points), issues or cancels its tickets;
 * - writes the booking event for cinemas to the outbox.
 *
 * Locks are taken in one order everywhere (booking, promotion, the user's promotion uses,
 * concessions by id, loyalty account), so no two of these transactions deadlock.
 */
export class BookingLifecycle {
  constructor(private readonly deps: LifecycleDeps) {}

  /**
   * PENDING → CONFIRMED: the only way a booking is confirmed, for the payment flow to call
   * once the payment succeeded (no resolver calls it). In one transaction: the status (and
   * `paymentStatus` PAID), the promotion use made final, the tickets issued (VALID with their
   * barcodes), the audit row and the `booking.confirmed` event.
   *
   * Pass `manager` to run inside the caller's transaction (the payment's own record then
   * commits with it); the caller commits and then calls `notifyRelay()`. A booking past its
   * expiry is refused as an EXPIRED one would be (`INVALID_STATE_TRANSITION`, reason
   * `EXPIRED_TO_CONFIRMED`), whether or not the expiry job has run yet: its seats may be gone.
   */
  async confirmBooking(
    bookingId: string,
    options: { actor: TransitionActor; reason?: string | null; manager?: EntityManager },
  ): Promise<Booking> {
    const now = this.deps.clock();
    const run = async (manager: EntityManager) => {
      const booking = await this.lockBooking(manager, bookingId);
      if (booking.status !== BookingStatus.PENDING) {
        // EXPIRED → CONFIRMED is legal only for a late payment (`confirmLate`), which first
        // takes the seats and everything else back; here it is refused like any other.
        throw new DomainError('INVALID_STATE_TRANSITION', `The booking is ${booking.status}`, {
          reason: `${booking.status}_TO_CONFIRMED`,
          from: booking.status,
          to: 'CONFIRMED',
        });
      }
      if (
        booking.status === BookingStatus.PENDING &&
        booking.expiresAt &&
        now.getTime() >= booking.expiresAt.getTime()
      ) {
        throw new DomainError(
          'INVALID_STATE_TRANSITION',
          `The booking expired at ${booking.expiresAt.toISOString()}`,
          { reason: 'EXPIRED_TO_CONFIRMED', from: 'EXPIRED', to: 'CONFIRMED' },
        );
      }
      await this.move(
        manager,
        booking,
        BookingStatus.CONFIRMED,
        options.actor,
        options.reason,
        now,
        {
          paymentStatus: PaymentStatus.PAID,
          confirmedAt: now,
          // Paid: nothing expires any more.
          expiresAt: null,
          ...(booking.promotionUse === 'RESERVED' ? { promotionUse: 'FINAL' as const } : {}),
        },
      );
      await this.deps.tickets.issue(manager, booking.id, now);
      await this.event(manager, 'booking.confirmed', booking);
      return booking;
    };
    if (options.manager) return run(options.manager);
    const booking = await this.deps.dataSource.transaction(run);
    this.deps.notify();
    bookingsCounter.confirmed.inc();
    return booking;
  }

  /** Publishes what a caller's transaction wrote (after `confirmBooking` with a manager). */
  notifyRelay(): void {
    this.deps.notify();
  }

  /**
   * Cancels a booking for its owner (or ADMIN): a PENDING one at once, nothing to refund; a
   * CONFIRMED one by the refund policy (≥ 24 h 90%, ≥ 12 h 70%, ≥ 6 h 50%;
   * `CANCELLATION_WINDOW_CLOSED` under 6 h), with a Refund record of the amount (the money is
   * paid back by the payments flow). Either way the seats are released (`booking.released`),
   * the redeemed points, the promotion use and the concession stock come back, the tickets
   * are cancelled. Anything else is `INVALID_STATE_TRANSITION`.
   */
  async cancelBooking(
    bookingId: string,
    options: {
      userId: string;
      isAdmin: boolean;
      reason?: string | null;
      /** Runs in the cancellation's transaction (the idempotency answer). */
      remember?: (manager: EntityManager) => Promise<void>;
    },
  ): Promise<CancelResult> {
    const visible = await this.deps.dataSource.getRepository(Booking).findOneBy({ id: bookingId });
    if (!visible || (!options.isAdmin && visible.userId !== options.userId)) {
      throw notFound('Booking', bookingId);
    }
    if (visible.status === BookingStatus.CONFIRMED) await this.ensureFacts([visible]);
    const actor: TransitionActor = { kind: 'user', userId: options.userId };
    const reason = options.reason ?? null;
    const now = this.deps.clock();
    const result = await this.deps.dataSource.transaction(async (manager) => {
      const booking = await this.lockBooking(manager, bookingId);
      if (await this.isCancelledShowtime(manager, booking.showtimeId)) {
        // The cinema cancelled it: all of it back, whatever the time left, as the cinema's
        // own cancellation of the booking would give.
        const refund = await this.cancelForCancelledShowtime(manager, booking, actor, reason);
        if (refund === false) assertTransition(booking.status, BookingStatus.CANCELLED);
        await options.remember?.(manager);
        return { booking, refund: refund || null };
      }
      if (booking.status === BookingStatus.PENDING) {
        await this.release(manager, booking, BookingStatus.CANCELLED, actor, reason, now);
        await options.remember?.(manager);
        return { booking, refund: null };
      }
      if (booking.status !== BookingStatus.CONFIRMED) {
        assertTransition(booking.status, BookingStatus.CANCELLED);
      }
      const startsAt = booking.startsAt ?? visible.startsAt;
      if (!startsAt) throw new Error(`Booking ${booking.id} has no showtime start`);
      const quote = refundFor({ amountPaid: booking.finalAmount, startsAt, now });
      await this.release(manager, booking, BookingStatus.CANCELLED, actor, reason, now);
      const refund = await grantRefund(manager, {
        booking,
        payment: await paidPaymentOf(manager, booking.id),
        kind: RefundKind.POLICY,
        amount: quote.amount,
        percent: quote.percent,
        reason,
        now,
      });
      await enqueueMail(manager, {
        kind: 'booking-cancelled',
        userId: booking.userId,
        bookingId: booking.id,
        refundId: refund.id,
        dedupeKey: `booking-cancelled:${booking.id}`,
      });
      await options.remember?.(manager);
      return { booking, refund };
    });
    this.deps.notify();
    bookingsCounter.cancelled.inc();
    return result;
  }

  /**
   * Notes that the cinema cancelled a showtime (cinemas' `showtime.cancelled`), once:
   * `cancelForShowtime` and the `settleCancelledShowtimes` job then cancel its bookings, and
   * no booking of it is ever completed. Idempotent.
   */
  async recordCancelledShowtime(showtimeId: string, cancelledAt: Date): Promise<void> {
    await this.deps.dataSource.query(
      `INSERT INTO cancelled_showtimes (showtime_id, cancelled_at) VALUES ($1, $2)
       ON CONFLICT DO NOTHING`,
      [showtimeId, cancelledAt],
    );
  }

  /**
   * Cancels the PENDING and CONFIRMED bookings of a showtime the cinema cancelled (see
   * `cancelForCancelledShowtime` for what each gets), each in a transaction of its own with the
   * lock order of every other move. Bookings whose creation is in flight are waited for
   * (`showtime-barrier.ts`); later ones are refused by cinemas, and any that still slips
   * through (a late payment taking its seats back at that instant) is found by the job
   * (`settleCancelledShowtimes`). A booking that fails is logged and left to the job, the
   * others go on. Idempotent. Returns how many it cancelled.
   */
  async cancelForShowtime(showtimeId: string, limit = JOB_BATCH_SIZE): Promise<number> {
    // Bookings whose creation is in flight commit first, and are then found below.
    await awaitBookingsInFlight(this.deps.dataSource, showtimeId);
    let cancelled = 0;
    const failed: string[] = [];
    for (;;) {
      const due: { id: string }[] = await this.deps.dataSource.query(
        `SELECT id FROM bookings
          WHERE showtime_id = $1 AND status IN ('PENDING', 'CONFIRMED') AND id <> ALL($3::uuid[])
          ORDER BY created_at, id LIMIT $2`,
        [showtimeId, limit, failed],
      );
      if (due.length === 0) break;
      for (const { id } of due) {
        try {
          const done = await this.deps.dataSource.transaction(async (manager) => {
            const booking = await this.lockBooking(manager, id);
            return this.cancelForCancelledShowtime(manager, booking, SHOWTIME_CANCELLATION, null);
          });
          if (done !== false) {
            cancelled += 1;
            bookingsCounter.cancelled.inc();
          }
        } catch (err) {
          failed.push(id);
          this.deps.log?.warn(
            { err, bookingId: id, showtimeId },
            'could not cancel a booking of a cancelled showtime; the job will retry',
          );
        }
      }
      this.deps.notify();
    }
    await this.topUpEarlyCancellations(showtimeId);
    return cancelled;
  }

  /**
   * Bookings of a cancelled showtime that their customers cancelled themselves after the
   * cinema had (before this subgraph had heard of it: the event takes a moment, or longer in
   * an outage), and were refunded only by the policy: the rest of the amount paid is
   * refunded too (a SHOWTIME_CANCELLED refund of the difference), as if the cinema's
   * cancellation had come first, and the customer told. Once each (one such refund per
   * payment); bookings cancelled before the cinema's cancellation keep the policy's refund.
   */
  private async topUpEarlyCancellations(showtimeId: string): Promise<void> {
    const due: { id: string; policy_amount: number; policy_percent: number }[] =
      await this.deps.dataSource.query(
        `SELECT b.id, r.amount AS policy_amount, r.percent AS policy_percent
           FROM bookings b
           JOIN cancelled_showtimes c ON c.showtime_id = b.showtime_id
           JOIN refunds r ON r.booking_id = b.id AND r.kind = 'POLICY'
          WHERE b.showtime_id = $1 AND b.status = 'CANCELLED' AND b.cancelled_at >= c.cancelled_at
            AND r.amount < b.final_amount
            AND NOT EXISTS (SELECT 1 FROM refunds s
                             WHERE s.booking_id = b.id AND s.kind = 'SHOWTIME_CANCELLED')`,
        [showtimeId],
      );
    for (const { id, policy_amount, policy_percent } of due) {
      await this.deps.dataSource.transaction(async (manager) => {
        const booking = await this.lockBooking(manager, id);
        const refund = await grantRefund(manager, {
          booking,
          payment: await paidPaymentOf(manager, booking.id),
          kind: RefundKind.SHOWTIME_CANCELLED,
          amount: booking.finalAmount - Number(policy_amount),
          percent: 100 - Number(policy_percent),
          reason: `${SHOWTIME_CANCELLED_REASON}: the rest of the amount paid`,
          now: this.deps.clock(),
        });
        await this.tellShowtimeCancelled(manager, booking, refund);
      });
    }
  }

  /**
   * The job's pass: cancels what is left of the bookings of cancelled showtimes (a
   * cancellation that failed or was cut short, a booking that slipped past it), at most
   * `limit` showtimes. Returns how many bookings it cancelled.
   */
  async settleCancelledShowtimes(limit = JOB_BATCH_SIZE): Promise<number> {
    const showtimes: { showtime_id: string }[] = await this.deps.dataSource.query(
      `SELECT c.showtime_id FROM cancelled_showtimes c
        WHERE EXISTS (SELECT 1 FROM bookings b
                       WHERE b.showtime_id = c.showtime_id AND b.status IN ('PENDING', 'CONFIRMED'))
        ORDER BY c.recorded_at LIMIT $1`,
      [limit],
    );
    let cancelled = 0;
    for (const { showtime_id } of showtimes) {
      cancelled += await this.cancelForShowtime(showtime_id);
    }
    return cancelled;
  }

  /**
   * In the caller's transaction, with the booking locked: a PENDING or CONFIRMED booking of a
   * cancelled showtime is CANCELLED. Everything it held comes back (seats, promotion use,
   * stock, redeemed points), its tickets are cancelled, and its customer gets a
   * `showtime-cancelled` email. A CONFIRMED one is refunded in full (SHOWTIME_CANCELLED, 100%
   * whenever it was paid: the refund policy is for customers who change their mind), paid
   * back through VNPay by the refunds job. A PENDING one had nothing taken; a payment for it
   * that still comes is refunded whole as for any cancelled booking (`PaymentService`).
   * Returns the refund, or false when the booking was in neither state.
   */
  private async cancelForCancelledShowtime(
    manager: EntityManager,
    booking: Booking,
    actor: TransitionActor,
    note: string | null,
  ): Promise<Refund | null | false> {
    const paid = booking.status === BookingStatus.CONFIRMED;
    if (!paid && booking.status !== BookingStatus.PENDING) return false;
    const now = this.deps.clock();
    const reason = note ? `The cinema cancelled the showtime: ${note}` : SHOWTIME_CANCELLED_REASON;
    await this.release(manager, booking, BookingStatus.CANCELLED, actor, reason, now);
    const refund = paid
      ? await grantRefund(manager, {
          booking,
          payment: await paidPaymentOf(manager, booking.id),
          kind: RefundKind.SHOWTIME_CANCELLED,
          amount: booking.finalAmount,
          percent: 100,
          reason: SHOWTIME_CANCELLED_REASON,
          now,
        })
      : null;
    await this.tellShowtimeCancelled(manager, booking, refund);
    return refund;
  }

  /** The customer's `showtime-cancelled` email (once per booking), naming its refund if any. */
  private async tellShowtimeCancelled(
    manager: EntityManager,
    booking: Booking,
    refund: Refund | null,
  ): Promise<void> {
    await enqueueMail(manager, {
      kind: 'showtime-cancelled',
      userId: booking.userId,
      bookingId: booking.id,
      refundId: refund?.id ?? null,
      dedupeKey: `showtime-cancelled:${booking.id}`,
    });
  }

  /**
   * A payment failed (VNPay answered other than `00`): a PENDING booking is cancelled in the
   * caller's transaction, its seats released and everything it held given back. Anything
   * else is left as it is. Returns whether it cancelled the booking.
   */
  async cancelUnpaid(
    manager: EntityManager,
    bookingId: string,
    actor: TransitionActor,
    reason: string,
  ): Promise<boolean> {
    const booking = await this.lockBooking(manager, bookingId);
    if (booking.status !== BookingStatus.PENDING) return false;
    const now = this.deps.clock();
    await this.release(manager, booking, BookingStatus.CANCELLED, actor, reason, now, {
      paymentStatus: PaymentStatus.FAILED,
    });
    return true;
  }

  /**
   * A payment that arrived after the booking's time ran out (DESIGN.md invariant 7), in the
   * caller's transaction: a PENDING booking past its expiry, or an EXPIRED one. Everything
   * the booking held is taken again — for an EXPIRED one its promotion use, concession stock
   * and redeemed points (they were given back), and in every case its seats, through cinemas
   * (`retakeReservation`, which refuses when another booking has any of them) — and the
   * booking is CONFIRMED with its tickets issued again and `booking.confirmed` written.
   *
   * All or nothing: the local re-takes run under a savepoint, the call to cinemas last, so a
   * refusal anywhere rolls the re-takes back and the booking stays as it was; the caller then
   * refunds the payment. A refusal is returned as its code; anything else (cinemas
   * unreachable) is thrown, so the payment notification fails and VNPay delivers it again.
   * Seats re-taken by cinemas for a transaction that then fails to commit lapse on their own
   * (`LATE_RETAKE_MS` plus cinemas' grace): unavailable for minutes, never sold twice.
   */
  async confirmLate(
    manager: EntityManager,
    bookingId: string,
    options: { actor: TransitionActor; reason: string },
  ): Promise<{ confirmed: true } | { confirmed: false; refusal: string }> {
    const now = this.deps.clock();
    const booking = await this.lockBooking(manager, bookingId);
    if (booking.status !== BookingStatus.PENDING && booking.status !== BookingStatus.EXPIRED) {
      return { confirmed: false, refusal: `BOOKING_${booking.status}` };
    }
    const wasExpired = booking.status === BookingStatus.EXPIRED;
    await manager.query('SAVEPOINT late_payment');
    try {
      if (wasExpired) await this.takeBackHeld(manager, booking, now);
      await this.deps.cinemas.retakeReservation({
        bookingId: booking.id,
        showtimeId: booking.showtimeId,
        seatIds: await this.deps.tickets.seatIdsOf(manager, booking.id),
        expiresAt: new Date(now.getTime() + LATE_RETAKE_MS).toISOString(),
      });
    } catch (err) {
      await manager.query('ROLLBACK TO SAVEPOINT late_payment');
      const code = (err as { extensions?: { code?: unknown } }).extensions?.code;
      if (typeof code === 'string' && LATE_REFUSALS.has(code)) {
        return { confirmed: false, refusal: code };
      }
      throw err;
    }
    await manager.query('RELEASE SAVEPOINT late_payment');
    const promotionUse = booking.promotionUse;
    await this.move(manager, booking, BookingStatus.CONFIRMED, options.actor, options.reason, now, {
      paymentStatus: PaymentStatus.PAID,
      confirmedAt: now,
      expiresAt: null,
      ...(promotionUse === 'RESERVED' || (wasExpired && promotionUse === 'RETURNED')
        ? { promotionUse: 'FINAL' as const }
        : {}),
    });
    if (wasExpired) await this.deps.tickets.reissue(manager, booking.id, now);
    else await this.deps.tickets.issue(manager, booking.id, now);
    await this.event(manager, 'booking.confirmed', booking);
    return { confirmed: true };
  }

  /** An EXPIRED booking's promotion use, concession stock and points, taken again. */
  private async takeBackHeld(manager: EntityManager, booking: Booking, now: Date): Promise<void> {
    if (booking.promotionUse === 'RETURNED' && booking.promotionId) {
      await this.deps.promotions.retakeUse(manager, booking.promotionId, booking.userId);
    }
    await this.deps.concessions.retake(manager, booking.id);
    if (booking.pointsUsed > 0) {
      await this.deps.loyalty.redeem(manager, booking.userId, booking.pointsUsed, booking.id, now);
    }
  }

  /**
   * The expiry job's pass: PENDING bookings whose `expiresAt` is at or before `now` become
   * EXPIRED, oldest first, at most `limit`; their seats are released through
   * `booking.released`, what they held comes back. Returns how many it expired.
   */
  async expirePending(now: Date = this.deps.clock(), limit = JOB_BATCH_SIZE): Promise<number> {
    return this.eachDue(
      { status: BookingStatus.PENDING, column: 'expires_at', now, limit },
      (manager, booking) =>
        this.release(manager, booking, BookingStatus.EXPIRED, EXPIRY_JOB, 'Not paid in time', now),
      bookingsCounter.expired,
    );
  }

  /**
   * The completion job's pass: CONFIRMED bookings whose showtime ended at or before `now`
   * become COMPLETED, at most `limit`: points earned (`floor(finalAmount / 10,000)` plus a
   * POINTS promotion's bonus), the amount added to the total spent and the tier recomputed,
   * in the same transaction. Returns how many it completed.
   */
  async completeEnded(now: Date = this.deps.clock(), limit = JOB_BATCH_SIZE): Promise<number> {
    await this.backfillFacts(BookingStatus.CONFIRMED, limit);
    await this.learnCancellations(now, limit);
    return this.eachDue(
      // A booking of a cancelled showtime is never completed: it is being cancelled.
      { status: BookingStatus.CONFIRMED, column: 'ends_at', now, limit, played: true },
      async (manager, booking) => {
        await this.move(
          manager,
          booking,
          BookingStatus.COMPLETED,
          COMPLETION_JOB,
          'The showtime ended',
          now,
          {
            completedAt: now,
          },
        );
        await this.deps.loyalty.earn(manager, booking.userId, {
          points: pointsEarned(booking.finalAmount, booking.bonusPoints),
          amountSpent: booking.finalAmount,
          bookingId: booking.id,
          now,
        });
        await this.event(manager, 'booking.completed', booking);
      },
      bookingsCounter.completed,
    );
  }

  /**
   * Before completing bookings, their showtimes as cinemas has them: one cancelled whose
   * event has not reached this subgraph (its consumer down since before the showtime would
   * have ended) is recorded and its bookings cancelled and refunded, not completed. Cinemas
   * unreachable: this pass completes nothing (the job tries again; points come late, never
   * for a showtime that did not play).
   */
  private async learnCancellations(now: Date, limit: number): Promise<void> {
    const due: { showtime_id: string }[] = await this.deps.dataSource.query(
      `SELECT DISTINCT showtime_id FROM bookings
        WHERE status = 'CONFIRMED' AND ends_at <= $1 AND ${NOT_CANCELLED('bookings')}
        LIMIT $2`,
      [now, limit],
    );
    if (due.length === 0) return;
    const facts = await this.deps.cinemas.showtimeFacts(due.map((d) => d.showtime_id));
    for (const showtime of facts) {
      if (showtime.status !== 'CANCELLED') continue;
      await this.recordCancelledShowtime(showtime.id, now);
      await this.cancelForShowtime(showtime.id);
    }
  }

  /**
   * Runs `step` on each booking in `status` whose `column` time is due at `now`, oldest
   * first, each in a transaction of its own: the booking row is taken with `FOR UPDATE SKIP
   * LOCKED` and the condition checked again, so a booking another instance (or a customer's
   * cancellation) holds is skipped, not waited for, and one moved meanwhile is left alone.
   * One booking per transaction keeps the lock order of every other transaction (booking,
   * promotion, concessions, loyalty account): several bookings in one would take concession
   * and account locks in an order of their own and could deadlock with a CreateBooking.
   * Each booking moved is counted in `counted` once its transaction committed.
   */
  private async eachDue(
    due: {
      status: BookingStatus;
      column: 'expires_at' | 'ends_at';
      now: Date;
      limit: number;
      /** Only bookings of showtimes not cancelled. */
      played?: boolean;
    },
    step: (manager: EntityManager, booking: Booking) => Promise<void>,
    counted: CounterSeries,
  ): Promise<number> {
    const candidates: { id: string }[] = await this.deps.dataSource.query(
      `SELECT id FROM bookings WHERE status = $1 AND ${due.column} <= $2
          ${due.played ? `AND ${NOT_CANCELLED('bookings')}` : ''}
        ORDER BY ${due.column}, id LIMIT $3`,
      [due.status, due.now, due.limit],
    );
    let moved = 0;
    for (const { id } of candidates) {
      const one = await this.deps.dataSource.transaction(async (manager) => {
        const query = manager
          .getRepository(Booking)
          .createQueryBuilder('b')
          .where('b.id = :id', { id })
          .andWhere('b.status = :status', { status: due.status })
          .andWhere(`b.${due.column} <= :now`, { now: due.now });
        if (due.played) query.andWhere(NOT_CANCELLED('b'));
        const [booking] = await query
          .setLock('pessimistic_write')
          .setOnLocked('skip_locked')
          .getMany();
        if (!booking) return 0;
        await step(manager, booking);
        return 1;
      });
      moved += one;
      counted.inc(one);
    }
    if (moved > 0) this.deps.notify();
    return moved;
  }

  /**
   * The points expiry job's pass: every account whose next expiry is due at `now` gets one
   * EXPIRE entry of what has expired (at most `limit` accounts). Returns the points expired.
   */
  async expirePoints(now: Date = this.deps.clock(), limit = JOB_BATCH_SIZE): Promise<number> {
    return this.deps.dataSource.transaction(async (manager) => {
      const users = await this.deps.loyalty.lockDueForExpiry(manager, now, limit);
      let expired = 0;
      for (const userId of users)
        expired += await this.deps.loyalty.expireDue(manager, userId, now);
      return expired;
    });
  }

  /** When a booking's showtime starts and ends (from the booking, or cinemas for old rows). */
  async showtimeTimes(bookingId: string): Promise<{ startsAt: Date; endsAt: Date }> {
    const booking = await this.deps.dataSource
      .getRepository(Booking)
      .findOneByOrFail({ id: bookingId });
    await this.ensureFacts([booking]);
    if (!booking.startsAt || !booking.endsAt) {
      throw new Error(`Showtime ${booking.showtimeId} of booking ${booking.id} is unknown`);
    }
    return { startsAt: booking.startsAt, endsAt: booking.endsAt };
  }

  /**
   * Fills the showtime facts of bookings made before the engine kept them (the demo
   * bookings), from cinemas, and stores them so that it happens once.
   */
  async ensureFacts(bookings: Booking[]): Promise<void> {
    const missing = bookings.filter((b) => !b.startsAt || !b.endsAt);
    if (missing.length === 0) return;
    const facts = await this.deps.cinemas.showtimeFacts(missing.map((b) => b.showtimeId));
    const byId = new Map(facts.map((f) => [f.id, f]));
    for (const booking of missing) {
      const f = byId.get(booking.showtimeId);
      if (!f) continue;
      Object.assign(booking, {
        movieId: f.movieId,
        cinemaId: f.cinemaId,
        hallId: f.hallId,
        startsAt: new Date(f.startsAt),
        endsAt: new Date(f.endsAt),
      });
      await this.deps.dataSource.query(
        `UPDATE bookings SET movie_id = $2, cinema_id = $3, hall_id = $4, starts_at = $5, ends_at = $6
          WHERE id = $1 AND starts_at IS NULL`,
        [booking.id, f.movieId, f.cinemaId, f.hallId, booking.startsAt, booking.endsAt],
      );
    }
  }

  private async backfillFacts(status: BookingStatus, limit: number): Promise<void> {
    const rows = await this.deps.dataSource
      .getRepository(Booking)
      .find({ where: { status, endsAt: IsNull() }, take: limit });
    if (rows.length === 0) return;
    try {
      await this.ensureFacts(rows);
    } catch (err) {
      // Cinemas down: those bookings complete on a later pass; the others go on now.
      this.deps.log?.warn({ err }, 'could not fetch showtime facts; will retry');
    }
  }

  /** Whether the cinema cancelled the showtime (`recordCancelledShowtime`). */
  private async isCancelledShowtime(manager: EntityManager, showtimeId: string): Promise<boolean> {
    const rows: unknown[] = await manager.query(
      'SELECT 1 FROM cancelled_showtimes WHERE showtime_id = $1',
      [showtimeId],
    );
    return rows.length > 0;
  }

  /** A booking's row, locked for the rest of the transaction. */
  private async lockBooking(manager: EntityManager, bookingId: string): Promise<Booking> {
    const booking = await manager
      .getRepository(Booking)
      .createQueryBuilder('b')
      .where('b.id = :id', { id: bookingId })
      .setLock('pessimistic_write')
      .getOne();
    if (!booking) throw notFound('Booking', bookingId);
    return booking;
  }

  /**
   * PENDING or CONFIRMED → EXPIRED or CANCELLED, and everything the booking held comes back:
   * its promotion use, its concession stock, its redeemed points (a RETURN entry); its tickets
   * are cancelled and its seats released through `booking.released`.
   */
  private async release(
    manager: EntityManager,
    booking: Booking,
    to: BookingStatus.EXPIRED | BookingStatus.CANCELLED,
    actor: TransitionActor,
    reason: string | null,
    now: Date,
    extra: Settable = {},
  ): Promise<void> {
    const heldUse = booking.promotionUse === 'RESERVED' || booking.promotionUse === 'FINAL';
    await this.move(manager, booking, to, actor, reason, now, {
      ...(to === BookingStatus.CANCELLED ? { cancelledAt: now } : {}),
      ...(heldUse ? { promotionUse: 'RETURNED' as const } : {}),
      ...extra,
    });
    if (heldUse && booking.promotionId) {
      await this.deps.promotions.returnUse(manager, booking.promotionId, booking.userId);
    }
    await this.deps.concessions.giveBack(manager, booking.id);
    await this.deps.loyalty.giveBack(
      manager,
      booking.userId,
      booking.pointsUsed,
      booking.id,
      now,
      to === BookingStatus.EXPIRED
        ? 'Returned: the booking expired'
        : 'Returned: the booking was cancelled',
    );
    await this.deps.tickets.cancelAll(manager, booking.id);
    await this.event(manager, 'booking.released', booking);
  }

  /**
   * One transition: checked by the state machine, written with a conditional UPDATE, recorded
   * in the audit trail. `booking` is updated in place.
   */
  private async move(
    manager: EntityManager,
    booking: Booking,
    to: BookingStatus,
    actor: TransitionActor,
    reason: string | null | undefined,
    now: Date,
    set: Settable,
  ): Promise<void> {
    const record = recordTransition({
      bookingId: booking.id,
      from: booking.status,
      to,
      actor,
      reason,
      at: now,
    });
    const entries = Object.entries(set) as [keyof Settable, unknown][];
    const params: unknown[] = [booking.id, booking.status, to];
    const assignments = entries.map(([field, value]) => {
      params.push(value);
      return `${SETTABLE[field]} = $${params.length}`;
    });
    const moved = await changedRows(
      manager,
      `UPDATE bookings SET status = $3, ${[...assignments, 'updated_at = now()'].join(', ')}
        WHERE id = $1 AND status = $2
        RETURNING id`,
      params,
    );
    if (moved.length === 0) {
      // The row is locked by this transaction, so only a caller that skipped the lock lands
      // here: someone else moved the booking first.
      throw new DomainError(
        'INVALID_STATE_TRANSITION',
        `The booking is no longer ${booking.status}`,
        {
          reason: `${booking.status}_TO_${to}`,
        },
      );
    }
    await insertTransition(manager, record);
    Object.assign(booking, { status: to, ...set });
  }

  private async event(
    manager: EntityManager,
    type: 'booking.confirmed' | 'booking.released' | 'booking.completed',
    booking: Booking,
  ): Promise<void> {
    await appendBookingEvent(manager, type, {
      bookingId: booking.id,
      showtimeId: booking.showtimeId,
      seatIds: await this.deps.tickets.seatIdsOf(manager, booking.id),
      status: booking.status as BookingSeatsPayload['status'],
    });
  }
}

/** Writes one audit row (the creation is `from` null). */
export async function insertTransition(
  manager: EntityManager,
  record: Omit<TransitionRecord, 'from'> & { from: TransitionRecord['from'] | null },
): Promise<void> {
  const actorType = record.actor.kind === 'user' ? 'USER' : 'SERVICE';
  const actorId = record.actor.kind === 'user' ? record.actor.userId : record.actor.service;
  await manager.query(
    `INSERT INTO booking_transitions (booking_id, from_status, to_status, actor_type, actor_id, reason, at)
     VALUES ($1, $2, $3, $4, $5, $6, $7)`,
    [record.bookingId, record.from, record.to, actorType, actorId, record.reason, record.at],
  );
}

import { randomUUID } from 'node:crypto';
import type { DataSource, EntityManager } from 'typeorm';
import type { Logger } from '../../../../runtime/logger';
import type { Booking } from '../booking/booking.entity';
import { PaymentStatus } from '../booking/booking.entity';
import { enqueueMail } from '../mail/mail-outbox';
import { Refund, RefundKind, RefundStatus } from '../refund/refund.entity';
import { Payment, PaymentAttemptStatus, PaymentOutcome } from './payment.entity';
import {
  VnpayUnavailableError,
  type RefundRequest,
  type VnpayApiAnswer,
} from './vnpay/vnpay-protocol';

/** What the refunds job needs of VNPay (an interface, so tests can stand in for it). */
export interface VnpayRefunds {
  refund(request: RefundRequest): Promise<VnpayApiAnswer>;
}

/**
 * VNPay refund answers that will not change by asking again: the refund is FAILED and left to
 * staff (logged as an error). Anything else not `00` (`94` duplicate request, `99`, an
 * unreachable API) is retried with backoff.
 */
const DEFINITIVE_REFUSALS = new Set(['02', '03', '04', '91', '93', '95', '97']);

/** Refunds sent per pass at most. */
const REFUND_BATCH = 20;

/** Backoff between attempts: 30 s doubling, at most an hour. */
export const refundBackoffMs = (attempt: number): number =>
  Math.min(30_000 * 2 ** Math.max(0, attempt - 1), 3_600_000);

/** The payment that paid a booking (null for a booking confirmed without one: the demo data). */
export async function paidPaymentOf(
  manager: EntityManager,
  bookingId: string,
): Promise<Payment | null> {
  return manager.getRepository(Payment).findOne({
    where: [
      { bookingId, status: PaymentAttemptStatus.COMPLETED, outcome: PaymentOutcome.CONFIRMED },
      { bookingId, status: PaymentAttemptStatus.COMPLETED, outcome: PaymentOutcome.LATE_CONFIRMED },
    ],
    order: { paidAt: 'ASC' },
  });
}

/**
 * Records money to give back, in the caller's transaction: PENDING for the refunds job, which
 * sends it through VNPay's refund API (`02` for the whole payment, `03` for part of it).
 * Nothing to give back is COMPLETED at once; a booking paid without an online payment (the
 * demo bookings) cannot be refunded through VNPay: FAILED, for staff to settle by hand.
 * Granting the same refund twice (a replay) returns the first one.
 */
export async function grantRefund(
  manager: EntityManager,
  grant: {
    booking: Booking;
    payment: Payment | null;
    kind: RefundKind;
    amount: number;
    percent: number;
    reason: string | null;
    now: Date;
  },
): Promise<Refund> {
  const { booking, payment, amount, now } = grant;
  const repo = manager.getRepository(Refund);
  const existing = await repo.findOneBy(
    payment && grant.kind !== RefundKind.POLICY
      ? { paymentId: payment.id, kind: grant.kind }
      : { bookingId: booking.id, kind: grant.kind },
  );
  if (existing) return existing;
  const status =
    amount === 0 ? RefundStatus.COMPLETED : payment ? RefundStatus.PENDING : RefundStatus.FAILED;
  const refund = repo.create({
    id: randomUUID(),
    bookingId: booking.id,
    paymentId: payment?.id ?? null,
    kind: grant.kind,
    amount,
    percent: grant.percent,
    status,
    reason: grant.reason,
    createdAt: now,
    completedAt: status === RefundStatus.COMPLETED ? now : null,
    transactionType: payment ? (amount >= payment.amount ? '02' : '03') : null,
    requestId: null,
    attempts: 0,
    nextAttemptAt: status === RefundStatus.PENDING ? now : null,
    lastError:
      status === RefundStatus.FAILED ? 'No online payment on record: refund by hand' : null,
    vnpResponseCode: null,
    vnpMessage: null,
    vnpTransactionNo: null,
  });
  await repo.insert(refund);
  return refund;
}

export interface RefundServiceDeps {
  dataSource: DataSource;
  vnpay: VnpayRefunds;
  clock: () => Date;
  log?: Logger;
  /** Called after a pass completed refunds (their emails are in the mail outbox). */
  notifyMail?: () => void;
}

/**
 * The refunds job: sends PENDING refunds through VNPay's refund API and records each answer.
 * Each refund is sent inside a transaction that holds its row (`FOR UPDATE SKIP LOCKED`), so
 * instances running the job at once never send one twice; an answer that is not final, or no
 * answer, is retried with backoff under a new `vnp_RequestId` (VNPay wants each request's id
 * unique), and VNPay itself refuses to return more than was paid, so a retry after a lost
 * answer cannot pay back twice.
 */
export class RefundService {
  constructor(private readonly deps: RefundServiceDeps) {}

  /** Sends what is due at `now`; returns how many refunds it settled (completed or failed). */
  async processDue(now: Date = this.deps.clock(), limit = REFUND_BATCH): Promise<number> {
    const due: { id: string }[] = await this.deps.dataSource.query(
      `SELECT id FROM refunds WHERE status = 'PENDING' AND next_attempt_at <= $1
        ORDER BY next_attempt_at LIMIT $2`,
      [now, limit],
    );
    let settled = 0;
    let mailed = false;
    for (const { id } of due) {
      const outcome = await this.deps.dataSource.transaction(async (manager) => {
        const refund = await manager
          .getRepository(Refund)
          .createQueryBuilder('r')
          .where('r.id = :id', { id })
          .andWhere("r.status = 'PENDING'")
          .setLock('pessimistic_write')
          .setOnLocked('skip_locked')
          .getOne();
        if (!refund) return 'skipped' as const;
        return this.send(manager, refund, now);
      });
      if (outcome === 'completed' || outcome === 'failed') settled++;
      if (outcome === 'completed') mailed = true;
    }
    if (mailed) this.deps.notifyMail?.();
    return settled;
  }

  private async send(
    manager: EntityManager,
    refund: Refund,
    now: Date,
  ): Promise<'completed' | 'failed' | 'retry'> {
    const payment = refund.paymentId
      ? await manager.getRepository(Payment).findOneBy({ id: refund.paymentId })
      : null;
    if (!payment || !payment.vnpayTransactionNo) {
      await this.fail(manager, refund, 'No VNPay transaction to refund: refund by hand');
      return 'failed';
    }
    const attempt = refund.attempts + 1;
    const requestId = `${refund.id.replace(/-/g, '').slice(0, 28)}${String(attempt).padStart(4, '0')}`;
    let answer: VnpayApiAnswer;
    try {
      answer = await this.deps.vnpay.refund({
        requestId,
        txnRef: payment.transactionId,
        amountVnd: refund.amount,
        transactionType: refund.transactionType ?? '02',
        transactionNo: payment.vnpayTransactionNo,
        transactionDate: payment.createdAt,
        createBy: 'moviehub',
        createDate: now,
        ipAddr: '127.0.0.1',
        orderInfo: `Hoan tien ve xem phim ${payment.transactionId}`,
      });
    } catch (err) {
      const message = err instanceof VnpayUnavailableError ? err.message : String(err);
      if (refund.transactionType === '03' && !neverSent(err)) {
        // VNPay may have paid it back and the answer was lost. A whole refund cannot be paid
        // twice (VNPay refuses a second), but a partial one can: a second 50% would go
        // through. So a partial refund whose fate is unknown is left to staff.
        await manager.getRepository(Refund).update(refund.id, { requestId, attempts: attempt });
        await this.fail(
          manager,
          refund,
          `VNPay's answer was lost (${message}); check VNPay's merchant portal before paying it back`,
        );
        return 'failed';
      }
      await this.retryLater(manager, refund, attempt, requestId, now, message);
      this.deps.log?.warn({ err, refundId: refund.id }, 'VNPay refund failed; will retry');
      return 'retry';
    }
    const answered = {
      requestId,
      attempts: attempt,
      vnpResponseCode: answer.responseCode,
      vnpMessage: answer.message,
      vnpTransactionNo: answer.transactionNo,
    };
    if (answer.responseCode === '00') {
      await manager.getRepository(Refund).update(refund.id, {
        ...answered,
        status: RefundStatus.COMPLETED,
        completedAt: now,
        nextAttemptAt: null,
        lastError: null,
      });
      await this.markBooking(manager, refund);
      await enqueueMail(manager, {
        kind:
          refund.kind === RefundKind.POLICY
            ? 'refund-completed'
            : refund.kind === RefundKind.DUPLICATE_PAYMENT
              ? 'duplicate-payment-refunded'
              : 'late-payment-refunded',
        userId: payment.userId,
        bookingId: refund.bookingId,
        refundId: refund.id,
        dedupeKey: `refund:${refund.id}`,
      });
      this.deps.log?.info(
        { refundId: refund.id, amount: refund.amount, kind: refund.kind },
        'refund completed',
      );
      return 'completed';
    }
    if (DEFINITIVE_REFUSALS.has(answer.responseCode)) {
      await manager.getRepository(Refund).update(refund.id, answered);
      await this.fail(manager, refund, `VNPay refused: ${answer.responseCode} ${answer.message}`);
      return 'failed';
    }
    await this.retryLater(
      manager,
      refund,
      attempt,
      requestId,
      now,
      `VNPay answered ${answer.responseCode} ${answer.message}`,
      answered,
    );
    return 'retry';
  }

  private async retryLater(
    manager: EntityManager,
    refund: Refund,
    attempt: number,
    requestId: string,
    now: Date,
    error: string,
    answered: Partial<Refund> = {},
  ): Promise<void> {
    await manager.getRepository(Refund).update(refund.id, {
      ...answered,
      requestId,
      attempts: attempt,
      lastError: error.slice(0, 500),
      nextAttemptAt: new Date(now.getTime() + refundBackoffMs(attempt)),
    });
  }

  private async fail(manager: EntityManager, refund: Refund, error: string): Promise<void> {
    await manager.getRepository(Refund).update(refund.id, {
      status: RefundStatus.FAILED,
      lastError: error.slice(0, 500),
      nextAttemptAt: null,
    });
    this.deps.log?.error(
      { refundId: refund.id, bookingId: refund.bookingId, amount: refund.amount, error },
      'a refund could not be paid back through VNPay: settle it by hand',
    );
  }

  /** The booking's payment status once its money went back. */
  private async markBooking(manager: EntityManager, refund: Refund): Promise<void> {
    if (refund.kind === RefundKind.DUPLICATE_PAYMENT) return;
    const status =
      refund.kind === RefundKind.POLICY && refund.percent < 100
        ? PaymentStatus.PARTIALLY_REFUNDED
        : PaymentStatus.REFUNDED;
    // A late payment paid back while another attempt paid the booking (confirmed late
    // meanwhile) leaves it PAID: only a booking nobody paid for is marked refunded (a policy
    // refund's booking is CANCELLED).
    await manager.query(
      `UPDATE bookings SET payment_status = $2, updated_at = now()
        WHERE id = $1 AND status NOT IN ('CONFIRMED', 'COMPLETED')`,
      [refund.bookingId, status],
    );
  }
}

/** Whether a failed call certainly never reached VNPay (the connection was refused). */
function neverSent(err: unknown): boolean {
  let cause: unknown = err;
  for (let depth = 0; depth < 4 && cause; depth++) {
    const code = (cause as { code?: unknown }).code;
    if (code === 'ECONNREFUSED' || code === 'ENOTFOUND' || code === 'EAI_AGAIN') return true;
    cause = (cause as { cause?: unknown }).cause;
  }
  return false;
}

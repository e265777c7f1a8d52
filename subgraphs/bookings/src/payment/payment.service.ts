import { randomBytes, randomUUID } from 'node:crypto';
import type { DataSource, EntityManager } from 'typeorm';
import { AppError, notFound } from '../../../../runtime/errors';
import { clientIpOrNull } from '../../../../runtime/identity';
import type { Logger } from '../../../../runtime/logger';
import type { BookingLifecycle } from '../booking/booking-lifecycle.service';
import { Booking, BookingStatus, PaymentStatus } from '../booking/booking.entity';
import { bookingsCounter, countIpn, paymentsCounter } from '../bookings-metrics';
import type { TransitionActor } from '../domain/booking-state';
import { DomainError } from '../domain/errors';
import { enqueueMail } from '../mail/mail-outbox';
import { RefundKind } from '../refund/refund.entity';
import { Payment, PaymentAttemptStatus, PaymentMethod, PaymentOutcome } from './payment.entity';
import { grantRefund } from './refund.service';
import { parseVnpDate, verifyParams } from './vnpay/vnpay-signing';
import {
  buildPayUrl,
  readVnpQuery,
  VNPAY_MIN_AMOUNT_VND,
  type QueryDrRequest,
  type VnpayApiAnswer,
} from './vnpay/vnpay-protocol';

/** The payment flow as the audit trail names it. */
export const PAYMENTS: TransitionActor = { kind: 'service', service: 'payments' };

/** How long a pay URL works at most (never past the booking's own expiry). */
export const PAY_URL_TTL_MS = 15 * 60_000;

/** Attempts one booking may start at most: each is a pay URL someone could pay. */
export const MAX_ATTEMPTS_PER_BOOKING = 10;

/**
 * When the reconciliation first asks VNPay about an attempt with no IPN: 2 minutes after it
 * started, so that a payment whose IPN was lost still confirms the booking before it expires;
 * then every 2 minutes while the pay URL works.
 */
export const RECONCILE_FIRST_MS = 2 * 60_000;

/**
 * How long after a pay URL lapsed VNPay's "no such transaction" (`91`) is believed: the
 * attempt was never paid (EXPIRED).
 */
export const RECONCILE_AFTER_MS = 5 * 60_000;

/** The IPN answers VNPay understands (DESIGN.md section 4). */
export interface IpnAnswer {
  RspCode: '00' | '01' | '02' | '04' | '97' | '99';
  Message: string;
}
const ANSWER: Record<IpnAnswer['RspCode'], IpnAnswer> = {
  '00': { RspCode: '00', Message: 'Confirm Success' },
  '01': { RspCode: '01', Message: 'Order not found' },
  '02': { RspCode: '02', Message: 'Order already confirmed' },
  '04': { RspCode: '04', Message: 'Invalid amount' },
  '97': { RspCode: '97', Message: 'Invalid signature' },
  '99': { RspCode: '99', Message: 'Unknown error' },
};

/** What the browser's return from VNPay says, once its signature is checked. */
export interface ReturnAnswer {
  result: 'success' | 'failed' | 'invalid';
  bookingId: string | null;
  responseCode: string | null;
}

/** VNPay's word on one payment (from an IPN or a querydr answer). */
export interface VnpayVerdict {
  responseCode: string;
  transactionStatus: string;
  transactionNo: string | null;
  bankCode: string | null;
  payDate: string | null;
}

/** What the payment flow needs of VNPay's API (querydr). */
export interface VnpayQueries {
  queryDr(request: QueryDrRequest): Promise<VnpayApiAnswer>;
}

export interface PaymentServiceDeps {
  dataSource: DataSource;
  lifecycle: BookingLifecycle;
  vnpay: {
    tmnCode: string;
    hashSecret: string;
    payUrl: string;
    returnUrl: string;
    /** `vnp_IpAddr` of querydr, and of a payment whose customer's address is unknown. */
    serverIp: string;
  };
  api: VnpayQueries;
  clock: () => Date;
  log?: Logger;
  /** After a commit that wrote mail or refunds: wake the mail worker and the refunds job. */
  wake?: () => void;
}

/**
 * Payments through VNPay (DESIGN.md section 4):
 *
 * - `start`: a payment attempt (PENDING) for a PENDING booking, with its signed pay URL;
 * - `handleIpn`: VNPay's server-to-server notification, the only thing that settles a
 *   payment, checked in VNPay's order (97 signature, 01 order, 04 amount, 02 already
 *   settled) before anything is locked or written;
 * - `settle`: in ONE transaction, the payment and what it does to its booking — confirmed
 *   (tickets issued, promotion use and points made final, `booking.confirmed` for cinemas,
 *   the confirmation email), cancelled when the payment failed, confirmed late when the seats
 *   could be taken again, or refunded in full when the customer cannot get what they paid
 *   for (the booking expired and its seats were re-sold, was cancelled, or was already paid);
 * - `reconcile`: the job that asks VNPay (`querydr`) about attempts left without an IPN.
 *
 * The payment row is locked first (`FOR UPDATE`) and then the booking, in every path, so
 * concurrent deliveries of one IPN (VNPay retries; three at once) serialise on the payment:
 * the first settles it, the others find it settled and answer `02`.
 */
export class PaymentService {
  constructor(private readonly deps: PaymentServiceDeps) {}

  /**
   * StartPayment: a new attempt (its own `vnp_TxnRef`) for the caller's PENDING booking,
   * PENDING, with a pay URL that works until the booking expires (15 minutes at most).
   * `INVALID_STATE_TRANSITION` for a booking that is not PENDING or has expired,
   * `RATE_LIMITED` after {@link MAX_ATTEMPTS_PER_BOOKING} attempts. A booking that costs
   * nothing is confirmed at once (VNPay takes no zero amounts).
   */
  async start(
    bookingId: string,
    caller: { userId: string; ipAddr?: string | null; locale?: 'vn' | 'en' },
  ): Promise<Payment> {
    const now = this.deps.clock();
    const payment = await this.deps.dataSource.transaction(async (manager) => {
      const booking = await lockBooking(manager, bookingId);
      if (!booking || booking.userId !== caller.userId) throw notFound('Booking', bookingId);
      if (booking.status !== BookingStatus.PENDING) {
        throw new DomainError('INVALID_STATE_TRANSITION', `The booking is ${booking.status}`, {
          reason: `${booking.status}_TO_CONFIRMED`,
        });
      }
      if (!booking.expiresAt || booking.expiresAt.getTime() <= now.getTime() + 5_000) {
        throw new DomainError('INVALID_STATE_TRANSITION', 'The booking has expired', {
          reason: 'EXPIRED_TO_CONFIRMED',
        });
      }
      if (booking.finalAmount > 0 && booking.finalAmount < VNPAY_MIN_AMOUNT_VND) {
        throw new AppError(
          'BAD_USER_INPUT',
          `VNPay takes payments of ${VNPAY_MIN_AMOUNT_VND} VND or more; this booking costs ${booking.finalAmount} VND`,
          { field: 'bookingId' },
        );
      }
      const attempts = await manager.getRepository(Payment).countBy({ bookingId });
      if (attempts >= MAX_ATTEMPTS_PER_BOOKING) {
        throw new AppError('RATE_LIMITED', 'Too many payment attempts for this booking', {
          retryAfter: Math.ceil((booking.expiresAt.getTime() - now.getTime()) / 1000),
        });
      }
      const txnRef = `${booking.bookingCode}${attempts + 1}${randomBytes(3).toString('hex').toUpperCase()}`;
      const expiresAt = new Date(
        Math.min(now.getTime() + PAY_URL_TTL_MS, booking.expiresAt.getTime()),
      );
      // The customer's address for VNPay's fraud checks; without a valid one (a caller not
      // through the gateway), this server's.
      const ipAddr = clientIpOrNull(caller.ipAddr) ?? this.deps.vnpay.serverIp;
      const free = booking.finalAmount === 0;
      const row = manager.getRepository(Payment).create({
        id: randomUUID(),
        bookingId,
        userId: booking.userId,
        method: PaymentMethod.VNPAY,
        transactionId: txnRef,
        amount: booking.finalAmount,
        status: free ? PaymentAttemptStatus.COMPLETED : PaymentAttemptStatus.PENDING,
        outcome: free ? PaymentOutcome.CONFIRMED : null,
        paymentUrl: free
          ? ''
          : buildPayUrl({
              payUrl: this.deps.vnpay.payUrl,
              tmnCode: this.deps.vnpay.tmnCode,
              hashSecret: this.deps.vnpay.hashSecret,
              amountVnd: booking.finalAmount,
              txnRef,
              orderInfo: `Thanh toan ve xem phim ${booking.bookingCode}`,
              locale: caller.locale ?? 'vn',
              returnUrl: this.deps.vnpay.returnUrl,
              ipAddr,
              createdAt: now,
              expiresAt,
            }),
        ipAddr,
        expiresAt,
        createdAt: now,
        paidAt: free ? now : null,
        settledAt: free ? now : null,
        settledBy: null,
        vnpayTransactionNo: null,
        vnpResponseCode: null,
        vnpTransactionStatus: null,
        vnpBankCode: null,
        vnpPayDate: null,
        queryAttempts: 0,
        nextQueryAt: free ? null : new Date(now.getTime() + RECONCILE_FIRST_MS),
      });
      await manager.getRepository(Payment).insert(row);
      if (free) {
        await this.deps.lifecycle.confirmBooking(bookingId, {
          actor: PAYMENTS,
          reason: 'Nothing to pay',
          manager,
        });
        await this.confirmationMail(manager, booking);
      } else {
        await manager.query(
          `UPDATE bookings SET payment_status = $2, updated_at = now() WHERE id = $1`,
          [bookingId, PaymentStatus.PENDING],
        );
      }
      return row;
    });
    paymentsCounter.started.inc();
    if (payment.status === PaymentAttemptStatus.COMPLETED) {
      paymentsCounter.completed.inc();
      bookingsCounter.confirmed.inc();
      this.afterCommit();
    }
    return payment;
  }

  /**
   * `GET /payments/vnpay/ipn`. Nothing is read before the signature holds and nothing is
   * locked or written before the order and the amount match, so a forged or mistaken call
   * changes and blocks nothing. Errors become `99` (VNPay delivers again).
   */
  async handleIpn(query: unknown): Promise<IpnAnswer> {
    return countIpn(await this.answerIpn(query));
  }

  private async answerIpn(query: unknown): Promise<IpnAnswer> {
    const params = readVnpQuery(query);
    if (!params || !verifyParams(params, this.deps.vnpay.hashSecret)) return ANSWER['97'];
    try {
      if (params.vnp_TmnCode !== this.deps.vnpay.tmnCode) return ANSWER['01'];
      const txnRef = params.vnp_TxnRef;
      if (!txnRef) return ANSWER['01'];
      const payment = await this.deps.dataSource
        .getRepository(Payment)
        .findOneBy({ transactionId: txnRef });
      if (!payment) return ANSWER['01'];
      const amount = params.vnp_Amount;
      if (!amount || !/^\d{1,15}$/.test(amount) || Number(amount) !== payment.amount * 100) {
        return ANSWER['04'];
      }
      if (isSettled(payment.status)) return ANSWER['02'];
      return ANSWER[
        await this.settle(
          txnRef,
          {
            responseCode: params.vnp_ResponseCode ?? '',
            transactionStatus: params.vnp_TransactionStatus ?? '',
            transactionNo: params.vnp_TransactionNo ?? null,
            bankCode: params.vnp_BankCode ?? null,
            payDate: params.vnp_PayDate ?? null,
          },
          'IPN',
        )
      ];
    } catch (err) {
      this.deps.log?.error({ err, txnRef: params.vnp_TxnRef }, 'could not process a VNPay IPN');
      return ANSWER['99'];
    }
  }

  /**
   * `GET /payments/vnpay/return`: what to tell the browser. Checks the signature and reads;
   * never changes anything (only the IPN does).
   */
  async readReturn(query: unknown): Promise<ReturnAnswer> {
    const params = readVnpQuery(query);
    if (!params || !verifyParams(params, this.deps.vnpay.hashSecret)) {
      return { result: 'invalid', bookingId: null, responseCode: null };
    }
    const payment = params.vnp_TxnRef
      ? await this.deps.dataSource
          .getRepository(Payment)
          .findOneBy({ transactionId: params.vnp_TxnRef })
      : null;
    const paid = params.vnp_ResponseCode === '00' && params.vnp_TransactionStatus === '00';
    return {
      result: payment ? (paid ? 'success' : 'failed') : 'invalid',
      bookingId: payment?.bookingId ?? null,
      responseCode: params.vnp_ResponseCode ?? null,
    };
  }

  /**
   * Settles one payment on VNPay's word, in one transaction; returns the IPN code (`00`
   * settled now, `01` unknown, `02` settled before). See the class comment for the paths.
   */
  async settle(
    txnRef: string,
    verdict: VnpayVerdict,
    by: 'IPN' | 'QUERYDR',
  ): Promise<'00' | '01' | '02'> {
    const now = this.deps.clock();
    // What the transaction did, counted once it committed.
    let committed: { paid: boolean; booking?: 'confirmed' | 'cancelled' } | undefined;
    const code = await this.deps.dataSource.transaction(async (manager) => {
      const payment = await manager
        .getRepository(Payment)
        .createQueryBuilder('p')
        .where('p.txn_ref = :txnRef', { txnRef })
        .setLock('pessimistic_write')
        .getOne();
      if (!payment) return '01' as const;
      if (isSettled(payment.status)) return '02' as const;
      const booking = await lockBooking(manager, payment.bookingId);
      if (!booking) throw new Error(`Payment ${payment.id} has no booking`);
      const success = verdict.responseCode === '00' && verdict.transactionStatus === '00';
      const settled: Partial<Payment> = {
        settledAt: now,
        settledBy: by,
        vnpResponseCode: verdict.responseCode.slice(0, 10),
        vnpTransactionStatus: verdict.transactionStatus.slice(0, 10),
        vnpayTransactionNo: verdict.transactionNo?.slice(0, 40) ?? null,
        vnpBankCode: verdict.bankCode?.slice(0, 40) ?? null,
        vnpPayDate: verdict.payDate?.slice(0, 14) ?? null,
        nextQueryAt: null,
      };
      if (!success) {
        const cancelled = await this.deps.lifecycle.cancelUnpaid(
          manager,
          booking.id,
          PAYMENTS,
          `The payment failed (VNPay ${verdict.responseCode}/${verdict.transactionStatus})`,
        );
        if (cancelled) await this.cancellationMail(manager, booking);
        await manager.getRepository(Payment).update(payment.id, {
          ...settled,
          status: PaymentAttemptStatus.FAILED,
          outcome: cancelled ? PaymentOutcome.BOOKING_CANCELLED : null,
        });
        committed = { paid: false, booking: cancelled ? 'cancelled' : undefined };
        return '00' as const;
      }
      const paidAt = (verdict.payDate && parseVnpDate(verdict.payDate)) || now;
      const outcome = await this.applyPaid(manager, booking, payment, now);
      await manager.getRepository(Payment).update(payment.id, {
        ...settled,
        status: PaymentAttemptStatus.COMPLETED,
        paidAt,
        outcome,
      });
      const confirmed =
        outcome === PaymentOutcome.CONFIRMED || outcome === PaymentOutcome.LATE_CONFIRMED;
      committed = { paid: true, booking: confirmed ? 'confirmed' : undefined };
      // The refund (if any) needs VNPay's transaction number, set just above.
      return '00' as const;
    });
    if (committed) {
      (committed.paid ? paymentsCounter.completed : paymentsCounter.failed).inc();
      if (committed.booking) bookingsCounter[committed.booking].inc();
    }
    if (code === '00') this.afterCommit();
    return code;
  }

  /** What a successful payment does to its (locked) booking. */
  private async applyPaid(
    manager: EntityManager,
    booking: Booking,
    payment: Payment,
    now: Date,
  ): Promise<PaymentOutcome> {
    const inTime = booking.expiresAt !== null && now.getTime() < booking.expiresAt.getTime();
    if (booking.status === BookingStatus.PENDING && inTime) {
      await this.deps.lifecycle.confirmBooking(booking.id, {
        actor: PAYMENTS,
        reason: `Paid: VNPay ${payment.transactionId}`,
        manager,
      });
      await this.confirmationMail(manager, booking);
      return PaymentOutcome.CONFIRMED;
    }
    if (booking.status === BookingStatus.PENDING || booking.status === BookingStatus.EXPIRED) {
      const late = await this.deps.lifecycle.confirmLate(manager, booking.id, {
        actor: PAYMENTS,
        reason: `Paid after the booking expired: VNPay ${payment.transactionId}`,
      });
      if (late.confirmed) {
        await this.confirmationMail(manager, booking);
        return PaymentOutcome.LATE_CONFIRMED;
      }
      this.deps.log?.warn(
        { bookingId: booking.id, txnRef: payment.transactionId, refusal: late.refusal },
        'a payment came after its booking expired and could not be honoured: refunding it',
      );
      await this.refundWhole(manager, booking, payment, RefundKind.LATE_PAYMENT, late.refusal, now);
      return PaymentOutcome.REFUNDED_LATE;
    }
    if (booking.status === BookingStatus.CONFIRMED || booking.status === BookingStatus.COMPLETED) {
      await this.refundWhole(
        manager,
        booking,
        payment,
        RefundKind.DUPLICATE_PAYMENT,
        'The booking was already paid',
        now,
      );
      return PaymentOutcome.REFUNDED_DUPLICATE;
    }
    // CANCELLED meanwhile (by the customer, or an earlier failed attempt).
    await this.refundWhole(
      manager,
      booking,
      payment,
      RefundKind.LATE_PAYMENT,
      'BOOKING_CANCELLED',
      now,
    );
    return PaymentOutcome.REFUNDED_LATE;
  }

  private async refundWhole(
    manager: EntityManager,
    booking: Booking,
    payment: Payment,
    kind: RefundKind,
    why: string,
    now: Date,
  ): Promise<void> {
    // The row as the refund will read it: settled with VNPay's transaction number.
    await grantRefund(manager, {
      booking,
      payment,
      kind,
      amount: payment.amount,
      percent: 100,
      reason: why,
      now,
    });
  }

  /**
   * The reconciliation job's pass: PENDING attempts with no IPN are asked about (`querydr`,
   * from {@link RECONCILE_FIRST_MS} after they started) and settled on the answer. VNPay not
   * knowing the transaction (`91`) means it was never paid (EXPIRED) once the pay URL lapsed
   * {@link RECONCILE_AFTER_MS} ago; before that the customer may still be paying. No answer,
   * or "still processing", asks again: every 2 minutes while the pay URL works, then with
   * backoff. Returns how many it settled.
   */
  async reconcile(now: Date = this.deps.clock(), limit = 20): Promise<number> {
    const due = await this.deps.dataSource.query<Array<{ id: string }>>(
      `SELECT id FROM payments WHERE status = 'PENDING' AND next_query_at <= $1
        ORDER BY next_query_at LIMIT $2`,
      [now, limit],
    );
    let settled = 0;
    for (const { id } of due) {
      const payment = await this.deps.dataSource.getRepository(Payment).findOneBy({ id });
      if (!payment || payment.status !== PaymentAttemptStatus.PENDING) continue;
      let answer: VnpayApiAnswer | null = null;
      try {
        answer = await this.deps.api.queryDr({
          requestId: `${payment.id.replace(/-/g, '').slice(0, 24)}Q${String(payment.queryAttempts + 1).padStart(7, '0')}`,
          txnRef: payment.transactionId,
          transactionDate: payment.createdAt,
          createDate: now,
          ipAddr: this.deps.vnpay.serverIp,
          orderInfo: `Truy van giao dich ${payment.transactionId}`,
        });
      } catch (err) {
        this.deps.log?.warn({ err, paymentId: payment.id }, 'VNPay querydr failed; will retry');
      }
      if (answer?.responseCode === '00' && answer.transactionStatus !== '01') {
        if (answer.amountVnd !== null && answer.amountVnd !== payment.amount) {
          this.deps.log?.error(
            { paymentId: payment.id, amount: answer.amountVnd, expected: payment.amount },
            'VNPay reports another amount for this payment: left for staff',
          );
          // Said once: asking again would only say it again.
          await this.deps.dataSource.query(
            `UPDATE payments SET next_query_at = NULL WHERE id = $1 AND status = 'PENDING'`,
            [payment.id],
          );
          continue;
        } else {
          const code = await this.settle(
            payment.transactionId,
            {
              responseCode:
                answer.transactionStatus === '00' ? '00' : (answer.transactionStatus ?? '99'),
              transactionStatus: answer.transactionStatus ?? '',
              transactionNo: answer.transactionNo,
              bankCode: answer.raw.vnp_BankCode ?? null,
              payDate: answer.raw.vnp_PayDate ?? null,
            },
            'QUERYDR',
          );
          if (code === '00') settled++;
          continue;
        }
      }
      const lapsed = now.getTime() >= payment.expiresAt.getTime() + RECONCILE_AFTER_MS;
      if (answer?.responseCode === '91' && lapsed) {
        const expired = await this.deps.dataSource.query<[unknown[], number]>(
          `UPDATE payments SET status = 'EXPIRED', settled_at = $2, settled_by = 'QUERYDR',
                  vnp_response_code = '91', next_query_at = NULL
            WHERE id = $1 AND status = 'PENDING' RETURNING id`,
          [payment.id, now],
        );
        if (expired[0].length > 0) {
          settled++;
          paymentsCounter.expired.inc();
        }
        continue;
      }
      const attempts = payment.queryAttempts + 1;
      // While the pay URL works the customer may be paying now: ask again soon. After, back off.
      const next =
        now.getTime() < payment.expiresAt.getTime()
          ? now.getTime() + RECONCILE_FIRST_MS
          : now.getTime() + Math.min(60_000 * 2 ** attempts, 3_600_000);
      await this.deps.dataSource.query(
        `UPDATE payments SET query_attempts = $2, next_query_at = $3
          WHERE id = $1 AND status = 'PENDING'`,
        [payment.id, attempts, new Date(next)],
      );
    }
    return settled;
  }

  /** The latest attempt of each booking (for `Booking.payment`). */
  async latestOf(bookingIds: readonly string[]): Promise<(Payment | null)[]> {
    const rows = await this.deps.dataSource.query<Array<{ id: string }>>(
      `SELECT DISTINCT ON (booking_id) id FROM payments WHERE booking_id = ANY($1::uuid[])
        ORDER BY booking_id, (status = 'COMPLETED' AND outcome IN ('CONFIRMED', 'LATE_CONFIRMED')) DESC,
                 created_at DESC`,
      [[...bookingIds]],
    );
    const payments = rows.length
      ? await this.deps.dataSource.getRepository(Payment).findByIds(rows.map((r) => r.id))
      : [];
    const byBooking = new Map(payments.map((p) => [p.bookingId, p]));
    return bookingIds.map((id) => byBooking.get(id) ?? null);
  }

  private async confirmationMail(manager: EntityManager, booking: Booking): Promise<void> {
    await enqueueMail(manager, {
      kind: 'booking-confirmed',
      userId: booking.userId,
      bookingId: booking.id,
      dedupeKey: `booking-confirmed:${booking.id}`,
    });
  }

  private async cancellationMail(manager: EntityManager, booking: Booking): Promise<void> {
    await enqueueMail(manager, {
      kind: 'booking-cancelled',
      userId: booking.userId,
      bookingId: booking.id,
      dedupeKey: `booking-cancelled:${booking.id}`,
    });
  }

  private afterCommit(): void {
    this.deps.lifecycle.notifyRelay();
    this.deps.wake?.();
  }
}

const isSettled = (status: PaymentAttemptStatus) =>
  status === PaymentAttemptStatus.COMPLETED || status === PaymentAttemptStatus.FAILED;

/** The booking row, locked for the rest of the transaction (null when there is none). */
async function lockBooking(manager: EntityManager, bookingId: string): Promise<Booking | null> {
  return manager
    .getRepository(Booking)
    .createQueryBuilder('b')
    .where('b.id = :id', { id: bookingId })
    .setLock('pessimistic_write')
    .getOne();
}

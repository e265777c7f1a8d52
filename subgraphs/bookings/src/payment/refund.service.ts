import { randomUUID } from 'node:crypto';
import type { DataSource, EntityManager } from 'typeorm';
import type { Logger } from '../../../../runtime/logger';
import type { Booking } from '../booking/booking.entity';
import { PaymentStatus } from '../booking/booking.entity';
import { enqueueMail, type MailKind } from '../mail/mail-outbox';
import { Refund, RefundKind, RefundStatus } from '../refund/refund.entity';
import { Payment, PaymentAttemptStatus, PaymentOutcome } from './payment.entity';
import {
  VnpayUnavailableError,
  type QueryDrRequest,
  type RefundRequest,
  type VnpayApiAnswer,
} from './vnpay/vnpay-protocol';

/**
 * What the refunds job needs of VNPay (an interface, so tests can stand in for it): the refund
 * API, and querydr to learn what became of a refund whose answer was lost.
 */
export interface VnpayRefunds {
  refund(request: RefundRequest): Promise<VnpayApiAnswer>;
  queryDr(request: QueryDrRequest): Promise<VnpayApiAnswer>;
}

/**
 * VNPay refund answers that will not change by asking again: the refund is FAILED and left to
 * staff (logged as an error). A request that certainly never left (connection refused) is
 * retried with backoff. Anything else not `00` — no answer, an unreadable one, `94` (a refund
 * of it is already being processed), `99` (unknown error) — leaves the refund IN DOUBT: VNPay
 * may have paid it back, so it is never sent again before querydr says it was not.
 */
const DEFINITIVE_REFUSALS = new Set(['02', '03', '04', '91', '93', '95', '97']);

/** The first querydr about a refund in doubt: a minute after the unanswered request. */
export const IN_DOUBT_FIRST_QUERY_MS = 60_000;

/**
 * How long after the unanswered request VNPay must go on showing no refund of the payment
 * before we believe it never made one and send it again: VNPay records a refund it accepted
 * at once, but an answer held up in its queue could still land in the first minutes.
 */
export const IN_DOUBT_SETTLE_AFTER_MS = 5 * 60_000;

/** Between querydr calls about one refund: a minute doubling, at most an hour. */
export const inDoubtBackoffMs = (queries: number): number =>
  Math.min(60_000 * 2 ** Math.max(0, queries - 1), 3_600_000);

/**
 * querydr's `vnp_TransactionStatus` for a refund VNPay accepted: `00` paid back, `05` VNPay is
 * processing it, `06` sent to the bank. `09`: VNPay rejected the refund.
 */
const REFUND_ACCEPTED = new Set(['00', '05', '06']);
const REFUND_REJECTED = '09';

/** What querydr says of a refund in doubt (see {@link readRefundQuery}). */
export type RefundQueryVerdict =
  | { kind: 'refunded' }
  | { kind: 'rejected' }
  | { kind: 'not-refunded' }
  | { kind: 'other-refund'; transactionType: string }
  | { kind: 'unknown'; why: string };

/**
 * Reads VNPay's querydr answer about the payment a refund in doubt returns money from.
 * querydr reports the payment's latest transaction at VNPay: `vnp_TransactionType` `01` (the
 * payment itself: nothing was refunded), `02` a full refund, `03` a partial one, with its
 * `vnp_TransactionStatus`. A refund of another type than ours is not ours to settle (a refund
 * made by hand in VNPay's merchant portal): it is left to staff.
 */
export function readRefundQuery(
  answer: VnpayApiAnswer,
  transactionType: '02' | '03',
): RefundQueryVerdict {
  if (answer.responseCode !== '00') {
    return { kind: 'unknown', why: `VNPay answered ${answer.responseCode} ${answer.message}` };
  }
  const type = answer.raw.vnp_TransactionType ?? '';
  const status = answer.transactionStatus ?? '';
  if (type === '02' || type === '03') {
    if (type !== transactionType) return { kind: 'other-refund', transactionType: type };
    if (REFUND_ACCEPTED.has(status)) return { kind: 'refunded' };
    if (status === REFUND_REJECTED) return { kind: 'rejected' };
    return { kind: 'unknown', why: `VNPay reports refund status ${status || 'none'}` };
  }
  if (type === '01' && status === '00') return { kind: 'not-refunded' };
  return {
    kind: 'unknown',
    why: `VNPay reports transaction ${type || 'none'} with status ${status || 'none'}`,
  };
}

/** Refunds sent per pass at most. */
const REFUND_BATCH = 20;

/**
 * How long a refund whose handling threw (the database failed under it, or a bug) is set aside
 * before a pass takes it up again: it must not stay first in line and stop the refunds behind
 * it on every pass, nor fill the log every two seconds.
 */
export const REFUND_FAULT_RETRY_MS = 5 * 60_000;

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

/** The email that tells a customer their refund of each kind was paid back. */
const REFUNDED_MAIL: Record<RefundKind, MailKind> = {
  [RefundKind.POLICY]: 'refund-completed',
  // "We have refunded X (100% of the amount paid) for your cancelled booking."
  [RefundKind.SHOWTIME_CANCELLED]: 'refund-completed',
  [RefundKind.LATE_PAYMENT]: 'late-payment-refunded',
  [RefundKind.DUPLICATE_PAYMENT]: 'duplicate-payment-refunded',
};

export interface RefundServiceDeps {
  dataSource: DataSource;
  vnpay: VnpayRefunds;
  /** `vnp_IpAddr` of the refund and querydr calls: this server's address. */
  serverIp: string;
  clock: () => Date;
  log?: Logger;
  /** Called after a pass completed refunds (their emails are in the mail outbox). */
  notifyMail?: () => void;
}

/**
 * The refunds job and the refund reconciliation.
 *
 * `processDue` sends PENDING refunds through VNPay's refund API and records each answer, in
 * three steps. (1) CLAIM, in a transaction of its own that holds the row (`FOR UPDATE SKIP
 * LOCKED`, due and not in doubt checked under the lock) and commits before anything is sent:
 * the refund is marked IN DOUBT with the `vnp_RequestId` it is about to be sent with, so
 * instances running the job at once never send one twice. (2) SEND, holding no transaction.
 * (3) RECORD the answer, in another transaction, only if the row is still the one claimed.
 * `00` completes it, a definitive refusal fails it, a request that never left (connection
 * refused) is no longer in doubt and is retried with backoff under a new `vnp_RequestId`
 * (VNPay wants each request's id unique). Any other outcome — no answer, an unreadable one,
 * `94`, `99` — leaves it PENDING and in doubt: VNPay may have paid it back, and sending it
 * again could pay a partial refund twice, or see a whole one refused as "already refunded"
 * and fail a refund the customer got. Because the mark is committed first, a crash, a dropped
 * connection or a failed write anywhere after it also leaves the refund in doubt: it is
 * settled by querydr, never sent again blindly.
 *
 * `reconcile` settles refunds in doubt by asking VNPay (querydr), as `PaymentService.reconcile`
 * does for payments whose IPN never came.
 *
 *   PENDING ──claim──▶ in doubt ──send──▶ COMPLETED (00) | FAILED (refused for good)
 *                   | PENDING, sent again after backoff (the request never left)
 *                   | in doubt (no answer, unreadable, 94, 99, or nothing recorded): never sent
 *   in doubt ──querydr──▶ COMPLETED (VNPay shows our refund: 00/05/06)
 *                   | FAILED (VNPay rejected it: 09)
 *                   | PENDING, sent again (VNPay showed no refund for 5 minutes)
 *                   | in doubt, asked again with backoff (no answer, unclear)
 *                   | in doubt, left to staff (VNPay shows another refund, or no payment)
 *
 * One refund whose handling throws never ends a pass: it is logged and set aside for
 * {@link REFUND_FAULT_RETRY_MS}, and the pass goes on to the next.
 */
export class RefundService {
  constructor(private readonly deps: RefundServiceDeps) {}

  /** Sends what is due at `now`; returns how many refunds it settled (completed or failed). */
  async processDue(now: Date = this.deps.clock(), limit = REFUND_BATCH): Promise<number> {
    return this.settleDue('r.in_doubt_since IS NULL', now, limit, (id) => this.send(id, now));
  }

  /**
   * Each PENDING refund matching `condition` (SQL over `r`) and due at `now`, oldest first,
   * handed to `handle`, which takes its row under a lock and checks it again (another instance
   * may have just taken it); one mail wake-up for all. A refund whose handling throws is
   * logged and set aside ({@link REFUND_FAULT_RETRY_MS}); the pass goes on.
   */
  private async settleDue(
    condition: string,
    now: Date,
    limit: number,
    handle: (id: string) => Promise<string>,
  ): Promise<number> {
    const due: { id: string }[] = await this.deps.dataSource.query(
      `SELECT id FROM refunds r
        WHERE status = 'PENDING' AND ${condition} AND next_attempt_at <= $1
        ORDER BY next_attempt_at LIMIT $2`,
      [now, limit],
    );
    let settled = 0;
    let mailed = false;
    for (const { id } of due) {
      let outcome: string;
      try {
        outcome = await handle(id);
      } catch (err) {
        outcome = 'fault';
        await this.setAside(id, now, err);
      }
      if (outcome === 'completed' || outcome === 'failed') settled++;
      if (outcome === 'completed') mailed = true;
    }
    if (mailed) this.deps.notifyMail?.();
    return settled;
  }

  /** Claims the refund, sends it, records the answer (see the class comment). */
  private async send(
    id: string,
    now: Date,
  ): Promise<'completed' | 'failed' | 'retry' | 'in-doubt' | 'skipped'> {
    const claim = await this.claim(id, now);
    if (typeof claim === 'string') return claim;
    const { payment, requestId, transactionNo } = claim;
    let answer: VnpayApiAnswer | null = null;
    let failure: unknown = null;
    try {
      answer = await this.deps.vnpay.refund({
        requestId,
        txnRef: payment.transactionId,
        amountVnd: claim.refund.amount,
        transactionType: claim.refund.transactionType ?? '02',
        transactionNo,
        transactionDate: payment.createdAt,
        createBy: 'moviehub',
        createDate: now,
        ipAddr: this.deps.serverIp,
        orderInfo: `Hoan tien ve xem phim ${payment.transactionId}`,
      });
    } catch (err) {
      failure = err;
    }
    return this.deps.dataSource.transaction(async (manager) => {
      // Still PENDING and in doubt under the request id claimed: the reconciliation may have
      // settled it meanwhile (an answer slower than its first querydr), and then this answer
      // has nothing left to decide. Waits for the row rather than skipping it, so a querydr
      // in flight does not leave this answer unrecorded.
      const refund = await manager
        .getRepository(Refund)
        .createQueryBuilder('r')
        .where('r.id = :id', { id, requestId })
        .andWhere("r.status = 'PENDING'")
        .andWhere('r.request_id = :requestId')
        .andWhere('r.in_doubt_since IS NOT NULL')
        .setLock('pessimistic_write')
        .getOne();
      if (!refund) return 'skipped';
      return answer
        ? this.recordAnswer(manager, refund, payment, claim.attempt, requestId, now, answer)
        : this.recordFailure(manager, refund, claim.attempt, requestId, now, failure);
    });
  }

  /**
   * Step 1 of sending: in a transaction of its own, committed before the request goes out,
   * the refund (locked, still due and not in doubt) is marked in doubt with the request id it
   * will be sent with. A refund without a VNPay transaction to refund is FAILED instead.
   * Returns what to send, or why nothing is.
   */
  private claim(
    id: string,
    now: Date,
  ): Promise<
    | {
        refund: Refund;
        payment: Payment;
        transactionNo: string;
        attempt: number;
        requestId: string;
      }
    | 'skipped'
    | 'failed'
  > {
    return this.deps.dataSource.transaction(async (manager) => {
      const refund = await lockRefund(
        manager,
        id,
        'r.in_doubt_since IS NULL AND r.next_attempt_at <= :now',
        now,
      );
      if (!refund) return 'skipped';
      const payment = refund.paymentId
        ? await manager.getRepository(Payment).findOneBy({ id: refund.paymentId })
        : null;
      if (!payment || !payment.vnpayTransactionNo) {
        await this.fail(manager, refund, 'No VNPay transaction to refund: refund by hand');
        return 'failed';
      }
      const attempt = refund.attempts + 1;
      const requestId = `${refund.id.replace(/-/g, '').slice(0, 28)}${String(attempt).padStart(4, '0')}`;
      // From here until its answer is recorded the refund is in doubt: if nothing is ever
      // recorded (the process dies, the connection drops, the write fails), the
      // reconciliation asks VNPay about it at next_attempt_at instead of it being sent again.
      await manager.query(
        `UPDATE refunds
            SET in_doubt_since = $2, queries = 0, request_id = $3, attempts = $4,
                next_attempt_at = $5, last_error = $6
          WHERE id = $1`,
        [
          refund.id,
          now,
          requestId,
          attempt,
          new Date(now.getTime() + IN_DOUBT_FIRST_QUERY_MS),
          'In doubt: sent to VNPay, no answer recorded yet',
        ],
      );
      return { refund, payment, transactionNo: payment.vnpayTransactionNo, attempt, requestId };
    });
  }

  /** Step 3 of sending, VNPay having answered: in the transaction that holds the row. */
  private async recordAnswer(
    manager: EntityManager,
    refund: Refund,
    payment: Payment,
    attempt: number,
    requestId: string,
    now: Date,
    answer: VnpayApiAnswer,
  ): Promise<'completed' | 'failed' | 'in-doubt'> {
    const answered = {
      requestId,
      attempts: attempt,
      vnpResponseCode: answer.responseCode,
      vnpMessage: answer.message,
      vnpTransactionNo: answer.transactionNo,
    };
    if (answer.responseCode === '00') {
      await this.complete(manager, refund, payment, now, answered);
      await this.leaveDoubt(manager, refund, 0);
      return 'completed';
    }
    if (DEFINITIVE_REFUSALS.has(answer.responseCode)) {
      await manager.getRepository(Refund).update(refund.id, answered);
      await this.leaveDoubt(manager, refund, 0);
      await this.fail(manager, refund, `VNPay refused: ${answer.responseCode} ${answer.message}`);
      return 'failed';
    }
    await this.markInDoubt(
      manager,
      refund,
      requestId,
      now,
      `VNPay answered ${answer.responseCode} ${answer.message}`,
      answered,
    );
    return 'in-doubt';
  }

  /** Step 3 of sending, the call having thrown: in the transaction that holds the row. */
  private async recordFailure(
    manager: EntityManager,
    refund: Refund,
    attempt: number,
    requestId: string,
    now: Date,
    err: unknown,
  ): Promise<'retry' | 'in-doubt'> {
    const message = err instanceof VnpayUnavailableError ? err.message : String(err);
    if (!neverSent(err)) {
      // VNPay may have paid it back and the answer was lost. Sending it again could pay it
      // back twice (a partial refund) or be refused as already refunded and end FAILED
      // while the customer has the money (a whole one): only querydr can tell.
      await this.markInDoubt(manager, refund, requestId, now, message);
      return 'in-doubt';
    }
    await this.leaveDoubt(manager, refund, 0);
    await this.retryLater(manager, refund, attempt, requestId, now, message);
    this.deps.log?.warn({ err, refundId: refund.id }, 'VNPay refund failed; will retry');
    return 'retry';
  }

  /**
   * A refund whose handling threw: logged, and not due again for
   * {@link REFUND_FAULT_RETRY_MS}, so it does not head every pass and stop those behind it.
   * Nothing else of it changes: one claimed for sending stays in doubt.
   */
  private async setAside(id: string, now: Date, err: unknown): Promise<void> {
    this.deps.log?.error(
      { err, refundId: id },
      'handling a refund failed; set aside, the pass goes on to the next',
    );
    try {
      await this.deps.dataSource.query(
        `UPDATE refunds
            SET next_attempt_at = GREATEST(next_attempt_at, $2),
                last_error = left(CASE WHEN in_doubt_since IS NULL THEN $3
                                       ELSE 'In doubt: ' || $3 END, 500)
          WHERE id = $1 AND status = 'PENDING' AND next_attempt_at IS NOT NULL`,
        [id, new Date(now.getTime() + REFUND_FAULT_RETRY_MS), String(err)],
      );
    } catch (again) {
      // The database itself is failing: the next pass finds the refund as it was.
      this.deps.log?.error({ err: again, refundId: id }, 'could not set a refund aside');
    }
  }

  /**
   * The refund reconciliation's pass: refunds in doubt that are due are asked about through
   * querydr, each inside a transaction that holds its row (`FOR UPDATE SKIP LOCKED`, due and
   * in doubt checked again under the lock), so instances running the pass at once ask and
   * settle each one once. VNPay shows our refund → COMPLETED (booking, email, as an answered
   * refund); shows it rejected → FAILED; has shown no refund for
   * {@link IN_DOUBT_SETTLE_AFTER_MS} → no longer in doubt, due to be sent again (a new
   * `vnp_RequestId`); anything else (no answer, still unclear) → asked again with backoff.
   * Returns how many it settled (completed or failed).
   */
  async reconcile(now: Date = this.deps.clock(), limit = REFUND_BATCH): Promise<number> {
    return this.settleDue('r.in_doubt_since IS NOT NULL', now, limit, (id) =>
      this.deps.dataSource.transaction(async (manager) => {
        const refund = await lockRefund(
          manager,
          id,
          'r.in_doubt_since IS NOT NULL AND r.next_attempt_at <= :now',
          now,
        );
        return refund ? this.settleInDoubt(manager, refund, now) : 'skipped';
      }),
    );
  }

  private async settleInDoubt(
    manager: EntityManager,
    refund: Refund,
    now: Date,
  ): Promise<'completed' | 'failed' | 'resend' | 'ask-again' | 'left'> {
    const [{ in_doubt_since: since, queries: asked }] = await manager.query<
      { in_doubt_since: Date; queries: number }[]
    >('SELECT in_doubt_since, queries FROM refunds WHERE id = $1', [refund.id]);
    const payment = refund.paymentId
      ? await manager.getRepository(Payment).findOneBy({ id: refund.paymentId })
      : null;
    if (!payment) {
      // Nothing to ask querydr about (its payment link was removed by hand): asking again
      // would not change that. Stays in doubt (never sent again), no longer due.
      await manager.query(
        `UPDATE refunds SET next_attempt_at = NULL, last_error = $2 WHERE id = $1`,
        [refund.id, 'In doubt, with no payment on record to ask VNPay about: settle it by hand'],
      );
      this.deps.log?.error(
        { refundId: refund.id, bookingId: refund.bookingId, amount: refund.amount },
        'a refund in doubt has no payment to ask VNPay about: settle it by hand',
      );
      return 'left';
    }
    const queries = asked + 1;
    let answer: VnpayApiAnswer;
    try {
      answer = await this.deps.vnpay.queryDr({
        requestId: `${refund.id.replace(/-/g, '').slice(0, 24)}R${String(queries).padStart(7, '0')}`,
        txnRef: payment.transactionId,
        transactionDate: payment.createdAt,
        createDate: now,
        ipAddr: this.deps.serverIp,
        orderInfo: `Truy van hoan tien ${payment.transactionId}`,
      });
    } catch (err) {
      this.deps.log?.warn({ err, refundId: refund.id }, 'VNPay querydr failed; will ask again');
      await this.askAgain(manager, refund, queries, now, String(err));
      return 'ask-again';
    }
    const verdict = readRefundQuery(answer, refund.transactionType ?? '02');
    switch (verdict.kind) {
      case 'refunded':
        await this.complete(manager, refund, payment, now, {
          vnpResponseCode: answer.responseCode,
          vnpMessage: answer.message,
        });
        await this.leaveDoubt(manager, refund, queries);
        return 'completed';
      case 'rejected':
        await this.leaveDoubt(manager, refund, queries);
        await this.fail(manager, refund, 'VNPay rejected the refund (querydr status 09)');
        return 'failed';
      case 'not-refunded':
        if (now.getTime() < since.getTime() + IN_DOUBT_SETTLE_AFTER_MS) {
          await this.askAgain(manager, refund, queries, now, 'VNPay shows no refund yet');
          return 'ask-again';
        }
        // VNPay has shown no refund for long enough: the lost request did nothing. Due to be
        // sent again at once, under a new request id.
        await this.leaveDoubt(manager, refund, queries);
        await manager.getRepository(Refund).update(refund.id, {
          nextAttemptAt: now,
          lastError: 'The unanswered refund request did nothing at VNPay (querydr): sending again',
        });
        this.deps.log?.info({ refundId: refund.id }, 'refund in doubt was never made: resending');
        return 'resend';
      case 'other-refund':
        // Said once: asking again would only say it again. Stays in doubt (never sent again).
        await manager.query(
          `UPDATE refunds SET queries = $2, next_attempt_at = NULL, last_error = $3 WHERE id = $1`,
          [
            refund.id,
            queries,
            `VNPay shows a refund of type ${verdict.transactionType}, not ours: check VNPay's merchant portal`,
          ],
        );
        this.deps.log?.error(
          { refundId: refund.id, bookingId: refund.bookingId, found: verdict.transactionType },
          'a refund in doubt meets another refund at VNPay: settle it by hand',
        );
        return 'left';
      case 'unknown':
        await this.askAgain(manager, refund, queries, now, verdict.why);
        return 'ask-again';
    }
  }

  /** Paid back: COMPLETED, the booking marked, the customer's email in the outbox. */
  private async complete(
    manager: EntityManager,
    refund: Refund,
    payment: Payment,
    now: Date,
    answered: Partial<Refund>,
  ): Promise<void> {
    await manager.getRepository(Refund).update(refund.id, {
      ...answered,
      status: RefundStatus.COMPLETED,
      completedAt: now,
      nextAttemptAt: null,
      lastError: null,
    });
    await this.markBooking(manager, refund);
    await enqueueMail(manager, {
      kind: REFUNDED_MAIL[refund.kind],
      userId: payment.userId,
      bookingId: refund.bookingId,
      refundId: refund.id,
      dedupeKey: `refund:${refund.id}`,
    });
    this.deps.log?.info(
      { refundId: refund.id, amount: refund.amount, kind: refund.kind },
      'refund completed',
    );
  }

  /**
   * The request may have been carried out: it stays in doubt as claimed (never sent again
   * before querydr settles it), with why.
   */
  private async markInDoubt(
    manager: EntityManager,
    refund: Refund,
    requestId: string,
    now: Date,
    error: string,
    answered: Partial<Refund> = {},
  ): Promise<void> {
    await manager.getRepository(Refund).update(refund.id, {
      ...answered,
      lastError: `In doubt: ${error}`.slice(0, 500),
      nextAttemptAt: new Date(now.getTime() + IN_DOUBT_FIRST_QUERY_MS),
    });
    this.deps.log?.warn(
      { refundId: refund.id, requestId, error },
      'VNPay refund outcome unknown: in doubt until querydr settles it',
    );
  }

  private async askAgain(
    manager: EntityManager,
    refund: Refund,
    queries: number,
    now: Date,
    why: string,
  ): Promise<void> {
    await manager.query(
      `UPDATE refunds SET queries = $2, next_attempt_at = $3, last_error = $4 WHERE id = $1`,
      [
        refund.id,
        queries,
        new Date(now.getTime() + inDoubtBackoffMs(queries)),
        `In doubt: ${why}`.slice(0, 500),
      ],
    );
  }

  private async leaveDoubt(manager: EntityManager, refund: Refund, queries: number): Promise<void> {
    await manager.query(`UPDATE refunds SET in_doubt_since = NULL, queries = $2 WHERE id = $1`, [
      refund.id,
      queries,
    ]);
  }

  private async retryLater(
    manager: EntityManager,
    refund: Refund,
    attempt: number,
    requestId: string,
    now: Date,
    error: string,
  ): Promise<void> {
    await manager.getRepository(Refund).update(refund.id, {
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

/**
 * The refund row, locked, if it is still PENDING and matches `condition` (SQL over alias `r`,
 * with `:now`), else null: locked by another instance, or changed since it was found due.
 */
async function lockRefund(
  manager: EntityManager,
  id: string,
  condition: string,
  now?: Date,
): Promise<Refund | null> {
  return manager
    .getRepository(Refund)
    .createQueryBuilder('r')
    .where('r.id = :id', { id, now })
    .andWhere("r.status = 'PENDING'")
    .andWhere(condition)
    .setLock('pessimistic_write')
    .setOnLocked('skip_locked')
    .getOne();
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

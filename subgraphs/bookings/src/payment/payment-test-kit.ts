// Fixtures for the engine-level payment and refund tests (payment.service.test.ts,
// refund.service.test.ts): a VNPay API that answers what the test scripts, IPNs signed as
// VNPay signs them, and bookings built on the booking engine's test kit. It imports nothing
// from tests/ (scripts/check-architecture.js forbids it outside *.test.ts files): the kit is
// taken by its shape, which tests/e2e/booking-kit.ts's `EngineKit` has.
import { randomUUID } from 'node:crypto';
import type { DataSource } from 'typeorm';
import type { ReservedSeat, ShowtimeFacts } from '../../../../runtime/contracts/booking-events';
import type { Logger } from '../../../../runtime/logger';
import {
  createBookingEngine,
  type BookingEngine,
  type BookingEngineOptions,
} from '../booking-engine';
import type { CreateBookingRequest } from '../booking/booking-creation.service';
import type { Booking } from '../booking/booking.entity';
import type { CinemasClient } from '../cinemas/cinemas.client';
import type { Payment } from './payment.entity';
import type { IpnAnswer, VnpayQueries } from './payment.service';
import type { VnpayRefunds } from './refund.service';
import {
  VnpayUnavailableError,
  type QueryDrRequest,
  type RefundRequest,
  type VnpayApiAnswer,
} from './vnpay/vnpay-protocol';
import { signParams, vnpDate, type VnpParams } from './vnpay/vnpay-signing';

const HOUR = 3_600_000;

/** What the fixtures need of the booking engine's test kit (tests/e2e/booking-kit.ts). */
export interface EngineKitShape {
  config: BookingEngineOptions['config'];
  dataSource: DataSource;
  cinemas: CinemasClient & {
    addShowtime(options: {
      startsAt: Date;
      cinemaId?: string;
      seats?: number;
      prices?: Record<string, number>;
    }): TestShowtime;
    hold(userId: string, showtimeId: string, seatIds: readonly string[]): void;
    /** `${showtimeId}:${seatId}` → booking id. */
    readonly reserved: Map<string, string>;
  };
  clock: { now: Date; read: () => Date };
}

export interface TestShowtime {
  id: string;
  seats: ReservedSeat[];
  facts: ShowtimeFacts;
}

/** One scripted answer of the fake VNPay API: an answer, or an error to throw. */
export type FakeVnpayAnswer = VnpayApiAnswer | Error;

/** A VNPay API answer with `responseCode`, as `VnpayApi` would return it once verified. */
export function vnpayAnswer(
  responseCode: string,
  fields: Partial<Omit<VnpayApiAnswer, 'responseCode'>> = {},
): VnpayApiAnswer {
  return {
    responseCode,
    message: `answer ${responseCode}`,
    transactionStatus: null,
    transactionNo: null,
    amountVnd: null,
    payDate: null,
    raw: { vnp_ResponseCode: responseCode },
    ...fields,
  };
}

/** VNPay could not be reached: the connection was refused, so the request never left. */
export function vnpayRefused(): VnpayUnavailableError {
  const refused = Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:9'), {
    code: 'ECONNREFUSED',
  });
  return new VnpayUnavailableError('VNPay: fetch failed', {
    cause: new TypeError('fetch failed', { cause: refused }),
  });
}

/** The request may have reached VNPay but no answer came (a timeout): its effect is unknown. */
export function vnpayAnswerLost(): VnpayUnavailableError {
  const timeout = Object.assign(new Error('The operation was aborted due to timeout'), {
    name: 'TimeoutError',
    code: 23,
  });
  return new VnpayUnavailableError('VNPay: The operation was aborted due to timeout', {
    cause: timeout,
  });
}

/**
 * VNPay's querydr answer about a payment whose latest transaction at VNPay is a refund of
 * `transactionType` (`02` whole, `03` partial) in `transactionStatus` (`05` VNPay is
 * processing it, `09` rejected), or, with `01`, the payment itself (`00`: paid, nothing
 * refunded).
 */
export function vnpayQueryShows(
  transactionType: '01' | '02' | '03',
  transactionStatus: string,
): VnpayApiAnswer {
  return vnpayAnswer('00', {
    transactionStatus,
    raw: {
      vnp_ResponseCode: '00',
      vnp_TransactionType: transactionType,
      vnp_TransactionStatus: transactionStatus,
    },
  });
}

/**
 * VNPay's merchant API as the engine sees it (`vnpayApi`): records every call and answers
 * what the test scripted for that `vnp_TxnRef`, in order. Unscripted refunds are paid back
 * (`00`); unscripted querydr calls find VNPay unreachable (so payments of other tests that
 * are due meanwhile are only asked again later).
 */
export class FakeVnpay implements VnpayQueries, VnpayRefunds {
  readonly refundCalls: RefundRequest[] = [];
  readonly queryCalls: QueryDrRequest[] = [];
  private readonly refundScript = new Map<string, FakeVnpayAnswer[]>();
  private readonly queryScript = new Map<string, FakeVnpayAnswer[]>();
  /** Awaited before a refund is answered (to hold a call in flight while others race it). */
  beforeRefundAnswer: ((request: RefundRequest) => Promise<void>) | null = null;
  /** Awaited before a querydr is answered (likewise). */
  beforeQueryAnswer: ((request: QueryDrRequest) => Promise<void>) | null = null;

  /** The next refund answers for `txnRef`. */
  answerRefunds(txnRef: string, ...answers: FakeVnpayAnswer[]): void {
    this.refundScript.set(txnRef, [...(this.refundScript.get(txnRef) ?? []), ...answers]);
  }

  /** The next querydr answers for `txnRef`. */
  answerQueries(txnRef: string, ...answers: FakeVnpayAnswer[]): void {
    this.queryScript.set(txnRef, [...(this.queryScript.get(txnRef) ?? []), ...answers]);
  }

  refundsOf(txnRef: string): RefundRequest[] {
    return this.refundCalls.filter((c) => c.txnRef === txnRef);
  }

  queriesOf(txnRef: string): QueryDrRequest[] {
    return this.queryCalls.filter((c) => c.txnRef === txnRef);
  }

  async refund(request: RefundRequest): Promise<VnpayApiAnswer> {
    this.refundCalls.push({ ...request });
    const next =
      this.refundScript.get(request.txnRef)?.shift() ??
      vnpayAnswer('00', { transactionNo: String(90_000_000 + this.refundCalls.length) });
    await this.beforeRefundAnswer?.(request);
    if (next instanceof Error) throw next;
    return next;
  }

  async queryDr(request: QueryDrRequest): Promise<VnpayApiAnswer> {
    this.queryCalls.push({ ...request });
    const next = this.queryScript.get(request.txnRef)?.shift() ?? vnpayRefused();
    await this.beforeQueryAnswer?.(request);
    if (next instanceof Error) throw next;
    return next;
  }
}

let transactionNumbers = 0;

/** VNPay's IPN for an attempt, signed with the merchant's secret as VNPay signs it. */
export function signedIpn(
  vnpay: { tmnCode: string; hashSecret: string },
  payment: Pick<Payment, 'transactionId' | 'amount'>,
  overrides: Partial<VnpParams> = {},
  payDate: Date = new Date(),
): VnpParams {
  transactionNumbers += 1;
  const params: VnpParams = {
    vnp_Amount: String(payment.amount * 100),
    vnp_BankCode: 'NCB',
    vnp_BankTranNo: `VNP${14_000_000 + transactionNumbers}`,
    vnp_CardType: 'ATM',
    vnp_OrderInfo: `Thanh toan ve xem phim ${payment.transactionId}`,
    vnp_PayDate: vnpDate(payDate),
    vnp_ResponseCode: '00',
    vnp_TmnCode: vnpay.tmnCode,
    vnp_TransactionNo: String(14_000_000 + transactionNumbers),
    vnp_TransactionStatus: '00',
    vnp_TxnRef: payment.transactionId,
    ...overrides,
  };
  return { ...params, vnp_SecureHash: signParams(params, vnpay.hashSecret) };
}

/** A payment row as stored (snake_case columns). */
export interface PaymentRow {
  id: string;
  booking_id: string;
  status: string;
  outcome: string | null;
  amount: number;
  txn_ref: string;
  payment_url: string;
  expires_at: Date;
  created_at: Date;
  paid_at: Date | null;
  settled_at: Date | null;
  settled_by: string | null;
  vnp_transaction_no: string | null;
  vnp_response_code: string | null;
  vnp_transaction_status: string | null;
  vnp_bank_code: string | null;
  vnp_pay_date: string | null;
  query_attempts: number;
  next_query_at: Date | null;
}

/** A refund row as stored (snake_case columns). */
export interface RefundRow {
  id: string;
  booking_id: string;
  payment_id: string | null;
  kind: string;
  amount: number;
  percent: number;
  status: string;
  reason: string | null;
  transaction_type: string | null;
  request_id: string | null;
  attempts: number;
  next_attempt_at: Date | null;
  completed_at: Date | null;
  last_error: string | null;
  vnp_response_code: string | null;
  /** When its unanswered request went out (null: not in doubt). */
  in_doubt_since: Date | null;
  queries: number;
}

/** What a booking holds, to compare before and after a change that must not happen. */
export interface Holdings {
  points: number;
  ledgerEntries: number;
  promotionUsed: number | null;
  promotionUsedByUser: number | null;
  stock: (number | null)[];
  tickets: string[];
  reservedSeats: number;
}

/**
 * The fixtures: an engine over the kit's database with a {@link FakeVnpay}, and the steps a
 * payment test takes (showtimes, bookings with points, promotions and concessions, payment
 * attempts, IPNs, reading rows back).
 */
export class PaymentTestKit {
  readonly vnpay = new FakeVnpay();
  readonly engine: BookingEngine;
  private readonly taken = new Map<string, number>();

  constructor(
    readonly kit: EngineKitShape,
    options: { bookingPendingTtlSeconds?: number; log?: Logger } = {},
  ) {
    this.engine = this.anotherEngine(options);
  }

  /** Another engine (another instance) over the same database and the same fake VNPay. */
  anotherEngine(options: { bookingPendingTtlSeconds?: number; log?: Logger } = {}): BookingEngine {
    return createBookingEngine({
      dataSource: this.kit.dataSource,
      config: {
        ...this.kit.config,
        bookingPendingTtlSeconds:
          options.bookingPendingTtlSeconds ?? this.kit.config.bookingPendingTtlSeconds,
      },
      cinemas: this.kit.cinemas,
      clock: this.kit.clock.read,
      vnpayApi: this.vnpay,
      log: options.log,
    });
  }

  get db(): DataSource {
    return this.kit.dataSource;
  }

  now(): Date {
    return this.kit.clock.read();
  }

  newUser(): string {
    return `user_${randomUUID().slice(0, 8)}`;
  }

  /** A showtime `hoursAhead` from the clock, in a cinema of its own; seats 100,000 VND. */
  showtime(hoursAhead = 72, prices?: Record<string, number>): TestShowtime {
    return this.kit.cinemas.addShowtime({
      startsAt: new Date(this.kit.clock.now.getTime() + hoursAhead * HOUR),
      prices,
    });
  }

  /** Holds `count` STANDARD seats of `show` for `userId` (each seat once) and books them. */
  async book(
    userId: string,
    show: TestShowtime,
    extra: Partial<CreateBookingRequest> & { count?: number } = {},
    engine: BookingEngine = this.engine,
  ): Promise<Booking> {
    const { count = 2, ...rest } = extra;
    const from = this.taken.get(show.id) ?? 0;
    this.taken.set(show.id, from + count);
    const seatIds = show.seats
      .filter((s) => s.seatType === 'STANDARD')
      .slice(from, from + count)
      .map((s) => s.seatId);
    this.kit.cinemas.hold(userId, show.id, seatIds);
    return engine.creation.create(userId, { showtimeId: show.id, seatIds, ...rest });
  }

  /** StartPayment for the booking's owner. */
  start(booking: Pick<Booking, 'id' | 'userId'>, engine: BookingEngine = this.engine) {
    return engine.payments.start(booking.id, { userId: booking.userId });
  }

  /** An IPN for `payment`, signed with the kit's secret. */
  ipn(payment: Pick<Payment, 'transactionId' | 'amount'>, overrides: Partial<VnpParams> = {}) {
    return signedIpn(this.kit.config.vnpay, payment, overrides, this.now());
  }

  /** Delivers a signed IPN for `payment` (paid unless `overrides` say otherwise). */
  deliver(
    payment: Pick<Payment, 'transactionId' | 'amount'>,
    overrides: Partial<VnpParams> = {},
    engine: BookingEngine = this.engine,
  ): Promise<IpnAnswer> {
    return engine.payments.handleIpn(this.ipn(payment, overrides));
  }

  /** A booking of 2 seats (200,000 VND), paid through an IPN: CONFIRMED. */
  async paidBooking(hoursAhead = 72): Promise<{ booking: Booking; payment: Payment }> {
    const booking = await this.book(this.newUser(), this.showtime(hoursAhead));
    const payment = await this.start(booking);
    const answer = await this.deliver(payment);
    if (answer.RspCode !== '00') throw new Error(`The IPN answered ${answer.RspCode}`);
    return { booking, payment };
  }

  grantPoints(userId: string, points: number): Promise<void> {
    return this.db.transaction((m) =>
      this.engine.loyalty.grant(m, userId, points, this.now(), 'test'),
    );
  }

  promotion(input: Partial<Parameters<BookingEngine['promotions']['create']>[0]> = {}) {
    return this.engine.promotions.create({
      code: `P${randomUUID().slice(0, 8).toUpperCase()}`,
      type: 'PERCENTAGE',
      value: 10,
      validFrom: new Date(this.now().getTime() - HOUR),
      validTo: new Date(this.now().getTime() + 30 * 24 * HOUR),
      ...input,
    });
  }

  concession(cinemaId: string, stock: number, price = 50_000) {
    return this.engine.concessions.create(cinemaId, {
      name: `Popcorn ${randomUUID().slice(0, 6)}`,
      category: 'POPCORN' as never,
      price,
      stock,
    });
  }

  async paymentRow(txnRef: string): Promise<PaymentRow> {
    const [row] = await this.db.query<PaymentRow[]>('SELECT * FROM payments WHERE txn_ref = $1', [
      txnRef,
    ]);
    return row;
  }

  refundsOf(bookingId: string): Promise<RefundRow[]> {
    return this.db.query<RefundRow[]>(
      'SELECT * FROM refunds WHERE booking_id = $1 ORDER BY created_at, id',
      [bookingId],
    );
  }

  /**
   * Makes every write that would complete refund `refundId` fail, as when the database connection
   * drops, or the process dies, between VNPay's answer and the write that records it (a trigger
   * raising on the row going COMPLETED). Returns the undo, to call before the test ends.
   */
  async failRefundCompletion(refundId: string): Promise<() => Promise<void>> {
    // Spliced into DDL (no bind parameters there): a refund id is a uuid, nothing else.
    if (!/^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/.test(refundId)) {
      throw new Error(`Not a refund id: ${refundId}`);
    }
    const name = `fail_refund_${refundId.replace(/-/g, '')}`;
    await this.db.query(`
      CREATE FUNCTION ${name}() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN
          IF NEW.status = 'COMPLETED' THEN
            RAISE EXCEPTION 'injected: the write after VNPay answered failed';
          END IF;
          RETURN NEW;
        END $$`);
    await this.db.query(`
      CREATE TRIGGER ${name} BEFORE UPDATE ON refunds
        FOR EACH ROW WHEN (OLD.id = '${refundId}') EXECUTE FUNCTION ${name}()`);
    return async () => {
      await this.db.query(`DROP TRIGGER IF EXISTS ${name} ON refunds`);
      await this.db.query(`DROP FUNCTION IF EXISTS ${name}()`);
    };
  }

  async booking(id: string): Promise<Booking> {
    const [booking] = await this.engine.bookings.byIds([id]);
    if (!booking) throw new Error(`No booking ${id}`);
    return booking;
  }

  async ticketStatuses(bookingId: string): Promise<string[]> {
    const [tickets] = await this.engine.tickets.ofBookings([bookingId]);
    return tickets.map((t) => t.status);
  }

  /** The booking's mail outbox rows, oldest first. */
  mailOf(bookingId: string): Promise<{ kind: string; refund_id: string | null }[]> {
    return this.db.query(
      'SELECT kind, refund_id FROM mail_outbox WHERE booking_id = $1 ORDER BY created_at, kind',
      [bookingId],
    );
  }

  /** The booking's outbox events (for cinemas), oldest first. */
  async eventsOf(bookingId: string): Promise<string[]> {
    const rows: { type: string }[] = await this.db.query(
      'SELECT type FROM outbox WHERE aggregate_id = $1 ORDER BY seq',
      [bookingId],
    );
    return rows.map((r) => r.type);
  }

  /** The booking's audit trail as `FROM→TO by actor`. */
  async historyOf(bookingId: string): Promise<string[]> {
    const rows: { from_status: string | null; to_status: string; actor_id: string }[] =
      await this.db.query(
        `SELECT from_status, to_status, actor_id FROM booking_transitions
          WHERE booking_id = $1 ORDER BY at, id`,
        [bookingId],
      );
    return rows.map((r) => `${r.from_status ?? '∅'}→${r.to_status} by ${r.actor_id}`);
  }

  /** Everything a booking holds or has given back, as one comparable value. */
  async holdings(
    booking: Pick<Booking, 'id' | 'userId' | 'promotionId' | 'showtimeId'>,
    concessionIds: readonly string[] = [],
  ): Promise<Holdings> {
    const [account] = await this.engine.loyalty.accountsFor([booking.userId]);
    const [{ entries }] = await this.db.query<{ entries: number }[]>(
      'SELECT count(*)::int AS entries FROM loyalty_transactions WHERE user_id = $1',
      [booking.userId],
    );
    let promotionUsed: number | null = null;
    let promotionUsedByUser: number | null = null;
    if (booking.promotionId) {
      const [promotion] = await this.engine.promotions.byIds([booking.promotionId]);
      promotionUsed = promotion?.usedCount ?? null;
      const [mine] = await this.db.query<{ used_count: number }[]>(
        'SELECT used_count FROM promotion_user_usage WHERE promotion_id = $1 AND user_id = $2',
        [booking.promotionId, booking.userId],
      );
      promotionUsedByUser = mine?.used_count ?? 0;
    }
    const stock = (await this.engine.concessions.byIds(concessionIds)).map((c) => c?.stock ?? null);
    const reservedSeats = [...this.kit.cinemas.reserved.values()].filter(
      (id) => id === booking.id,
    ).length;
    return {
      points: account.points,
      ledgerEntries: entries,
      promotionUsed,
      promotionUsedByUser,
      stock,
      tickets: await this.ticketStatuses(booking.id),
      reservedSeats,
    };
  }

  /**
   * A fingerprint of everything an IPN could touch: row counts of the tables the payment flow
   * writes, and the payment's and the booking's row versions (`xmin` changes on any write,
   * `xmax` on a row lock), so "nothing written, nothing locked" can be asserted.
   */
  async fingerprint(payment: Pick<Payment, 'id' | 'bookingId'>): Promise<unknown> {
    const [counts] = await this.db.query<Record<string, number>[]>(
      `SELECT (SELECT count(*)::int FROM payments) AS payments,
              (SELECT count(*)::int FROM bookings) AS bookings,
              (SELECT count(*)::int FROM refunds) AS refunds,
              (SELECT count(*)::int FROM mail_outbox) AS mail,
              (SELECT count(*)::int FROM outbox) AS events,
              (SELECT count(*)::int FROM booking_transitions) AS transitions`,
    );
    const [paymentRow] = await this.db.query<unknown[]>(
      'SELECT xmin::text AS xmin, xmax::text AS xmax, p.* FROM payments p WHERE id = $1',
      [payment.id],
    );
    const [bookingRow] = await this.db.query<unknown[]>(
      'SELECT xmin::text AS xmin, xmax::text AS xmax, b.* FROM bookings b WHERE id = $1',
      [payment.bookingId],
    );
    return { counts, paymentRow, bookingRow };
  }
}

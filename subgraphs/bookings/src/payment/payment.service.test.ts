import { randomUUID } from 'node:crypto';
import { AppError } from '../../../../runtime/errors';
import { createLogger } from '../../../../runtime/logger';
import {
  ledgerMismatches,
  MINUTE,
  refusal,
  startEngineKit,
  type EngineKit,
} from '../../../../tests/e2e/booking-kit';
import type { BookingEngine } from '../booking-engine';
import type { Booking } from '../booking/booking.entity';
import {
  MAX_ATTEMPTS_PER_BOOKING,
  PAY_URL_TTL_MS,
  RECONCILE_AFTER_MS,
  RECONCILE_FIRST_MS,
} from './payment.service';
import type { Payment } from './payment.entity';
import { PaymentTestKit, vnpayAnswer, vnpayRefused } from './payment-test-kit';
import {
  parseVnpDate,
  signParams,
  verifyParams,
  vnpDate,
  type VnpParams,
} from './vnpay/vnpay-signing';
import { TEST_SERVER_IP } from '../../../../tests/support/test-config';

/**
 * The payment flow's rules on the engine (no gateway), on a real bookings database with an
 * in-memory cinemas, a clock the test moves and a VNPay API that answers what the test says:
 * the IPN's checks and what each answer does to the booking (paid, failed, paid twice, paid
 * late with everything the booking held taken again or refunded, paid for a cancelled booking),
 * reconciliation by querydr, and StartPayment's refusals. tests/e2e/payments.test.ts covers
 * the flow through the gateway and the simulator.
 */
describe('payments (engine)', () => {
  let kit: EngineKit;
  let p: PaymentTestKit;
  let engine: BookingEngine;
  const log = createLogger('bookings', 'silent');

  beforeAll(async () => {
    kit = await startEngineKit();
    p = new PaymentTestKit(kit, { log });
    engine = p.engine;
  });
  afterAll(async () => {
    await kit?.close();
  });
  afterEach(() => {
    jest.restoreAllMocks();
  });

  const withoutHash = (params: VnpParams): VnpParams => {
    const { vnp_SecureHash: _hash, ...rest } = params;
    return rest;
  };

  /** A PENDING booking of 2 seats (200,000 VND) with one PENDING payment attempt. */
  async function pendingPayment(): Promise<{ booking: Booking; payment: Payment }> {
    const booking = await p.book(p.newUser(), p.showtime());
    return { booking, payment: await p.start(booking) };
  }

  describe('the IPN', () => {
    it('answers 97 to a bad signature and writes or locks nothing', async () => {
      const { payment } = await pendingPayment();
      const good = p.ipn(payment);
      const before = await p.fingerprint(payment);
      const forged: unknown[] = [
        { ...good, vnp_Amount: String(payment.amount * 10) },
        { ...good, vnp_ResponseCode: '24' },
        { ...good, vnp_SecureHash: signParams(withoutHash(good), 'another merchant secret') },
        { ...good, vnp_SecureHash: good.vnp_SecureHash.slice(0, -2) },
        { ...good, vnp_SecureHash: '' },
        withoutHash(good),
      ];
      for (const query of forged) {
        expect(await engine.payments.handleIpn(query)).toEqual({
          RspCode: '97',
          Message: 'Invalid signature',
        });
      }
      expect(await p.fingerprint(payment)).toEqual(before);
      // The fingerprint does see a write: the genuine IPN still settles the payment.
      expect(await engine.payments.handleIpn(good)).toMatchObject({ RspCode: '00' });
      expect(await p.fingerprint(payment)).not.toEqual(before);
    });

    it('answers 97 to values that are not single strings (repeated keys, numbers, objects)', async () => {
      const { payment } = await pendingPayment();
      const good = p.ipn(payment);
      const before = await p.fingerprint(payment);
      // Each would verify if it were read as String(value).
      const hostile: unknown[] = [
        { ...good, vnp_TxnRef: [payment.transactionId] },
        { ...good, vnp_TxnRef: [payment.transactionId, payment.transactionId] },
        { ...good, vnp_Amount: payment.amount * 100 },
        { ...good, vnp_SecureHash: [good.vnp_SecureHash] },
        { ...good, vnp_ResponseCode: { toString: () => '00' } },
        [good],
        null,
        undefined,
        new URLSearchParams(good).toString(),
      ];
      for (const query of hostile) {
        expect((await engine.payments.handleIpn(query)).RspCode).toBe('97');
      }
      expect(await p.fingerprint(payment)).toEqual(before);
      // Keys that are not VNPay's are ignored, whatever they hold.
      expect(
        (await engine.payments.handleIpn({ ...good, utm: ['a', 'b'], x: { y: 1 } })).RspCode,
      ).toBe('00');
    });

    it("answers 01 to another merchant's or an unknown order, correctly signed, and changes nothing", async () => {
      const { payment } = await pendingPayment();
      const before = await p.fingerprint(payment);
      const answers = [
        await p.deliver(payment, { vnp_TmnCode: 'OTHERMER' }),
        await p.deliver({ ...payment, transactionId: 'MHNOSUCHORDER1' }),
        await p.deliver(payment, { vnp_TxnRef: '' }),
      ];
      expect(answers).toEqual(Array(3).fill({ RspCode: '01', Message: 'Order not found' }));
      expect(await p.fingerprint(payment)).toEqual(before);
    });

    it('answers 04 to an amount other than the attempt’s (VND × 100), and changes nothing', async () => {
      const { payment } = await pendingPayment();
      const before = await p.fingerprint(payment);
      for (const amount of [
        String((payment.amount + 1) * 100),
        String(payment.amount * 100 + 1),
        String(payment.amount),
        `${payment.amount * 100}.00`,
        `-${payment.amount * 100}`,
        '',
      ]) {
        expect(await p.deliver(payment, { vnp_Amount: amount })).toEqual({
          RspCode: '04',
          Message: 'Invalid amount',
        });
      }
      expect(await p.fingerprint(payment)).toEqual(before);
    });

    it('settles a paid attempt with 00 (booking CONFIRMED, tickets, event, one email); a replay answers 02 and changes nothing', async () => {
      const { booking, payment } = await pendingPayment();
      const paidAt = new Date(kit.clock.now.getTime() - 30_000);
      const ipn = p.ipn(payment, { vnp_PayDate: vnpDate(paidAt), vnp_TransactionNo: '14770001' });
      expect(await engine.payments.handleIpn(ipn)).toEqual({
        RspCode: '00',
        Message: 'Confirm Success',
      });
      expect(await p.paymentRow(payment.transactionId)).toMatchObject({
        status: 'COMPLETED',
        outcome: 'CONFIRMED',
        settled_by: 'IPN',
        settled_at: kit.clock.read(),
        paid_at: paidAt,
        vnp_transaction_no: '14770001',
        vnp_response_code: '00',
        vnp_transaction_status: '00',
        vnp_bank_code: 'NCB',
        vnp_pay_date: vnpDate(paidAt),
        next_query_at: null,
      });
      expect(await p.booking(booking.id)).toMatchObject({
        status: 'CONFIRMED',
        paymentStatus: 'PAID',
        expiresAt: null,
      });
      expect(await p.ticketStatuses(booking.id)).toEqual(['VALID', 'VALID']);
      expect(await p.eventsOf(booking.id)).toEqual(['booking.confirmed']);
      expect(await p.mailOf(booking.id)).toEqual([{ kind: 'booking-confirmed', refund_id: null }]);
      expect(await p.historyOf(booking.id)).toEqual([
        `∅→PENDING by ${booking.userId}`,
        'PENDING→CONFIRMED by payments',
      ]);

      const settled = await p.fingerprint(payment);
      expect(await engine.payments.handleIpn(ipn)).toEqual({
        RspCode: '02',
        Message: 'Order already confirmed',
      });
      // Nor does VNPay changing its mind about a settled attempt.
      expect((await p.deliver(payment, { vnp_ResponseCode: '24' })).RspCode).toBe('02');
      expect(await p.fingerprint(payment)).toEqual(settled);
    });

    it.each([
      ['24', '02'],
      ['00', '02'],
      ['51', '01'],
    ])(
      'a failed payment (%s/%s) cancels the PENDING booking and gives back its points, promotion use, stock and seats',
      async (responseCode, transactionStatus) => {
        const user = p.newUser();
        const show = p.showtime();
        const popcorn = await p.concession(show.facts.cinemaId, 10);
        const promo = await p.promotion({ value: 20, maxDiscount: 40_000, usageLimit: 5 });
        await p.grantPoints(user, 150);
        const booking = await p.book(user, show, {
          concessions: [{ concessionId: popcorn.id, quantity: 2 }],
          promotionCode: promo.code,
          pointsToRedeem: 100,
        });
        const payment = await p.start(booking);
        // No customer address (a call not through the gateway): VNPay is told this server's.
        expect(payment.ipAddr).toBe(TEST_SERVER_IP);
        expect(new URL(payment.paymentUrl).searchParams.get('vnp_IpAddr')).toBe(TEST_SERVER_IP);
        expect(await p.holdings(booking, [popcorn.id])).toMatchObject({
          points: 50,
          promotionUsed: 1,
          promotionUsedByUser: 1,
          stock: [8],
          reservedSeats: 2,
        });

        expect(
          await p.deliver(payment, {
            vnp_ResponseCode: responseCode,
            vnp_TransactionStatus: transactionStatus,
          }),
        ).toEqual({ RspCode: '00', Message: 'Confirm Success' });

        expect(await p.paymentRow(payment.transactionId)).toMatchObject({
          status: 'FAILED',
          outcome: 'BOOKING_CANCELLED',
          paid_at: null,
          settled_by: 'IPN',
          vnp_response_code: responseCode,
          vnp_transaction_status: transactionStatus,
        });
        expect(await p.booking(booking.id)).toMatchObject({
          status: 'CANCELLED',
          paymentStatus: 'FAILED',
          promotionUse: 'RETURNED',
        });
        await kit.cinemas.applyEvents(kit.dataSource);
        expect(await p.holdings(booking, [popcorn.id])).toMatchObject({
          points: 150,
          promotionUsed: 0,
          promotionUsedByUser: 0,
          stock: [10],
          tickets: ['CANCELLED', 'CANCELLED'],
          reservedSeats: 0,
        });
        expect(await ledgerMismatches(kit.dataSource)).toEqual([]);
        expect(await p.eventsOf(booking.id)).toEqual(['booking.released']);
        expect(await p.mailOf(booking.id)).toEqual([
          { kind: 'booking-cancelled', refund_id: null },
        ]);
        expect(await p.refundsOf(booking.id)).toEqual([]);
        expect((await p.historyOf(booking.id)).at(-1)).toBe('PENDING→CANCELLED by payments');
      },
    );

    it('a failed attempt leaves alone a booking another attempt already confirmed', async () => {
      const { booking, payment: first } = await pendingPayment();
      const second = await p.start(booking);
      expect((await p.deliver(first)).RspCode).toBe('00');
      const confirmed = await p.booking(booking.id);
      const events = await p.eventsOf(booking.id);

      expect((await p.deliver(second, { vnp_ResponseCode: '24' })).RspCode).toBe('00');
      expect(await p.paymentRow(second.transactionId)).toMatchObject({
        status: 'FAILED',
        outcome: null,
      });
      expect(await p.booking(booking.id)).toEqual(confirmed);
      expect(await p.ticketStatuses(booking.id)).toEqual(['VALID', 'VALID']);
      expect(await p.eventsOf(booking.id)).toEqual(events);
      expect((await p.mailOf(booking.id)).map((m) => m.kind)).toEqual(['booking-confirmed']);
    });

    it('answers 99 when settling fails (cinemas unreachable for a late payment), keeps nothing, and settles on the next delivery', async () => {
      const { booking, payment } = await pendingPayment();
      kit.clock.advance(10 * MINUTE);
      const before = await p.fingerprint(payment);
      jest
        .spyOn(kit.cinemas, 'retakeReservation')
        .mockRejectedValueOnce(new AppError('SERVICE_UNAVAILABLE', 'Service "cinemas" is down'));
      const ipn = p.ipn(payment);
      expect(await engine.payments.handleIpn(ipn)).toEqual({
        RspCode: '99',
        Message: 'Unknown error',
      });
      expect(await p.fingerprint(payment)).toMatchObject({
        counts: (before as { counts: unknown }).counts,
      });
      expect(await p.paymentRow(payment.transactionId)).toMatchObject({ status: 'PENDING' });
      expect(await engine.payments.handleIpn(ipn)).toMatchObject({ RspCode: '00' });
      expect(await p.paymentRow(payment.transactionId)).toMatchObject({
        status: 'COMPLETED',
        outcome: 'LATE_CONFIRMED',
      });
      expect((await p.booking(booking.id)).status).toBe('CONFIRMED');
    });
  });

  describe('paying twice', () => {
    it('refunds a second attempt paid after the first confirmed the booking: REFUNDED_DUPLICATE, one whole 02 refund', async () => {
      const { booking, payment: first } = await pendingPayment();
      const second = await p.start(booking);
      expect((await p.deliver(first)).RspCode).toBe('00');
      const ipn = p.ipn(second);
      expect((await engine.payments.handleIpn(ipn)).RspCode).toBe('00');

      expect(await p.paymentRow(second.transactionId)).toMatchObject({
        status: 'COMPLETED',
        outcome: 'REFUNDED_DUPLICATE',
      });
      expect(await p.booking(booking.id)).toMatchObject({
        status: 'CONFIRMED',
        paymentStatus: 'PAID',
      });
      const refunds = await p.refundsOf(booking.id);
      expect(refunds).toEqual([
        expect.objectContaining({
          kind: 'DUPLICATE_PAYMENT',
          payment_id: second.id,
          amount: second.amount,
          percent: 100,
          status: 'PENDING',
          transaction_type: '02',
        }),
      ]);
      expect(second.amount).toBe(200_000);
      // The replay grants nothing more.
      expect((await engine.payments.handleIpn(ipn)).RspCode).toBe('02');
      expect(await p.refundsOf(booking.id)).toEqual(refunds);
    });

    it('of two attempts paid at once on two instances, one confirms and the other is refunded', async () => {
      const { booking, payment: first } = await pendingPayment();
      const second = await p.start(booking);
      const answers = await Promise.all([
        p.deliver(first),
        p.deliver(second, {}, p.anotherEngine()),
      ]);
      expect(answers.map((a) => a.RspCode)).toEqual(['00', '00']);
      const outcomes = [
        (await p.paymentRow(first.transactionId)).outcome,
        (await p.paymentRow(second.transactionId)).outcome,
      ].sort();
      expect(outcomes).toEqual(['CONFIRMED', 'REFUNDED_DUPLICATE']);
      expect(await p.refundsOf(booking.id)).toEqual([
        expect.objectContaining({ kind: 'DUPLICATE_PAYMENT', amount: 200_000 }),
      ]);
      expect(await p.eventsOf(booking.id)).toEqual(['booking.confirmed']);
    });
  });

  describe('late payments', () => {
    /**
     * A booking holding everything (2 seats, 2 popcorns, a 20% promotion, 100 points: 160,000
     * VND) with a payment attempt, that then EXPIRED (everything given back, its seats
     * released at cinemas).
     */
    async function expiredWithEverything(popcornStock = 10) {
      const user = p.newUser();
      const show = p.showtime();
      const popcorn = await p.concession(show.facts.cinemaId, popcornStock);
      const promo = await p.promotion({
        value: 20,
        maxDiscount: 40_000,
        usageLimit: 5,
        usagePerUser: 1,
      });
      await p.grantPoints(user, 150);
      const booking = await p.book(user, show, {
        concessions: [{ concessionId: popcorn.id, quantity: 2 }],
        promotionCode: promo.code,
        pointsToRedeem: 100,
      });
      // 2 × 100,000 + 2 × 50,000 = 300,000; 20% capped at 40,000; 100 points = 100,000.
      expect(booking.finalAmount).toBe(160_000);
      const payment = await p.start(booking);
      kit.clock.advance(10 * MINUTE);
      await engine.lifecycle.expirePending();
      await kit.cinemas.applyEvents(kit.dataSource);
      expect(await p.booking(booking.id)).toMatchObject({
        status: 'EXPIRED',
        promotionUse: 'RETURNED',
      });
      expect(await p.holdings(booking, [popcorn.id])).toMatchObject({
        points: 150,
        promotionUsed: 0,
        promotionUsedByUser: 0,
        stock: [popcornStock],
        tickets: ['CANCELLED', 'CANCELLED'],
        reservedSeats: 0,
      });
      return { user, show, popcorn, promo, booking, payment };
    }

    const ledgerOf = (bookingId: string) =>
      kit.dataSource.query<{ type: string; points: number }[]>(
        'SELECT type, points FROM loyalty_transactions WHERE booking_id = $1 ORDER BY id',
        [bookingId],
      );

    it('confirms an EXPIRED booking whose seats are still free, taking its points, promotion use and stock again', async () => {
      const { booking, payment, popcorn } = await expiredWithEverything();
      expect((await p.deliver(payment)).RspCode).toBe('00');

      expect(await p.paymentRow(payment.transactionId)).toMatchObject({
        status: 'COMPLETED',
        outcome: 'LATE_CONFIRMED',
      });
      expect(await p.booking(booking.id)).toMatchObject({
        status: 'CONFIRMED',
        paymentStatus: 'PAID',
        promotionUse: 'FINAL',
        expiresAt: null,
      });
      expect(await p.holdings(booking, [popcorn.id])).toMatchObject({
        points: 50,
        promotionUsed: 1,
        promotionUsedByUser: 1,
        stock: [8],
        tickets: ['VALID', 'VALID'],
        reservedSeats: 2,
      });
      const [tickets] = await engine.tickets.ofBookings([booking.id]);
      expect(tickets.every((t) => /^\d{18}$/.test(t.barcode ?? ''))).toBe(true);
      expect(await ledgerOf(booking.id)).toEqual([
        { type: 'REDEEM', points: -100 },
        { type: 'RETURN', points: 100 },
        { type: 'REDEEM', points: -100 },
      ]);
      expect(await ledgerMismatches(kit.dataSource)).toEqual([]);
      expect(await p.refundsOf(booking.id)).toEqual([]);
      expect(await p.eventsOf(booking.id)).toEqual(['booking.released', 'booking.confirmed']);
      expect(await p.historyOf(booking.id)).toEqual([
        `∅→PENDING by ${booking.userId}`,
        'PENDING→EXPIRED by expiry-job',
        'EXPIRED→CONFIRMED by payments',
      ]);
      expect((await p.mailOf(booking.id)).map((m) => m.kind)).toEqual(['booking-confirmed']);
    });

    it('confirms a PENDING booking paid past its expiry before the expiry job ran', async () => {
      const { booking, payment } = await pendingPayment();
      kit.clock.advance(10 * MINUTE);
      expect((await p.deliver(payment)).RspCode).toBe('00');
      expect((await p.paymentRow(payment.transactionId)).outcome).toBe('LATE_CONFIRMED');
      expect(await p.booking(booking.id)).toMatchObject({ status: 'CONFIRMED', expiresAt: null });
      expect(await p.ticketStatuses(booking.id)).toEqual(['VALID', 'VALID']);
    });

    it.each([
      [
        'its concession stock was sold meanwhile',
        'CONCESSION_OUT_OF_STOCK',
        async (c: Awaited<ReturnType<typeof expiredWithEverything>>) => {
          // 3 in stock: someone else buys 2, one is left for the 2 the booking wants.
          await p.book(p.newUser(), c.show, {
            count: 1,
            concessions: [{ concessionId: c.popcorn.id, quantity: 2 }],
          });
        },
        3,
      ],
      [
        'its points were spent meanwhile',
        'INSUFFICIENT_POINTS',
        async (c: Awaited<ReturnType<typeof expiredWithEverything>>) => {
          await p.book(c.user, p.showtime(), { pointsToRedeem: 100 });
        },
        10,
      ],
      [
        'its seats were taken meanwhile',
        'SEAT_UNAVAILABLE',
        async (c: Awaited<ReturnType<typeof expiredWithEverything>>) => {
          // Another booking has them at cinemas.
          const rival = randomUUID();
          const [tickets] = await engine.tickets.ofBookings([c.booking.id]);
          for (const t of tickets) kit.cinemas.reserved.set(`${c.show.id}:${t.seatId}`, rival);
        },
        10,
      ],
    ] as const)(
      'refunds a late payment in full when %s, and leaves everything as it was',
      async (_what, refusalCode, meanwhile, stock) => {
        const c = await expiredWithEverything(stock);
        await meanwhile(c);
        const before = await p.holdings(c.booking, [c.popcorn.id]);
        const reserved = new Map(kit.cinemas.reserved);
        const booking = await p.booking(c.booking.id);
        const events = await p.eventsOf(c.booking.id);

        expect((await p.deliver(c.payment)).RspCode).toBe('00');

        expect(await p.paymentRow(c.payment.transactionId)).toMatchObject({
          status: 'COMPLETED',
          outcome: 'REFUNDED_LATE',
        });
        expect(await p.refundsOf(c.booking.id)).toEqual([
          expect.objectContaining({
            kind: 'LATE_PAYMENT',
            payment_id: c.payment.id,
            amount: 160_000,
            percent: 100,
            status: 'PENDING',
            transaction_type: '02',
            reason: refusalCode,
          }),
        ]);
        // The re-takes ran under a savepoint that was rolled back: nothing moved.
        expect(await p.booking(c.booking.id)).toEqual(booking);
        expect(await p.holdings(c.booking, [c.popcorn.id])).toEqual(before);
        expect(kit.cinemas.reserved).toEqual(reserved);
        expect(await p.eventsOf(c.booking.id)).toEqual(events);
        expect(await ledgerMismatches(kit.dataSource)).toEqual([]);
        expect(await p.mailOf(c.booking.id)).toEqual([]);
      },
    );

    it('refunds a payment for a booking cancelled meanwhile', async () => {
      const { booking, payment } = await pendingPayment();
      await engine.lifecycle.cancelBooking(booking.id, { userId: booking.userId, isAdmin: false });
      expect((await p.deliver(payment)).RspCode).toBe('00');
      expect(await p.paymentRow(payment.transactionId)).toMatchObject({
        status: 'COMPLETED',
        outcome: 'REFUNDED_LATE',
      });
      expect(await p.refundsOf(booking.id)).toEqual([
        expect.objectContaining({
          kind: 'LATE_PAYMENT',
          amount: payment.amount,
          status: 'PENDING',
          transaction_type: '02',
          reason: 'BOOKING_CANCELLED',
        }),
      ]);
      expect((await p.booking(booking.id)).status).toBe('CANCELLED');
      expect(await p.ticketStatuses(booking.id)).toEqual(['CANCELLED', 'CANCELLED']);
    });
  });

  describe('reconciliation (querydr)', () => {
    const paidAnswer = (payment: Payment, overrides: Record<string, string> = {}) =>
      vnpayAnswer('00', {
        transactionStatus: overrides.vnp_TransactionStatus ?? '00',
        transactionNo: '15550001',
        amountVnd: payment.amount,
        raw: {
          vnp_ResponseCode: '00',
          vnp_TransactionStatus: '00',
          vnp_TxnRef: payment.transactionId,
          vnp_Amount: String(payment.amount * 100),
          vnp_BankCode: 'VCB',
          vnp_PayDate: vnpDate(new Date(payment.createdAt.getTime() + MINUTE)),
          ...overrides,
        },
      });

    /** When the attempt is first due for a query: 2 minutes after it started. */
    const dueAt = (payment: Payment) => new Date(payment.createdAt.getTime() + RECONCILE_FIRST_MS);
    /** When VNPay's "unknown transaction" is believed: the pay URL lapsed 5 minutes ago. */
    const lapsed = (payment: Payment) => new Date(payment.expiresAt.getTime() + RECONCILE_AFTER_MS);

    it('asks nothing before 2 minutes after the attempt started; then settles a paid attempt in time (the booking CONFIRMED)', async () => {
      const { booking, payment } = await pendingPayment();
      expect(payment.nextQueryAt).toEqual(dueAt(payment));
      p.vnpay.answerQueries(payment.transactionId, paidAnswer(payment));
      kit.clock.set(dueAt(payment).getTime() - 1);
      await engine.payments.reconcile(kit.clock.read());
      expect(p.vnpay.queriesOf(payment.transactionId)).toEqual([]);

      kit.clock.set(dueAt(payment));
      expect(await engine.payments.reconcile(kit.clock.read())).toBeGreaterThanOrEqual(1);
      const [query] = p.vnpay.queriesOf(payment.transactionId);
      expect(query.requestId).toMatch(/^[A-Za-z0-9]{1,32}$/);
      expect(query.transactionDate).toEqual(payment.createdAt);
      // VNPay's API is told this server's address (VNPAY_SERVER_IP).
      expect(query.ipAddr).toBe(TEST_SERVER_IP);
      expect(await p.paymentRow(payment.transactionId)).toMatchObject({
        status: 'COMPLETED',
        settled_by: 'QUERYDR',
        vnp_transaction_no: '15550001',
        vnp_bank_code: 'VCB',
        paid_at: new Date(payment.createdAt.getTime() + MINUTE),
        next_query_at: null,
      });
      // Paid, learnt while the booking still held its seats: confirmed in time.
      expect((await p.paymentRow(payment.transactionId)).outcome).toBe('CONFIRMED');
      expect(await p.booking(booking.id)).toMatchObject({
        status: 'CONFIRMED',
        paymentStatus: 'PAID',
      });
      // Settled: never asked again.
      kit.clock.advance(24 * 60 * MINUTE);
      await engine.payments.reconcile(kit.clock.read());
      expect(p.vnpay.queriesOf(payment.transactionId)).toHaveLength(1);
    });

    it('settles an attempt VNPay reports failed (00/02) as FAILED, cancelling the booking', async () => {
      const { booking, payment } = await pendingPayment();
      p.vnpay.answerQueries(
        payment.transactionId,
        paidAnswer(payment, { vnp_TransactionStatus: '02' }),
      );
      kit.clock.set(dueAt(payment));
      await engine.payments.reconcile(kit.clock.read());
      expect(await p.paymentRow(payment.transactionId)).toMatchObject({
        status: 'FAILED',
        outcome: 'BOOKING_CANCELLED',
        settled_by: 'QUERYDR',
        paid_at: null,
      });
      expect(await p.booking(booking.id)).toMatchObject({
        status: 'CANCELLED',
        paymentStatus: 'FAILED',
      });
    });

    it('marks an attempt VNPay does not know (91) EXPIRED; a late IPN for it is still processed', async () => {
      const { booking, payment } = await pendingPayment();
      p.vnpay.answerQueries(payment.transactionId, vnpayAnswer('91'), vnpayAnswer('91'));
      // While the pay URL works, "unknown" only means "not paid yet": asked again later.
      kit.clock.set(dueAt(payment));
      await engine.payments.reconcile(kit.clock.read());
      expect(await p.paymentRow(payment.transactionId)).toMatchObject({
        status: 'PENDING',
        next_query_at: new Date(dueAt(payment).getTime() + RECONCILE_FIRST_MS),
      });
      kit.clock.set(lapsed(payment));
      await engine.lifecycle.expirePending();
      await kit.cinemas.applyEvents(kit.dataSource);
      await engine.payments.reconcile(kit.clock.read());
      expect(await p.paymentRow(payment.transactionId)).toMatchObject({
        status: 'EXPIRED',
        settled_by: 'QUERYDR',
        vnp_response_code: '91',
        next_query_at: null,
      });
      kit.clock.advance(60 * MINUTE);
      await engine.payments.reconcile(kit.clock.read());
      expect(p.vnpay.queriesOf(payment.transactionId)).toHaveLength(2);

      // VNPay's IPN comes after all: the money was taken, so it must not be answered 02.
      expect(await p.deliver(payment)).toEqual({ RspCode: '00', Message: 'Confirm Success' });
      expect(await p.paymentRow(payment.transactionId)).toMatchObject({
        status: 'COMPLETED',
        outcome: 'LATE_CONFIRMED',
        settled_by: 'IPN',
      });
      expect((await p.booking(booking.id)).status).toBe('CONFIRMED');
    });

    it.each([
      ['unreachable', () => vnpayRefused()],
      ['still processing (00/01)', () => vnpayAnswer('00', { transactionStatus: '01' })],
      ['answering 99', () => vnpayAnswer('99')],
    ])('asks again later with backoff when VNPay is %s', async (_what, answer) => {
      const { booking, payment } = await pendingPayment();
      p.vnpay.answerQueries(payment.transactionId, answer(), answer());
      // After the pay URL lapsed (before, it asks every 2 minutes: see the 91 case).
      kit.clock.set(lapsed(payment));
      const first = kit.clock.read();
      await engine.payments.reconcile(first);
      expect(await p.paymentRow(payment.transactionId)).toMatchObject({
        status: 'PENDING',
        query_attempts: 1,
        next_query_at: new Date(first.getTime() + 2 * MINUTE),
      });
      await engine.payments.reconcile(new Date(first.getTime() + 2 * MINUTE - 1));
      expect(p.vnpay.queriesOf(payment.transactionId)).toHaveLength(1);

      kit.clock.set(first.getTime() + 2 * MINUTE);
      await engine.payments.reconcile(kit.clock.read());
      expect(await p.paymentRow(payment.transactionId)).toMatchObject({
        status: 'PENDING',
        query_attempts: 2,
        next_query_at: new Date(first.getTime() + 6 * MINUTE),
      });
      const ids = p.vnpay.queriesOf(payment.transactionId).map((q) => q.requestId);
      expect(new Set(ids).size).toBe(2);
      expect(ids.every((id) => /^[A-Za-z0-9]{1,32}$/.test(id))).toBe(true);
      expect((await p.booking(booking.id)).status).toBe('PENDING');
    });

    it('leaves PENDING (and logs) an attempt VNPay reports paid with another amount', async () => {
      const errors = jest.spyOn(log, 'error');
      const { booking, payment } = await pendingPayment();
      p.vnpay.answerQueries(payment.transactionId, {
        ...paidAnswer(payment, { vnp_Amount: String((payment.amount - 1_000) * 100) }),
        amountVnd: payment.amount - 1_000,
      });
      kit.clock.set(dueAt(payment));
      await engine.payments.reconcile(kit.clock.read());
      expect(await p.paymentRow(payment.transactionId)).toMatchObject({
        status: 'PENDING',
        outcome: null,
        settled_at: null,
      });
      expect((await p.booking(booking.id)).status).toBe('PENDING');
      expect(errors).toHaveBeenCalledWith(
        expect.objectContaining({ paymentId: payment.id, amount: payment.amount - 1_000 }),
        expect.stringMatching(/another amount/),
      );
    });
  });

  describe('StartPayment', () => {
    it('refuses a booking that is not PENDING with INVALID_STATE_TRANSITION', async () => {
      const { booking: confirmed } = await p.paidBooking();
      const { booking: cancelled } = await pendingPayment();
      await engine.lifecycle.cancelBooking(cancelled.id, {
        userId: cancelled.userId,
        isAdmin: false,
      });
      const { booking: expired } = await pendingPayment();
      kit.clock.advance(10 * MINUTE);
      await engine.lifecycle.expirePending();
      for (const [booking, reason] of [
        [confirmed, 'CONFIRMED_TO_CONFIRMED'],
        [cancelled, 'CANCELLED_TO_CONFIRMED'],
        [expired, 'EXPIRED_TO_CONFIRMED'],
      ] as const) {
        const before = await engine.payments.latestOf([booking.id]);
        const error = await refusal(() => p.start(booking));
        expect(error.extensions).toMatchObject({ code: 'INVALID_STATE_TRANSITION', reason });
        expect(await engine.payments.latestOf([booking.id])).toEqual(before);
      }
    });

    it('refuses a PENDING booking past its expiry (5 seconds of margin)', async () => {
      const booking = await p.book(p.newUser(), p.showtime());
      const expiresAt = booking.expiresAt!.getTime();
      kit.clock.set(expiresAt - 5_000);
      const error = await refusal(() => p.start(booking));
      expect(error.extensions).toMatchObject({
        code: 'INVALID_STATE_TRANSITION',
        reason: 'EXPIRED_TO_CONFIRMED',
      });
      kit.clock.set(expiresAt - 5_001);
      await expect(p.start(booking)).resolves.toMatchObject({ status: 'PENDING' });
      kit.clock.set(expiresAt);
      expect((await refusal(() => p.start(booking))).extensions.code).toBe(
        'INVALID_STATE_TRANSITION',
      );
    });

    it("answers NOT_FOUND for someone else's booking or none", async () => {
      const booking = await p.book(p.newUser(), p.showtime());
      const theirs = await refusal(() =>
        engine.payments.start(booking.id, { userId: p.newUser() }),
      );
      expect(theirs.extensions.code).toBe('NOT_FOUND');
      const none = await refusal(() =>
        engine.payments.start(randomUUID(), { userId: booking.userId }),
      );
      expect(none.extensions.code).toBe('NOT_FOUND');
      expect(await engine.payments.latestOf([booking.id])).toEqual([null]);
    });

    it(`answers RATE_LIMITED to the attempt after the ${MAX_ATTEMPTS_PER_BOOKING}th`, async () => {
      const booking = await p.book(p.newUser(), p.showtime());
      const refs = new Set<string>();
      for (let i = 0; i < MAX_ATTEMPTS_PER_BOOKING; i += 1) {
        refs.add((await p.start(booking)).transactionId);
      }
      expect(refs.size).toBe(MAX_ATTEMPTS_PER_BOOKING);
      const error = await refusal(() => p.start(booking));
      expect(error.extensions).toMatchObject({ code: 'RATE_LIMITED', retryAfter: 600 });
      const [{ count }] = await kit.dataSource.query<{ count: number }[]>(
        'SELECT count(*)::int AS count FROM payments WHERE booking_id = $1',
        [booking.id],
      );
      expect(count).toBe(MAX_ATTEMPTS_PER_BOOKING);
    });

    it('confirms a booking of 0 VND at once, with a COMPLETED payment and no pay URL', async () => {
      const free = await p.promotion({ type: 'FIXED_AMOUNT', value: 500_000 });
      const booking = await p.book(p.newUser(), p.showtime(), { promotionCode: free.code });
      expect(booking.finalAmount).toBe(0);
      const payment = await p.start(booking);
      expect(payment).toMatchObject({
        status: 'COMPLETED',
        outcome: 'CONFIRMED',
        amount: 0,
        paymentUrl: '',
        paidAt: kit.clock.read(),
        nextQueryAt: null,
      });
      expect(await p.booking(booking.id)).toMatchObject({
        status: 'CONFIRMED',
        paymentStatus: 'PAID',
      });
      expect(await p.ticketStatuses(booking.id)).toEqual(['VALID', 'VALID']);
      expect((await p.mailOf(booking.id)).map((m) => m.kind)).toEqual(['booking-confirmed']);
      // Nothing for reconciliation to ask VNPay about.
      kit.clock.advance(60 * MINUTE);
      await engine.payments.reconcile(kit.clock.read());
      expect(p.vnpay.queriesOf(payment.transactionId)).toEqual([]);
    });

    it('refuses a booking under VNPay’s minimum amount (5,000 VND) with BAD_USER_INPUT', async () => {
      const almost = await p.promotion({ type: 'FIXED_AMOUNT', value: 196_000 });
      const booking = await p.book(p.newUser(), p.showtime(), { promotionCode: almost.code });
      expect(booking.finalAmount).toBe(4_000);
      const error = await refusal(() => p.start(booking));
      expect(error.extensions).toMatchObject({ code: 'BAD_USER_INPUT', field: 'bookingId' });
    });

    const payParams = (payment: Payment): VnpParams =>
      Object.fromEntries<string>(new URL(payment.paymentUrl).searchParams);

    it('makes the pay URL expire with the booking when it expires within 15 minutes', async () => {
      const booking = await p.book(p.newUser(), p.showtime());
      kit.clock.advance(2 * MINUTE);
      const payment = await p.start(booking);
      expect(payment.expiresAt).toEqual(booking.expiresAt);
      const params = payParams(payment);
      expect(verifyParams(params, kit.config.vnpay.hashSecret)).toBe(true);
      expect(params).toMatchObject({
        vnp_TxnRef: payment.transactionId,
        vnp_Amount: String(booking.finalAmount * 100),
        vnp_TmnCode: kit.config.vnpay.tmnCode,
        vnp_CreateDate: vnpDate(kit.clock.read()),
        vnp_ExpireDate: vnpDate(booking.expiresAt!),
      });
      expect(parseVnpDate(params.vnp_ExpireDate)).toEqual(booking.expiresAt);
      expect(await p.booking(booking.id)).toMatchObject({ paymentStatus: 'PENDING' });
    });

    it('makes the pay URL expire after 15 minutes when the booking lasts longer', async () => {
      const patient = p.anotherEngine({ bookingPendingTtlSeconds: 3600, log });
      const booking = await p.book(p.newUser(), p.showtime(), {}, patient);
      expect(booking.expiresAt!.getTime() - kit.clock.now.getTime()).toBe(60 * MINUTE);
      const payment = await p.start(booking, patient);
      const fifteen = new Date(kit.clock.now.getTime() + PAY_URL_TTL_MS);
      expect(payment.expiresAt).toEqual(fifteen);
      expect(payParams(payment).vnp_ExpireDate).toBe(vnpDate(fifteen));
      expect(payment.nextQueryAt).toEqual(new Date(kit.clock.now.getTime() + RECONCILE_FIRST_MS));
    });
  });

  it('keeps every balance equal to the sum of its ledger', async () => {
    expect(await ledgerMismatches(kit.dataSource)).toEqual([]);
  });
});

import jsQR from 'jsqr';
import type { ParsedMail } from 'mailparser';
import { randomUUID } from 'node:crypto';
import { PNG } from 'pngjs';
import type { BookingEngine } from '../../subgraphs/bookings/src/booking-engine';
import { createBookingEngine } from '../../subgraphs/bookings/src/booking-engine';
import {
  parseVnpDate,
  signParams,
  verifyParams,
  type VnpParams,
} from '../../subgraphs/bookings/src/payment/vnpay/vnpay-signing';
import { contractOperation } from '../support/contract';
import { startSmtpSink, type SmtpSink } from '../support/smtp-sink';
import { startTestStack, type TestStack } from '../support/test-stack';
import { waitFor } from '../support/wait-for';
import { subscribe } from '../support/ws-client';
import {
  codeOf,
  createBooking,
  holdSeats,
  MINUTE,
  ok,
  scheduleShowtime,
  seatStates,
  type ScheduledShowtime,
} from './booking-kit';

/**
 * Issue 12 through the gateway, on PostgreSQL and Redis, with the local VNPay simulator the
 * stack starts and a real SMTP server (smtp-server): StartPayment, the IPN matrix, late
 * payments (seats free, seats re-sold, delivered three times at once), the return URL,
 * refunds by policy through VNPay's refund API, reconciliation by querydr, and the emails
 * (QR codes decoded back and scanned at the door).
 */
describe('payments through the gateway', () => {
  let t: TestStack;
  let smtp: SmtpSink;
  let engine: BookingEngine;
  let base: string;
  let secret: string;

  beforeAll(async () => {
    smtp = await startSmtpSink();
    t = await startTestStack({ env: { SMTP_URL: smtp.url, FRONTEND_URL: 'http://front.test' } });
    base = t.gatewayUrl.replace(/\/graphql$/, '');
    secret = t.config.vnpay.hashSecret;
    // An engine over the stack's bookings database, for the jobs' passes at chosen instants.
    engine = createBookingEngine({
      dataSource: t.stack.subgraphs.bookings.dataSource,
      config: {
        internalSecret: t.config.internalSecret,
        bookingPendingTtlSeconds: t.config.bookingPendingTtlSeconds,
        subgraphUrls: { ...t.config.subgraphUrls, cinemas: t.stack.subgraphs.cinemas.url },
        vnpay: { ...t.config.vnpay, payUrl: t.stack.vnpay!.payUrl, apiUrl: t.stack.vnpay!.apiUrl },
      },
    });
  }, 120_000);

  afterAll(async () => {
    await t?.stop();
    await smtp?.stop();
  });

  /** A customer the users subgraph knows, with an email (tokens carry it). */
  async function customer(locale?: 'en'): Promise<{ id: string; email: string; token: string }> {
    const id = `user_pay_${randomUUID().slice(0, 8)}`;
    const email = `${id}@example.test`;
    const token = t.token(id, 'CUSTOMER', { email });
    ok(await t.query(contractOperation('Me'), {}, { token }));
    if (locale) {
      ok(
        await t.query(
          'mutation($locale: String!) { updateProfile(input: { locale: $locale }) { id } }',
          { locale },
          { token },
        ),
      );
    }
    return { id, email, token };
  }

  interface Booked {
    id: string;
    bookingCode: string;
    finalAmount: number;
    expiresAt: string;
    show: ScheduledShowtime;
    seatIds: string[];
  }

  async function book(user: string, minutesAhead = 3 * 24 * 60, seats = 2): Promise<Booked> {
    const show = await scheduleShowtime(t, { minutesAhead, price: 95_000 });
    const seatIds = show.seats.slice(0, seats).map((s) => s.seatId);
    await holdSeats(t, user, show.showtimeId, seatIds);
    const made = ok(await createBooking(t, user, { showtimeId: show.showtimeId, seatIds })).data!
      .createBooking as Omit<Booked, 'show' | 'seatIds'>;
    return { ...made, show, seatIds };
  }

  async function startPayment(user: string, bookingId: string) {
    const res = ok(
      await t.query(contractOperation('StartPayment'), { bookingId }, { token: t.token(user) }),
    );
    return res.data!.startPayment as {
      id: string;
      status: string;
      amount: number;
      paymentUrl: string;
      transactionId: string;
    };
  }

  async function readBooking(user: string, id: string) {
    return ok(await t.query(contractOperation('Booking'), { id }, { token: t.token(user) })).data!
      .booking as {
      status: string;
      paymentStatus: string;
      tickets: { ticketCode: string; status: string }[];
      payment: { status: string; paidAt: string | null } | null;
    };
  }

  /** VNPay's IPN for an attempt, signed with the merchant's secret (as VNPay signs it). */
  function ipnParams(
    payment: { transactionId: string; amount: number },
    overrides: Partial<VnpParams> = {},
  ): VnpParams {
    const params: VnpParams = {
      vnp_Amount: String(payment.amount * 100),
      vnp_BankCode: 'NCB',
      vnp_BankTranNo: `VNP${Date.now()}`,
      vnp_CardType: 'ATM',
      vnp_OrderInfo: `Thanh toan ve xem phim`,
      vnp_PayDate: '20251205120000',
      vnp_ResponseCode: '00',
      vnp_TmnCode: t.config.vnpay.tmnCode,
      vnp_TransactionNo: String(Math.floor(Math.random() * 1e8)),
      vnp_TransactionStatus: '00',
      vnp_TxnRef: payment.transactionId,
      ...overrides,
    };
    return { ...params, vnp_SecureHash: signParams(params, secret) };
  }

  async function deliverIpn(params: VnpParams): Promise<{ RspCode: string; Message: string }> {
    const res = await fetch(`${base}/payments/vnpay/ipn?${new URLSearchParams(params).toString()}`);
    expect(res.status).toBe(200);
    return (await res.json()) as { RspCode: string; Message: string };
  }

  const mailTo = (email: string, subject?: RegExp) => (mail: ParsedMail) =>
    (Array.isArray(mail.to) ? mail.to : [mail.to]).some((a) =>
      a?.value.some((v) => v.address === email),
    ) &&
    (!subject || subject.test(mail.subject ?? ''));

  const paymentRow = async (transactionId: string) =>
    (
      await t.stack.subgraphs.bookings.dataSource.query<
        Array<{ status: string; outcome: string | null }>
      >('SELECT status, outcome FROM payments WHERE txn_ref = $1', [transactionId])
    )[0];

  const refundsOf = (bookingId: string) =>
    t.stack.subgraphs.bookings.dataSource.query<
      Array<{
        id: string;
        kind: string;
        status: string;
        amount: number;
        transaction_type: string;
        vnp_response_code: string | null;
        in_doubt_since: Date | null;
        last_error: string | null;
      }>
    >('SELECT * FROM refunds WHERE booking_id = $1', [bookingId]);

  it('StartPayment answers a PENDING attempt with a pay URL signed as DESIGN.md §4 says, in GMT+7, expiring with the booking', async () => {
    const user = await customer();
    const booked = await book(user.id);
    const first = await startPayment(user.id, booked.id);
    expect(first).toMatchObject({ status: 'PENDING', amount: booked.finalAmount });
    const url = new URL(first.paymentUrl);
    expect(`${url.origin}${url.pathname}`).toBe(t.stack.vnpay!.payUrl);
    const params: VnpParams = Object.fromEntries(url.searchParams);
    expect(verifyParams(params, secret)).toBe(true);
    expect(params).toMatchObject({
      vnp_Version: '2.1.0',
      vnp_Command: 'pay',
      vnp_TmnCode: t.config.vnpay.tmnCode,
      vnp_Amount: String(booked.finalAmount * 100),
      vnp_CurrCode: 'VND',
      vnp_TxnRef: first.transactionId,
      vnp_OrderType: 'other',
    });
    expect(params.vnp_SecureHashType).toBeUndefined();
    expect(params.vnp_OrderInfo).toMatch(/^[\x20-\x7e]+$/);
    // Dates in GMT+7: the creation date read as GMT+7 is now.
    const created = parseVnpDate(params.vnp_CreateDate)!;
    expect(Math.abs(created.getTime() - Date.now())).toBeLessThan(60_000);
    expect(parseVnpDate(params.vnp_ExpireDate)!.getTime()).toBeLessThanOrEqual(
      new Date(booked.expiresAt).getTime(),
    );
    // A second attempt has its own reference.
    const second = await startPayment(user.id, booked.id);
    expect(second.transactionId).not.toBe(first.transactionId);
    // Someone else's booking is not found; an unpaid booking of theirs is no business of ours.
    const other = await customer();
    const res = await t.query(
      contractOperation('StartPayment'),
      { bookingId: booked.id },
      { token: other.token },
    );
    expect(codeOf(res)).toBe('NOT_FOUND');
  }, 60_000);

  it('a whole purchase: pay on the simulator → IPN → CONFIRMED, BOOKED for every subscriber, one email whose QR codes scan at the door', async () => {
    const user = await customer();
    // Near the start, so the doors are open for the scan.
    const booked = await book(user.id, 10);
    const watcher = subscribe(t.gatewayUrl, contractOperation('SeatUpdates'), {
      showtimeId: booked.show.showtimeId,
    });
    await watcher.connected;
    await waitFor(
      async () => (await t.redisSubscribers(booked.show.showtimeId)) > 0,
      'the seat map subscription to be listening',
    );
    const payment = await startPayment(user.id, booked.id);
    const paid = await t.stack.vnpay!.pay(payment.paymentUrl, 'approve');
    expect(paid.ipn).toEqual({ RspCode: '00', Message: 'Confirm Success' });
    const booking = await readBooking(user.id, booked.id);
    expect(booking).toMatchObject({ status: 'CONFIRMED', paymentStatus: 'PAID' });
    expect(booking.payment).toMatchObject({ status: 'COMPLETED' });
    expect(booking.payment!.paidAt).not.toBeNull();
    expect(booking.tickets.map((x) => x.status)).toEqual(['VALID', 'VALID']);
    for (;;) {
      const event = await watcher.next();
      const seats = (event.data as { seatUpdates: { seats: { seatId: string; status: string }[] } })
        .seatUpdates.seats;
      if (booked.seatIds.every((id) => seats.find((s) => s.seatId === id)?.status === 'BOOKED'))
        break;
    }
    await watcher.close();

    // The replay changes nothing.
    const again = await deliverIpn(
      ipnParams(payment, {
        vnp_TransactionNo: t.stack.vnpay!.transaction(payment.transactionId)!.transactionNo!,
      }),
    );
    expect(again.RspCode).toBe('02');

    // One confirmation email, with one inline QR code per ticket that decodes to a ticket the
    // door accepts.
    const mail = await smtp.next(mailTo(user.email, new RegExp(booked.bookingCode)));
    const qrs = mail.attachments.filter((a) => a.contentType === 'image/png');
    expect(qrs).toHaveLength(2);
    expect(
      qrs.every(
        (a) =>
          a.contentId && mail.html && mail.html.includes(`cid:${a.contentId.replace(/[<>]/g, '')}`),
      ),
    ).toBe(true);
    const staff = t.token('user_staff_pay', 'STAFF');
    const scanned: string[] = [];
    for (const qr of qrs) {
      const png = PNG.sync.read(qr.content);
      const decoded = jsQR(new Uint8ClampedArray(png.data), png.width, png.height);
      expect(decoded).not.toBeNull();
      const res = ok(
        await t.query(
          contractOperation('ValidateTicket'),
          { code: decoded!.data },
          { token: staff },
        ),
      );
      expect(res.data!.validateTicket.accepted).toBe(true);
      scanned.push(res.data!.validateTicket.ticket.ticketCode as string);
    }
    expect(scanned.sort()).toEqual(booking.tickets.map((x) => x.ticketCode).sort());
    await new Promise<void>((resolve) => setImmediate(resolve));
    expect(smtp.messages.filter(mailTo(user.email, new RegExp(booked.bookingCode)))).toHaveLength(
      1,
    );
  }, 90_000);

  it('the IPN matrix: 97 tampered or unsigned, 01 unknown order, 04 wrong amount, and none of them changes anything', async () => {
    const user = await customer();
    const booked = await book(user.id);
    const payment = await startPayment(user.id, booked.id);
    const good = ipnParams(payment);

    expect((await deliverIpn({ ...good, vnp_Amount: String(payment.amount * 10) })).RspCode).toBe(
      '97',
    );
    expect((await deliverIpn({ ...good, vnp_ResponseCode: '24' })).RspCode).toBe('97');
    const { vnp_SecureHash: _dropped, ...unsigned } = good;
    expect((await deliverIpn(unsigned)).RspCode).toBe('97');
    // A repeated key is no VNPay call.
    const doubled = await fetch(
      `${base}/payments/vnpay/ipn?${new URLSearchParams(good).toString()}&vnp_TxnRef=${payment.transactionId}`,
    );
    expect(((await doubled.json()) as { RspCode: string }).RspCode).toBe('97');
    expect(
      (await deliverIpn(ipnParams({ transactionId: 'NOSUCHORDER1', amount: payment.amount })))
        .RspCode,
    ).toBe('01');
    expect((await deliverIpn(ipnParams({ ...payment, amount: payment.amount + 1 }))).RspCode).toBe(
      '04',
    );

    expect(await readBooking(user.id, booked.id)).toMatchObject({
      status: 'PENDING',
      paymentStatus: 'PENDING',
    });
    expect(await paymentRow(payment.transactionId)).toEqual({ status: 'PENDING', outcome: null });
    // The valid one still works afterwards.
    expect((await deliverIpn(good)).RspCode).toBe('00');
    expect((await readBooking(user.id, booked.id)).status).toBe('CONFIRMED');
  }, 60_000);

  it('a failed payment cancels the booking and releases its seats; the replay answers 02', async () => {
    const user = await customer();
    const booked = await book(user.id);
    const payment = await startPayment(user.id, booked.id);
    const declined = await t.stack.vnpay!.pay(payment.paymentUrl, 'decline');
    expect(declined.ipn?.RspCode).toBe('00');
    expect(await readBooking(user.id, booked.id)).toMatchObject({
      status: 'CANCELLED',
      paymentStatus: 'FAILED',
    });
    expect(await paymentRow(payment.transactionId)).toEqual({
      status: 'FAILED',
      outcome: 'BOOKING_CANCELLED',
    });
    await waitFor(async () => {
      const seats = await seatStates(t, booked.show.showtimeId);
      return booked.seatIds.every((id) => seats.get(id)!.status === 'AVAILABLE');
    }, 'the seats to be AVAILABLE again');
    expect((await deliverIpn(ipnParams(payment, { vnp_ResponseCode: '24' }))).RspCode).toBe('02');
  }, 60_000);

  /** Pays on the simulator while the IPN cannot reach us (it is "delayed"); returns the IPN. */
  async function payWithLostIpn(paymentUrl: string, transactionId: string): Promise<VnpParams> {
    const sim = t.stack.vnpay!;
    sim.setIpnUrl('http://127.0.0.1:9/payments/vnpay/ipn');
    try {
      const paid = await sim.pay(paymentUrl, 'approve');
      expect(paid.ipn).toBeNull();
    } finally {
      sim.setIpnUrl(`${base}/payments/vnpay/ipn`);
    }
    const done = sim.transaction(transactionId)!;
    return ipnParams(
      { transactionId, amount: done.amountVnd },
      {
        vnp_TransactionNo: done.transactionNo!,
        vnp_BankTranNo: done.bankTranNo!,
        vnp_PayDate: done.payDate!,
      },
    );
  }

  /** Runs the expiry job as if 11 minutes had passed, and waits for the seats to be free. */
  async function expire(booked: Booked): Promise<void> {
    await engine.lifecycle.expirePending(new Date(Date.now() + 11 * MINUTE));
    await waitFor(async () => {
      const seats = await seatStates(t, booked.show.showtimeId);
      return booked.seatIds.every((id) => seats.get(id)!.status === 'AVAILABLE');
    }, 'the expired booking’s seats to be AVAILABLE');
  }

  it('a late payment whose seats are still free takes them again and confirms the booking', async () => {
    const user = await customer();
    const booked = await book(user.id);
    const payment = await startPayment(user.id, booked.id);
    const ipn = await payWithLostIpn(payment.paymentUrl, payment.transactionId);
    await expire(booked);
    expect((await readBooking(user.id, booked.id)).status).toBe('EXPIRED');

    expect((await deliverIpn(ipn)).RspCode).toBe('00');
    const booking = await readBooking(user.id, booked.id);
    expect(booking).toMatchObject({ status: 'CONFIRMED', paymentStatus: 'PAID' });
    expect(booking.tickets.map((x) => x.status)).toEqual(['VALID', 'VALID']);
    expect(await paymentRow(payment.transactionId)).toEqual({
      status: 'COMPLETED',
      outcome: 'LATE_CONFIRMED',
    });
    await waitFor(async () => {
      const seats = await seatStates(t, booked.show.showtimeId);
      return booked.seatIds.every((id) => seats.get(id)!.status === 'BOOKED');
    }, 'the seats to be BOOKED');
    expect(await refundsOf(booked.id)).toEqual([]);
  }, 90_000);

  it('a late payment whose seats were re-sold is refunded exactly once through VNPay, even delivered three times at once, and the customer is told', async () => {
    const user = await customer();
    const booked = await book(user.id);
    const payment = await startPayment(user.id, booked.id);
    const ipn = await payWithLostIpn(payment.paymentUrl, payment.transactionId);
    await expire(booked);
    // Someone else books the same seats meanwhile.
    const rival = await customer();
    await holdSeats(t, rival.id, booked.show.showtimeId, booked.seatIds);
    ok(
      await createBooking(t, rival.id, {
        showtimeId: booked.show.showtimeId,
        seatIds: booked.seatIds,
      }),
    );

    const answers = await Promise.all([deliverIpn(ipn), deliverIpn(ipn), deliverIpn(ipn)]);
    expect(answers.map((a) => a.RspCode).sort()).toEqual(['00', '02', '02']);
    expect(await paymentRow(payment.transactionId)).toEqual({
      status: 'COMPLETED',
      outcome: 'REFUNDED_LATE',
    });
    expect((await readBooking(user.id, booked.id)).status).toBe('EXPIRED');

    await waitFor(
      async () => (await refundsOf(booked.id))[0]?.status === 'COMPLETED',
      'the refund to be paid back',
      30_000,
    );
    const refunds = await refundsOf(booked.id);
    expect(refunds).toHaveLength(1);
    expect(refunds[0]).toMatchObject({
      kind: 'LATE_PAYMENT',
      amount: payment.amount,
      transaction_type: '02',
      vnp_response_code: '00',
    });
    const atVnpay = t.stack.vnpay!.transaction(payment.transactionId)!;
    expect(atVnpay.refunds).toHaveLength(1);
    expect(atVnpay.refundedVnd).toBe(payment.amount);
    expect((await readBooking(user.id, booked.id)).paymentStatus).toBe('REFUNDED');
    await smtp.next(mailTo(user.email));
    // The rival's booking still has the seats.
    const seats = await seatStates(t, booked.show.showtimeId, rival.id);
    expect(booked.seatIds.every((id) => seats.get(id)!.heldByMe)).toBe(true);
  }, 90_000);

  it('cancelling a paid booking refunds by policy through VNPay (03 partial) and mails the customer in their language', async () => {
    const user = await customer('en');
    const booked = await book(user.id);
    const payment = await startPayment(user.id, booked.id);
    expect((await t.stack.vnpay!.pay(payment.paymentUrl, 'approve')).ipn?.RspCode).toBe('00');
    const res = ok(
      await t.query(contractOperation('CancelBooking'), { id: booked.id }, { token: user.token }),
    );
    const expected = Math.floor((payment.amount * 90) / 100);
    expect(res.data!.cancelBooking.refund).toEqual({ amount: expected, status: 'PENDING' });
    await waitFor(
      async () => (await refundsOf(booked.id))[0]?.status === 'COMPLETED',
      'the refund to be paid back',
      30_000,
    );
    expect((await refundsOf(booked.id))[0]).toMatchObject({
      kind: 'POLICY',
      transaction_type: '03',
      vnp_response_code: '00',
    });
    expect(t.stack.vnpay!.transaction(payment.transactionId)!.refundedVnd).toBe(expected);
    expect((await readBooking(user.id, booked.id)).paymentStatus).toBe('PARTIALLY_REFUNDED');
    const mails = [
      await smtp.next(mailTo(user.email, /cancel/i)),
      await smtp.next(mailTo(user.email, /refund/i)),
    ];
    expect(mails.every((m) => /[a-z]/i.test(m.subject ?? ''))).toBe(true);
  }, 90_000);

  it('a cancelled showtime cancels its bookings: the paid one refunded in full through VNPay (02), the unpaid one freed, every customer told; a payment still on its way is refunded whole', async () => {
    const payer = await customer('en');
    const waiter = await customer('en');
    const show = await scheduleShowtime(t, { minutesAhead: 3 * 60, price: 95_000 });
    const bookSeats = async (user: string, seatIds: string[]) => {
      await holdSeats(t, user, show.showtimeId, seatIds);
      return ok(await createBooking(t, user, { showtimeId: show.showtimeId, seatIds })).data!
        .createBooking as { id: string; bookingCode: string; finalAmount: number };
    };
    const paid = await bookSeats(payer.id, [show.seats[0].seatId, show.seats[1].seatId]);
    const unpaid = await bookSeats(waiter.id, [show.seats[2].seatId]);
    const payment = await startPayment(payer.id, paid.id);
    expect((await t.stack.vnpay!.pay(payment.paymentUrl, 'approve')).ipn?.RspCode).toBe('00');
    // The other customer pays just as the cinema cancels: the IPN comes afterwards.
    const late = await startPayment(waiter.id, unpaid.id);
    const lateIpn = await payWithLostIpn(late.paymentUrl, late.transactionId);

    const facts = async () =>
      ok(
        await t.query(
          'query($id: ID!) { showtime(id: $id) { status availableSeats availability { total available } } }',
          { id: show.showtimeId },
        ),
      ).data!.showtime as {
        status: string;
        availableSeats: number;
        availability: { total: number; available: number };
      };
    expect(await facts()).toEqual({
      status: 'SCHEDULED',
      availableSeats: 29,
      availability: { total: 32, available: 29 },
    });
    ok(
      await t.query(
        'mutation($id: ID!) { cancelShowtime(id: $id) { id } }',
        { id: show.showtimeId },
        { token: t.token('user_admin', 'ADMIN') },
      ),
    );
    // Anyone looking sees it cancelled and nothing free (the catalog cache drops what it
    // kept of the showtime on its event).
    await waitFor(
      async () => (await facts()).status === 'CANCELLED',
      'the showtime to read CANCELLED',
      5_000,
    );
    expect(await facts()).toEqual({
      status: 'CANCELLED',
      availableSeats: 0,
      availability: { total: 32, available: 0 },
    });
    await waitFor(
      async () => (await refundsOf(paid.id))[0]?.status === 'COMPLETED',
      'the paid booking to be refunded',
      30_000,
    );
    // Three hours before the start the policy would keep 30%: nothing is kept here.
    expect(await refundsOf(paid.id)).toEqual([
      expect.objectContaining({
        kind: 'SHOWTIME_CANCELLED',
        amount: payment.amount,
        transaction_type: '02',
        vnp_response_code: '00',
      }),
    ]);
    expect(t.stack.vnpay!.transaction(payment.transactionId)!.refundedVnd).toBe(payment.amount);
    const paidNow = await readBooking(payer.id, paid.id);
    expect(paidNow).toMatchObject({ status: 'CANCELLED', paymentStatus: 'REFUNDED' });
    expect(paidNow.tickets.map((x) => x.status)).toEqual(['CANCELLED', 'CANCELLED']);
    await waitFor(
      async () => (await readBooking(waiter.id, unpaid.id)).status === 'CANCELLED',
      'the unpaid booking to be cancelled',
    );
    expect(await refundsOf(unpaid.id)).toEqual([]);

    const toPayer = await smtp.next(mailTo(payer.email, /^Showtime cancelled/));
    expect(toPayer.text).toContain(paid.bookingCode);
    expect(toPayer.text).toMatch(/refunded .*\(100% of the amount paid\)/);
    // Once VNPay paid it back: the refund, not a late payment's wording.
    const refunded = await smtp.next(mailTo(payer.email, /^Refund completed/));
    expect(refunded.text).toMatch(/We have refunded .*\(100% of the amount paid\)/);
    const toWaiter = await smtp.next(mailTo(waiter.email, /^Showtime cancelled/));
    expect(toWaiter.text).toContain('nothing was charged');

    // The customer who was paying meanwhile gets all of it back; the booking stays cancelled.
    expect((await deliverIpn(lateIpn)).RspCode).toBe('00');
    await waitFor(
      async () => (await refundsOf(unpaid.id))[0]?.status === 'COMPLETED',
      'the late payment to be refunded',
      30_000,
    );
    expect((await refundsOf(unpaid.id))[0]).toMatchObject({
      kind: 'LATE_PAYMENT',
      amount: late.amount,
    });
    expect((await readBooking(waiter.id, unpaid.id)).status).toBe('CANCELLED');

    // Delivered again (a consumer that crashed before acknowledging), it changes nothing.
    expect(await engine.lifecycle.cancelForShowtime(show.showtimeId)).toBe(0);
    expect(await refundsOf(paid.id)).toHaveLength(1);
  }, 90_000);

  it('a partial refund VNPay carried out but whose answer was lost stays PENDING in doubt, is never sent again, and is completed once querydr shows it', async () => {
    const user = await customer('en');
    const booked = await book(user.id);
    const payment = await startPayment(user.id, booked.id);
    expect((await t.stack.vnpay!.pay(payment.paymentUrl, 'approve')).ipn?.RspCode).toBe('00');
    // VNPay pays the refund back, then the connection resets before its answer arrives.
    t.stack.vnpay!.loseRefundAnswers(payment.transactionId);
    const res = ok(
      await t.query(contractOperation('CancelBooking'), { id: booked.id }, { token: user.token }),
    );
    const expected = Math.floor((payment.amount * 90) / 100);
    expect(res.data!.cancelBooking.refund).toEqual({ amount: expected, status: 'PENDING' });
    // In doubt from before it is sent; "no answer recorded yet" until the lost answer is seen.
    await waitFor(
      async () => {
        const row = (await refundsOf(booked.id))[0];
        return row?.in_doubt_since != null && !/no answer recorded yet/.test(row.last_error ?? '');
      },
      'the refunds job to send the refund and lose the answer',
      30_000,
    );
    expect((await refundsOf(booked.id))[0]).toMatchObject({
      status: 'PENDING',
      transaction_type: '03',
    });
    expect(t.stack.vnpay!.transaction(payment.transactionId)!.refunds).toHaveLength(1);
    // The customer sees it pending, and a second cancellation is refused.
    expect((await readBooking(user.id, booked.id)).paymentStatus).toBe('PAID');
    const again = await t.query(
      contractOperation('CancelBooking'),
      { id: booked.id },
      { token: user.token },
    );
    expect(codeOf(again)).toBe('INVALID_STATE_TRANSITION');

    // The reconciliation (at a later instant) asks VNPay and settles it.
    expect(
      await engine.refunds.reconcile(new Date(Date.now() + 10 * MINUTE)),
    ).toBeGreaterThanOrEqual(1);
    expect((await refundsOf(booked.id))[0]).toMatchObject({
      status: 'COMPLETED',
      in_doubt_since: null,
    });
    const atVnpay = t.stack.vnpay!.transaction(payment.transactionId)!;
    expect(atVnpay.refunds).toHaveLength(1);
    expect(atVnpay.refundedVnd).toBe(expected);
    expect((await readBooking(user.id, booked.id)).paymentStatus).toBe('PARTIALLY_REFUNDED');
    await smtp.next(mailTo(user.email, /^Refund completed/));
  }, 90_000);

  it('the return URL checks the signature and redirects to FRONTEND_URL with the booking and the result, changing nothing', async () => {
    const user = await customer();
    const booked = await book(user.id);
    const payment = await startPayment(user.id, booked.id);
    const params = ipnParams(payment);
    const good = await fetch(
      `${base}/payments/vnpay/return?${new URLSearchParams(params).toString()}`,
      {
        redirect: 'manual',
      },
    );
    expect(good.status).toBe(302);
    const target = new URL(good.headers.get('location')!);
    expect(target.origin).toBe('http://front.test');
    expect(target.pathname).toBe('/payment/result');
    expect(target.searchParams.get('bookingId')).toBe(booked.id);
    expect(target.searchParams.get('result')).toBe('success');
    const forged = await fetch(
      `${base}/payments/vnpay/return?${new URLSearchParams({ ...params, vnp_Amount: '100' }).toString()}`,
      { redirect: 'manual' },
    );
    expect(new URL(forged.headers.get('location')!).searchParams.get('result')).toBe('invalid');
    // Only the IPN settles a payment.
    expect((await readBooking(user.id, booked.id)).status).toBe('PENDING');
    expect(await paymentRow(payment.transactionId)).toEqual({ status: 'PENDING', outcome: null });
  }, 60_000);

  it('reconciliation asks VNPay (querydr) about a payment whose IPN never came, and settles it', async () => {
    const user = await customer();
    const booked = await book(user.id);
    const payment = await startPayment(user.id, booked.id);
    await payWithLostIpn(payment.paymentUrl, payment.transactionId);
    // An attempt nobody paid is learnt to be EXPIRED.
    const unpaid = await startPayment(user.id, booked.id);
    const settled = await engine.payments.reconcile(new Date(Date.now() + 30 * MINUTE));
    expect(settled).toBeGreaterThanOrEqual(1);
    expect(await paymentRow(payment.transactionId)).toMatchObject({
      status: 'COMPLETED',
      outcome: 'CONFIRMED',
    });
    expect((await readBooking(user.id, booked.id)).status).toBe('CONFIRMED');
    expect((await paymentRow(unpaid.transactionId)).status).toBe('EXPIRED');
  }, 60_000);

  it('an SMTP outage delays mail and loses or duplicates none of it', async () => {
    const user = await customer();
    const booked = await book(user.id);
    smtp.down = true;
    try {
      const payment = await startPayment(user.id, booked.id);
      expect((await t.stack.vnpay!.pay(payment.paymentUrl, 'approve')).ipn?.RspCode).toBe('00');
      const db = t.stack.subgraphs.bookings.dataSource;
      await waitFor(async () => {
        const [row] = await db.query<Array<{ attempts: number }>>(
          `SELECT attempts FROM mail_outbox WHERE booking_id = $1 AND kind = 'booking-confirmed'`,
          [booked.id],
        );
        return (row?.attempts ?? 0) >= 1;
      }, 'a failed delivery attempt');
    } finally {
      smtp.down = false;
    }
    // Back up: the retry (brought forward rather than waited for) delivers it, once.
    await t.stack.subgraphs.bookings.dataSource.query(
      `UPDATE mail_outbox SET next_attempt_at = now() WHERE booking_id = $1`,
      [booked.id],
    );
    await smtp.next(mailTo(user.email, new RegExp(booked.bookingCode)));
    await waitFor(async () => {
      const [row] = await t.stack.subgraphs.bookings.dataSource.query<Array<{ status: string }>>(
        `SELECT status FROM mail_outbox WHERE booking_id = $1 AND kind = 'booking-confirmed'`,
        [booked.id],
      );
      return row?.status === 'SENT';
    }, 'the mail to be marked sent');
    expect(smtp.messages.filter(mailTo(user.email, new RegExp(booked.bookingCode)))).toHaveLength(
      1,
    );
  }, 90_000);
});

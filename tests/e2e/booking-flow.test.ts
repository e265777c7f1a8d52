import { randomUUID } from 'node:crypto';
import type { BookingEngine } from '../../subgraphs/bookings/src/booking-engine';
import { buildDemoPlan } from '../../scripts/seed/demo-plan';
import { contractOperation } from '../support/contract';
import { startTestStack, type TestStack } from '../support/test-stack';
import { waitFor } from '../support/wait-for';
import {
  codeOf,
  createBooking,
  HOUR,
  holdSeats,
  ledgerMismatches,
  ok,
  scannedQr,
  scheduleShowtime,
  seatStates,
  stackEngine,
  type ScheduledShowtime,
} from './booking-kit';

/**
 * Issue 11's flow through the gateway, on real PostgreSQL and Redis, with the contract's
 * operations: hold → CreateBooking (promotion, points, a concession) → confirmation (the
 * internal function the payment flow will call) → tickets with QR codes → ValidateTicket at
 * the door → the showtime ends (the completion job, run at the end time) → points earned;
 * cancellations with their refunds; idempotent retries.
 */
describe('booking through the gateway', () => {
  const plan = buildDemoPlan();
  let t: TestStack;
  let engine: BookingEngine;
  let admin: string;
  let staff: string;
  const PAYMENTS = { kind: 'service', service: 'payments' } as const;

  beforeAll(async () => {
    t = await startTestStack();
    engine = stackEngine(t);
    admin = t.token('user_admin', 'ADMIN');
    staff = t.token('user_staff', 'STAFF');
  });
  afterAll(async () => {
    await t?.stop();
  });

  const grantPoints = (userId: string, points: number) =>
    t.stack.subgraphs.bookings.dataSource.transaction((m) =>
      engine.loyalty.grant(m, userId, points, new Date(), 'test balance'),
    );

  const createConcession = async (cinemaId: string, name: string, price: number, stock: number) =>
    ok(
      await t.query(
        `mutation($input: CreateConcessionInput!) { createConcession(input: $input) { id name price available } }`,
        { input: { cinemaId, name, category: 'POPCORN', price, stock } },
        { token: admin },
      ),
    ).data!.createConcession as { id: string; name: string };

  const createPromotion = async (input: Record<string, unknown>) =>
    ok(
      await t.query(
        contractOperation('CreatePromotion'),
        {
          input: {
            code: `T${randomUUID().slice(0, 8)}`,
            type: 'PERCENTAGE',
            value: 10,
            validFrom: new Date(Date.now() - HOUR).toISOString(),
            validTo: new Date(Date.now() + 30 * 24 * HOUR).toISOString(),
            ...input,
          },
        },
        { token: admin },
      ),
    ).data!.createPromotion as { id: string; code: string; type: string; active: boolean };

  const bookingQuery = (id: string, token: string) =>
    t.query(contractOperation('Booking'), { id }, { token });

  describe('from the hold to the points', () => {
    const customer = `user_${randomUUID().slice(0, 8)}`;
    let show: ScheduledShowtime;
    let bookingId: string;
    let tickets: { ticketCode: string; barcode: string; qrCode: string }[];
    let popcornName: string;

    beforeAll(async () => {
      // Starts in 20 minutes: the doors are open (from 30 minutes before the start).
      show = await scheduleShowtime(t, { minutesAhead: 20, price: 90_000 });
    });

    it('lists the cinema’s concessions to anyone (Concessions)', async () => {
      popcornName = `Popcorn ${randomUUID().slice(0, 4)}`;
      const popcorn = await createConcession(show.cinemaId, popcornName, 50_000, 10);
      const res = ok(await t.query(contractOperation('Concessions'), { cinemaId: show.cinemaId }));
      expect(res.data!.concessions).toContainEqual({
        id: popcorn.id,
        name: popcorn.name,
        category: 'POPCORN',
        price: 50_000,
        available: true,
      });
    });

    it('books held seats with a promotion, points and a concession (CreateBooking)', async () => {
      // The one the previous step made (the demo menu of each cinema is listed too).
      const popcorn = ok(
        await t.query(contractOperation('Concessions'), { cinemaId: show.cinemaId }),
      ).data!.concessions.find((c: { name: string }) => c.name === popcornName)!;
      const promo = await createPromotion({ value: 10, usageLimit: 5 });
      expect(promo).toMatchObject({ type: 'PERCENTAGE', active: true });
      await grantPoints(customer, 150);
      const seatIds = show.seats.slice(0, 2).map((s) => s.seatId);
      await holdSeats(t, customer, show.showtimeId, seatIds);

      const res = ok(
        await createBooking(t, customer, {
          showtimeId: show.showtimeId,
          seatIds,
          concessions: [{ concessionId: popcorn.id, quantity: 1 }],
          promotionCode: promo.code,
          pointsToRedeem: 100,
        }),
      );
      const booking = res.data!.createBooking;
      bookingId = booking.id;
      // 2 × 90,000 + 50,000 = 230,000; 10% off: 23,000; 100 points: 100,000.
      expect(booking).toMatchObject({
        status: 'PENDING',
        paymentStatus: 'UNPAID',
        subtotal: 230_000,
        discount: 23_000,
        pointsUsed: 100,
        pointsDiscount: 100_000,
        finalAmount: 107_000,
        promotionCode: promo.code,
        concessions: [
          {
            concession: { id: popcorn.id, name: popcorn.name },
            quantity: 1,
            unitPrice: 50_000,
            totalPrice: 50_000,
          },
        ],
      });
      expect(Date.parse(booking.expiresAt) - Date.now()).toBeGreaterThan(9 * 60_000);
      expect(booking.bookingCode).toMatch(/^MH[0-9A-Z]{8}$/);
      expect(booking.tickets).toEqual(
        seatIds.map((seatId, i) => ({
          ticketCode: `${booking.bookingCode}-00${i + 1}`,
          seatId,
          ticketType: 'STANDARD',
          price: 90_000,
          status: 'PENDING',
        })),
      );
      // The seats are the booker's, and nobody else's to take.
      const theirs = await seatStates(t, show.showtimeId, customer);
      const others = await seatStates(t, show.showtimeId, 'someone_else');
      for (const id of seatIds) {
        expect(others.get(id)).toMatchObject({ status: 'HELD', heldByMe: false });
        expect(theirs.get(id)!.status).not.toBe('AVAILABLE');
      }
      const grab = await t.query(
        contractOperation('HoldSeats'),
        { showtimeId: show.showtimeId, seatIds },
        { token: t.token('someone_else') },
      );
      expect(codeOf(grab)).toBe('SEAT_UNAVAILABLE');
    });

    it('shows no QR code before the booking is paid', async () => {
      const res = ok(await bookingQuery(bookingId, t.token(customer)));
      expect(res.data!.booking.tickets.every((x: { qrCode: unknown }) => x.qrCode === null)).toBe(
        true,
      );
    });

    it('has no public way to confirm: the internal confirmation issues the tickets', async () => {
      await engine.lifecycle.confirmBooking(bookingId, { actor: PAYMENTS, reason: 'test payment' });
      const res = ok(await bookingQuery(bookingId, t.token(customer)));
      const booking = res.data!.booking;
      expect(booking).toMatchObject({
        status: 'CONFIRMED',
        paymentStatus: 'PAID',
        finalAmount: 107_000,
        showtime: { startsAt: show.startsAt.toISOString() },
        payment: null,
      });
      tickets = booking.tickets;
      for (const ticket of booking.tickets) {
        expect(ticket.status).toBe('VALID');
        expect(ticket.qrCode).toMatch(/^data:image\/png;base64,/);
        expect(ticket.barcode).toMatch(/^\d{18}$/);
        expect(ticket.seat).toMatchObject({ row: 'A', type: 'STANDARD' });
      }
      // Cinemas applies booking.confirmed: the seats are BOOKED for everyone.
      await waitFor(async () => {
        const seats = await seatStates(t, show.showtimeId);
        return booking.tickets.every(
          (_: unknown, i: number) => seats.get(show.seats[i].seatId)!.status === 'BOOKED',
        );
      }, 'the seats to be BOOKED');
    });

    it('shows ADMIN the audit trail, and the owner not', async () => {
      const HISTORY =
        'query($id: ID!) { booking(id: $id) { history { from to actorType actorId reason } } }';
      const res = ok(await t.query(HISTORY, { id: bookingId }, { token: admin }));
      expect(res.data!.booking.history).toEqual([
        {
          from: null,
          to: 'PENDING',
          actorType: 'USER',
          actorId: customer,
          reason: expect.any(String),
        },
        {
          from: 'PENDING',
          to: 'CONFIRMED',
          actorType: 'SERVICE',
          actorId: 'payments',
          reason: 'test payment',
        },
      ]);
      const mine = await t.query(HISTORY, { id: bookingId }, { token: t.token(customer) });
      expect(codeOf(mine)).toBe('FORBIDDEN');
    });

    it('lets STAFF in once per ticket at the door (ValidateTicket)', async () => {
      const scan = (code: string, token = staff) =>
        t.query(contractOperation('ValidateTicket'), { code }, { token });
      const first = ok(await scan(scannedQr(t, tickets[0].ticketCode)));
      expect(first.data!.validateTicket).toMatchObject({
        accepted: true,
        reason: null,
        ticket: {
          ticketCode: tickets[0].ticketCode,
          status: 'USED',
          seat: { row: 'A', number: 1 },
        },
      });
      const again = ok(await scan(scannedQr(t, tickets[0].ticketCode)));
      expect(again.data!.validateTicket).toMatchObject({
        accepted: false,
        reason: 'ALREADY_USED',
        ticket: { usedAt: first.data!.validateTicket.ticket.usedAt },
      });
      const byBarcode = ok(await scan(tickets[1].barcode));
      expect(byBarcode.data!.validateTicket).toMatchObject({ accepted: true });
      const genuine = scannedQr(t, tickets[1].ticketCode);
      const altered = genuine.slice(0, -1) + (genuine.endsWith('A') ? 'Q' : 'A');
      const forged = ok(await scan(altered));
      expect(forged.data!.validateTicket).toEqual({
        accepted: false,
        reason: 'FORGED',
        ticket: null,
      });
      expect(codeOf(await scan(tickets[1].ticketCode, t.token(customer)))).toBe('FORBIDDEN');
    });

    it('refuses to cancel under 6 hours before the start (CANCELLATION_WINDOW_CLOSED)', async () => {
      const res = await t.query(
        contractOperation('CancelBooking'),
        { id: bookingId },
        { token: t.token(customer) },
      );
      expect(codeOf(res)).toBe('CANCELLATION_WINDOW_CLOSED');
    });

    it('completes the booking when the showtime ends: points earned (Me)', async () => {
      await engine.lifecycle.completeEnded(show.endsAt);
      const me = ok(await t.query(contractOperation('Me'), {}, { token: t.token(customer) }));
      // 150 − 100 redeemed + floor(107,000 / 10,000) = 60.
      expect(me.data!.me.loyalty).toEqual({ points: 60, tier: 'BRONZE', totalSpent: 107_000 });
      expect(me.data!.me.bookings.edges[0].node).toMatchObject({
        id: bookingId,
        status: 'COMPLETED',
        finalAmount: 107_000,
        showtime: {
          startsAt: show.startsAt.toISOString(),
          hall: { cinema: { name: expect.any(String) } },
        },
      });
      expect(await ledgerMismatches(t.stack.subgraphs.bookings.dataSource)).toEqual([]);
    });

    it('reports the sales to ADMIN only (ShowtimeSales)', async () => {
      const res = ok(
        await t.query(
          contractOperation('ShowtimeSales'),
          { showtimeId: show.showtimeId },
          { token: admin },
        ),
      );
      expect(res.data!.showtimeSales).toEqual({
        seatsSold: 2,
        capacity: show.seats.length,
        occupancy: Math.round((2 / show.seats.length) * 10_000) / 10_000,
        revenue: 107_000,
      });
      const denied = await t.query(
        contractOperation('ShowtimeSales'),
        { showtimeId: show.showtimeId },
        { token: staff },
      );
      expect(codeOf(denied)).toBe('FORBIDDEN');
    });
  });

  describe('cancelling', () => {
    /**
     * A demo showtime more than 24 hours ahead, and two sellable seats of it nobody took,
     * costing 200,000 VND or more together (so 100 points stay within 50% of the amount,
     * whichever showtimes the clock makes upcoming: prices differ by time of day).
     */
    function farShowtime(index: number) {
      const pairOf = (showtime: (typeof plan.showtimes)[number]) =>
        plan.seats
          .filter((s) => s.hallId === showtime.hallId && !s.blocked && s.row === 'A')
          .slice(0, 2);
      const upcoming = plan.showtimes.filter(
        (s) =>
          s.startsAt.getTime() > Date.now() + 48 * HOUR &&
          pairOf(s).reduce((sum, seat) => sum + (s.priceTable[seat.type] ?? 0), 0) >= 200_000,
      );
      const showtime = upcoming[index * 13 + 3];
      return {
        showtimeId: showtime.id,
        seatIds: pairOf(showtime).map((s) => s.id),
        price: showtime.priceTable,
      };
    }

    it('refunds 90% of a paid booking 24 hours or more ahead, and frees the seats (CancelBooking)', async () => {
      const customer = `user_${randomUUID().slice(0, 8)}`;
      const { showtimeId, seatIds } = farShowtime(0);
      await holdSeats(t, customer, showtimeId, seatIds);
      const made = ok(await createBooking(t, customer, { showtimeId, seatIds })).data!
        .createBooking;
      await engine.lifecycle.confirmBooking(made.id, { actor: PAYMENTS });
      await waitFor(
        async () => (await seatStates(t, showtimeId)).get(seatIds[0])!.status === 'BOOKED',
        'the seats to be BOOKED',
      );
      const res = ok(
        await t.query(
          contractOperation('CancelBooking'),
          { id: made.id, reason: 'cannot come' },
          { token: t.token(customer) },
        ),
      );
      expect(res.data!.cancelBooking).toEqual({
        booking: { id: made.id, status: 'CANCELLED', paymentStatus: 'PAID' },
        // Confirmed without a VNPay payment (the internal confirmation): nothing online to
        // send the money back to, so staff settle it (payments.test.ts pays and refunds).
        refund: { amount: Math.floor((made.finalAmount * 90) / 100), status: 'FAILED' },
      });
      await waitFor(async () => {
        const seats = await seatStates(t, showtimeId);
        return seatIds.every((id) => seats.get(id)!.status === 'AVAILABLE');
      }, 'the seats to be AVAILABLE again');
      const twice = await t.query(
        contractOperation('CancelBooking'),
        { id: made.id },
        { token: t.token(customer) },
      );
      expect(codeOf(twice)).toBe('INVALID_STATE_TRANSITION');
    });

    it('cancels a PENDING booking at once, without a refund, and gives the points back', async () => {
      const customer = `user_${randomUUID().slice(0, 8)}`;
      await grantPoints(customer, 300);
      const { showtimeId, seatIds } = farShowtime(1);
      await holdSeats(t, customer, showtimeId, seatIds);
      const made = ok(
        await createBooking(t, customer, { showtimeId, seatIds, pointsToRedeem: 100 }),
      ).data!.createBooking;
      const res = ok(
        await t.query(
          contractOperation('CancelBooking'),
          { id: made.id },
          { token: t.token(customer) },
        ),
      );
      expect(res.data!.cancelBooking).toEqual({
        booking: { id: made.id, status: 'CANCELLED', paymentStatus: 'UNPAID' },
        refund: null,
      });
      const me = ok(await t.query(contractOperation('Me'), {}, { token: t.token(customer) }));
      expect(me.data!.me.loyalty.points).toBe(300);
      await waitFor(async () => {
        const seats = await seatStates(t, showtimeId);
        return seatIds.every((id) => seats.get(id)!.status === 'AVAILABLE');
      }, 'the seats to be AVAILABLE again');
    });

    it("shows nobody else's booking, and lets nobody else cancel it", async () => {
      const customer = `user_${randomUUID().slice(0, 8)}`;
      const { showtimeId, seatIds } = farShowtime(2);
      await holdSeats(t, customer, showtimeId, seatIds.slice(0, 1));
      const made = ok(
        await createBooking(t, customer, { showtimeId, seatIds: seatIds.slice(0, 1) }),
      ).data!.createBooking;
      for (const token of [t.token('intruder'), staff]) {
        expect(codeOf(await bookingQuery(made.id, token))).toBe('NOT_FOUND');
        expect(
          codeOf(await t.query(contractOperation('CancelBooking'), { id: made.id }, { token })),
        ).toBe('NOT_FOUND');
      }
    });
  });

  describe('idempotent retries (Idempotency-Key)', () => {
    it('makes one booking of two concurrent requests with one key, and replays it', async () => {
      const customer = `user_${randomUUID().slice(0, 8)}`;
      const show = await scheduleShowtime(t, { minutesAhead: 24 * 60 });
      const seatIds = show.seats.slice(0, 2).map((s) => s.seatId);
      await holdSeats(t, customer, show.showtimeId, seatIds);
      const key = randomUUID();
      const variables = { showtimeId: show.showtimeId, seatIds };
      const answers = await Promise.all([
        createBooking(t, customer, variables, key),
        createBooking(t, customer, variables, key),
      ]);
      const made = answers.filter((a) => !a.errors).map((a) => a.data!.createBooking.id);
      expect(made.length).toBeGreaterThanOrEqual(1);
      expect(new Set(made).size).toBe(1);
      for (const a of answers.filter((x) => x.errors)) {
        expect(a.errors![0].extensions).toMatchObject({
          code: 'RATE_LIMITED',
          reason: 'IDEMPOTENCY_KEY_IN_USE',
        });
      }
      const retry = ok(await createBooking(t, customer, variables, key));
      expect(retry.data!.createBooking.id).toBe(made[0]);
      const me = ok(await t.query(contractOperation('Me'), {}, { token: t.token(customer) }));
      expect(me.data!.me.bookings.totalCount).toBe(1);
      const other = await createBooking(t, customer, { ...variables, pointsToRedeem: 100 }, key);
      expect(other.errors![0].extensions).toMatchObject({
        code: 'BAD_USER_INPUT',
        reason: 'IDEMPOTENCY_KEY_REUSED',
      });
      // Without the key, the same request is a second attempt: refused as a duplicate.
      expect(codeOf(await createBooking(t, customer, variables))).toBe('DUPLICATE_BOOKING');
    });
  });
});

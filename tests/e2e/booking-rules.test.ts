import { randomUUID } from 'node:crypto';
import { BookingStatus } from '../../subgraphs/bookings/src/booking/booking.entity';
import { TicketStatus } from '../../subgraphs/bookings/src/ticket/ticket.entity';
import { seedBookingDemo } from '../../subgraphs/bookings/src/demo/booking-demo';
import { signTicketPayload } from '../../subgraphs/bookings/src/domain/ticket-code';
import { deriveKey } from '../../runtime/identity';
import type { BookingEngine } from '../../subgraphs/bookings/src/booking-engine';
import type { CreateBookingRequest } from '../../subgraphs/bookings/src/booking/booking-creation.service';
import {
  HOUR,
  ledgerMismatches,
  MINUTE,
  refusal,
  startEngineKit,
  type EngineKit,
} from './booking-kit';
import { deferred, waitFor } from '../support/wait-for';

/**
 * The booking engine's rules on a real bookings database, with an in-memory cinemas and a
 * clock the test sets: prices, the state machine and its audit trail, refund tiers at their
 * exact boundaries, the door's times, the jobs (also racing each other), points, idempotency.
 */
describe('the booking engine', () => {
  let kit: EngineKit;
  let engine: BookingEngine;
  const PAYMENTS = { kind: 'service', service: 'payments' } as const;

  beforeAll(async () => {
    kit = await startEngineKit();
    engine = kit.engine;
  });
  afterAll(async () => {
    await kit?.close();
  });

  const newUser = () => `user_${randomUUID().slice(0, 8)}`;
  const taken = new Map<string, number>();

  /** A showtime `hoursAhead` from the clock, in a cinema of its own unless given. */
  const showtime = (hoursAhead = 72, cinemaId?: string, seats = 60) =>
    kit.cinemas.addShowtime({
      startsAt: new Date(kit.clock.now.getTime() + hoursAhead * HOUR),
      cinemaId,
      seats,
    });

  /** Holds `count` seats of `show` for `userId` (each seat to one user only) and books them. */
  async function book(
    userId: string,
    show: ReturnType<typeof showtime>,
    extra: Partial<CreateBookingRequest> & { count?: number } = {},
    using: BookingEngine = engine,
  ) {
    const seatIds = holdSeats(userId, show, extra.count ?? 2);
    const { count: _count, ...rest } = extra;
    return using.creation.create(userId, { showtimeId: show.id, seatIds, ...rest });
  }

  function holdSeats(userId: string, show: ReturnType<typeof showtime>, count: number) {
    const from = taken.get(show.id) ?? 0;
    taken.set(show.id, from + count);
    // STANDARD seats only (every tenth is VIP), so amounts are easy to state.
    const seatIds = show.seats
      .filter((s) => s.seatType === 'STANDARD')
      .slice(from, from + count)
      .map((s) => s.seatId);
    kit.cinemas.hold(userId, show.id, seatIds);
    return seatIds;
  }

  const grantPoints = (userId: string, points: number) =>
    kit.dataSource.transaction((m) =>
      engine.loyalty.grant(m, userId, points, kit.clock.read(), 'test'),
    );

  const promotion = (input: Partial<Parameters<BookingEngine['promotions']['create']>[0]> = {}) =>
    engine.promotions.create({
      code: `P${randomUUID().slice(0, 8)}`,
      type: 'PERCENTAGE',
      value: 10,
      validFrom: new Date(kit.clock.now.getTime() - HOUR),
      validTo: new Date(kit.clock.now.getTime() + 30 * 24 * HOUR),
      ...input,
    });

  const history = async (bookingId: string) =>
    (await engine.bookings.transitionsOf([bookingId]))[0].map((t) => [
      t.from,
      t.to,
      t.actorType,
      t.actorId,
    ]);

  describe('creating a booking', () => {
    it('prices seats, a concession, a promotion and points; reserves them; records the creation', async () => {
      const user = newUser();
      const show = showtime();
      const popcorn = await engine.concessions.create(show.facts.cinemaId, {
        name: 'Popcorn',
        category: 'POPCORN' as never,
        price: 50_000,
        stock: 10,
      });
      const promo = await promotion({ value: 20, maxDiscount: 40_000, usageLimit: 5 });
      await grantPoints(user, 150);

      const booking = await book(user, show, {
        concessions: [{ concessionId: popcorn.id, quantity: 2 }],
        promotionCode: promo.code.toLowerCase(),
        pointsToRedeem: 100,
      });
      // 2 × 100,000 + 2 × 50,000 = 300,000; 20% is 60,000, capped at 40,000; 100 points.
      expect(booking).toMatchObject({
        status: 'PENDING',
        paymentStatus: 'UNPAID',
        subtotal: 300_000,
        discount: 40_000,
        pointsUsed: 100,
        pointsDiscount: 100_000,
        finalAmount: 160_000,
        promotionCode: promo.code,
        startsAt: new Date(show.facts.startsAt),
        endsAt: new Date(show.facts.endsAt),
      });
      expect(booking.expiresAt!.getTime() - kit.clock.now.getTime()).toBe(600_000);
      const [tickets] = await engine.tickets.ofBookings([booking.id]);
      expect(tickets.map((t) => [t.ticketCode, t.status, t.price])).toEqual([
        [`${booking.bookingCode}-001`, 'PENDING', 100_000],
        [`${booking.bookingCode}-002`, 'PENDING', 100_000],
      ]);
      const [lines] = await engine.concessions.linesOf([booking.id]);
      expect(lines.map((l) => [l.name, l.quantity, l.unitPrice, l.totalPrice])).toEqual([
        ['Popcorn', 2, 50_000, 100_000],
      ]);
      const [stock] = await engine.concessions.byIds([popcorn.id]);
      expect(stock!.stock).toBe(8);
      const [promoNow] = await engine.promotions.byIds([promo.id]);
      expect(promoNow!.usedCount).toBe(1);
      const [account] = await engine.loyalty.accountsFor([user]);
      expect(account.points).toBe(50);
      expect(await history(booking.id)).toEqual([[null, 'PENDING', 'USER', user]]);
    });

    it('refuses a second PENDING booking for the showtime before asking cinemas', async () => {
      const user = newUser();
      const show = showtime();
      await book(user, show);
      const calls = kit.cinemas.reserveCalls;
      const error = await refusal(() => book(user, show));
      expect(error.extensions.code).toBe('DUPLICATE_BOOKING');
      expect(kit.cinemas.reserveCalls).toBe(calls);
    });

    it('answers SEATS_NOT_HELD for seats the caller does not hold, and keeps nothing', async () => {
      const user = newUser();
      const show = showtime();
      const someoneElses = holdSeats(newUser(), show, 1);
      const error = await refusal(() =>
        engine.creation.create(user, { showtimeId: show.id, seatIds: someoneElses }),
      );
      expect(error.extensions).toMatchObject({ code: 'SEATS_NOT_HELD', seatIds: someoneElses });
      const rows = await kit.dataSource.query('SELECT 1 FROM bookings WHERE user_id = $1', [user]);
      expect(rows).toHaveLength(0);
    });

    it('gives the seats back when a rule refuses after cinemas reserved them', async () => {
      const user = newUser();
      const show = showtime();
      // Under the 50% rule only once the seats are priced: 100 points = 100,000 > 50% of 100,000.
      await grantPoints(user, 100);
      const error = await refusal(() => book(user, show, { count: 1, pointsToRedeem: 100 }));
      expect(error.extensions).toMatchObject({
        code: 'INSUFFICIENT_POINTS',
        reason: 'OVER_HALF_AMOUNT',
      });
      const released: unknown[] = await kit.dataSource.query(
        `SELECT 1 FROM outbox WHERE type = 'booking.released' AND payload->>'showtimeId' = $1`,
        [show.id],
      );
      expect(released).toHaveLength(1);
      await kit.cinemas.applyEvents(kit.dataSource);
      expect([...kit.cinemas.reserved.keys()].some((k) => k.startsWith(show.id))).toBe(false);
    });

    it.each([
      [{ promotionCode: 'NO-SUCH-CODE' }, 'PROMOTION_INVALID', 'UNKNOWN'],
      [{ pointsToRedeem: 99 }, 'INSUFFICIENT_POINTS', 'BELOW_MINIMUM'],
      [{ pointsToRedeem: 100 }, 'INSUFFICIENT_POINTS', 'OVER_BALANCE'],
    ] as const)('refuses %j before touching a seat', async (extra, code, reason) => {
      const calls = kit.cinemas.reserveCalls;
      const error = await refusal(() => book(newUser(), showtime(), extra));
      expect(error.extensions).toMatchObject({ code, reason });
      expect(kit.cinemas.reserveCalls).toBe(calls);
    });

    it('refuses a promotion for another cinema, movie or day, with the reason', async () => {
      const show = showtime();
      const elsewhere = await promotion({ cinemaIds: [randomUUID()] });
      const error = await refusal(() => book(newUser(), show, { promotionCode: elsewhere.code }));
      expect(error.extensions).toMatchObject({
        code: 'PROMOTION_INVALID',
        reason: 'NOT_APPLICABLE',
      });
    });

    it('adds a FREE_ITEM at 0 VND and takes it from the stock', async () => {
      const show = showtime();
      const drink = await engine.concessions.create(show.facts.cinemaId, {
        name: 'Drink',
        category: 'DRINK' as never,
        price: 30_000,
        stock: 3,
      });
      const free = await promotion({ type: 'FREE_ITEM', value: 2, freeConcessionId: drink.id });
      const booking = await book(newUser(), show, { promotionCode: free.code });
      expect(booking).toMatchObject({ subtotal: 200_000, discount: 0, finalAmount: 200_000 });
      const [lines] = await engine.concessions.linesOf([booking.id]);
      expect(lines.map((l) => [l.quantity, l.unitPrice, l.free])).toEqual([[2, 0, true]]);
      expect((await engine.concessions.byIds([drink.id]))[0]!.stock).toBe(1);
    });
  });

  describe('under concurrency', () => {
    it('gives a promotion limited to 10 to exactly 10 of 50 concurrent bookings', async () => {
      const show = showtime(72, undefined, 60);
      const promo = await promotion({ usageLimit: 10 });
      const users = Array.from({ length: 50 }, newUser);
      const seats = users.map((u) => holdSeats(u, show, 1));
      const instances = [engine, kit.another(), kit.another()];
      const results = await Promise.allSettled(
        users.map((u, i) =>
          instances[i % 3].creation.create(u, {
            showtimeId: show.id,
            seatIds: seats[i],
            promotionCode: promo.code,
          }),
        ),
      );
      const made = results.filter((r) => r.status === 'fulfilled');
      expect(made).toHaveLength(10);
      for (const r of results) {
        if (r.status === 'rejected') {
          expect(r.reason.extensions).toMatchObject({
            code: 'PROMOTION_INVALID',
            reason: 'USAGE_LIMIT_REACHED',
          });
        }
      }
      expect((await engine.promotions.byIds([promo.id]))[0]!.usedCount).toBe(10);
    });

    it('never sells a concession below zero: 5 in stock, 20 buyers', async () => {
      const show = showtime(72, undefined, 60);
      const combo = await engine.concessions.create(show.facts.cinemaId, {
        name: 'Combo',
        category: 'COMBO' as never,
        price: 90_000,
        stock: 5,
      });
      const users = Array.from({ length: 20 }, newUser);
      const seats = users.map((u) => holdSeats(u, show, 1));
      const results = await Promise.allSettled(
        users.map((u, i) =>
          engine.creation.create(u, {
            showtimeId: show.id,
            seatIds: seats[i],
            concessions: [{ concessionId: combo.id, quantity: 1 }],
          }),
        ),
      );
      expect(results.filter((r) => r.status === 'fulfilled')).toHaveLength(5);
      for (const r of results) {
        if (r.status === 'rejected') {
          expect(r.reason.extensions.code).toBe('CONCESSION_OUT_OF_STOCK');
        }
      }
      expect((await engine.concessions.byIds([combo.id]))[0]!.stock).toBe(0);
    });
  });

  describe('the state machine', () => {
    it('confirms only PENDING, once, and issues the tickets with the event', async () => {
      const booking = await book(newUser(), showtime());
      const confirmed = await engine.lifecycle.confirmBooking(booking.id, {
        actor: PAYMENTS,
        reason: 'payment 1',
      });
      expect(confirmed).toMatchObject({ status: 'CONFIRMED', paymentStatus: 'PAID' });
      const [tickets] = await engine.tickets.ofBookings([booking.id]);
      expect(
        tickets.every((t) => t.status === TicketStatus.VALID && /^\d{18}$/.test(t.barcode!)),
      ).toBe(true);
      expect(await engine.tickets.qrCodeOf(tickets[0])).toMatch(/^data:image\/png;base64,/);
      const again = await refusal(() =>
        engine.lifecycle.confirmBooking(booking.id, { actor: PAYMENTS }),
      );
      expect(again.extensions).toMatchObject({
        code: 'INVALID_STATE_TRANSITION',
        reason: 'CONFIRMED_TO_CONFIRMED',
      });
      const events = await kit.dataSource.query(
        `SELECT type, payload FROM outbox WHERE aggregate_id = $1 ORDER BY seq`,
        [booking.id],
      );
      expect(events).toEqual([
        {
          type: 'booking.confirmed',
          payload: {
            bookingId: booking.id,
            showtimeId: booking.showtimeId,
            seatIds: tickets.map((t) => t.seatId),
            status: 'CONFIRMED',
          },
        },
      ]);
      expect(await history(booking.id)).toEqual([
        [null, 'PENDING', 'USER', booking.userId],
        ['PENDING', 'CONFIRMED', 'SERVICE', 'payments'],
      ]);
    });

    it('refuses to confirm a booking past its expiry, even before the job has run', async () => {
      const booking = await book(newUser(), showtime());
      kit.clock.advance(10 * MINUTE);
      const error = await refusal(() =>
        engine.lifecycle.confirmBooking(booking.id, { actor: PAYMENTS }),
      );
      expect(error.extensions).toMatchObject({
        code: 'INVALID_STATE_TRANSITION',
        reason: 'EXPIRED_TO_CONFIRMED',
      });
      await engine.lifecycle.expirePending();
      const cancel = await refusal(() =>
        engine.lifecycle.cancelBooking(booking.id, { userId: booking.userId, isAdmin: false }),
      );
      expect(cancel.extensions).toMatchObject({
        code: 'INVALID_STATE_TRANSITION',
        reason: 'EXPIRED_TO_CANCELLED',
      });
    });

    it('expires PENDING bookings once however many instances run the job', async () => {
      const show = showtime();
      const promo = await promotion({ usageLimit: 100 });
      const bookings = [];
      for (let i = 0; i < 12; i += 1) {
        bookings.push(await book(newUser(), show, { count: 1, promotionCode: promo.code }));
      }
      kit.clock.advance(10 * MINUTE);
      const instances = [engine, kit.another(), kit.another(), kit.another()];
      const moved = await Promise.all(
        instances.map((e) => e.lifecycle.expirePending(undefined, 5)),
      );
      const again = await Promise.all(instances.map((e) => e.lifecycle.expirePending()));
      expect(
        moved.reduce((a, b) => a + b, 0) + again.reduce((a, b) => a + b, 0),
      ).toBeGreaterThanOrEqual(12);
      const ids = bookings.map((b) => b.id);
      const rows: { status: string; transitions: number; events: number }[] =
        await kit.dataSource.query(
          `SELECT b.status,
                (SELECT count(*)::int FROM booking_transitions t WHERE t.booking_id = b.id AND t.to_status = 'EXPIRED') AS transitions,
                (SELECT count(*)::int FROM outbox o WHERE o.aggregate_id = b.id::text AND o.type = 'booking.released') AS events
           FROM bookings b WHERE b.id = ANY($1)`,
          [ids],
        );
      expect(rows).toHaveLength(12);
      expect(
        rows.every((r) => r.status === 'EXPIRED' && r.transitions === 1 && r.events === 1),
      ).toBe(true);
      expect((await engine.promotions.byIds([promo.id]))[0]!.usedCount).toBe(0);
    });
  });

  describe('cancelling a paid booking: the refund tiers at their boundaries', () => {
    it.each([
      [24 * HOUR, 90],
      [24 * HOUR - 1, 70],
      [12 * HOUR, 70],
      [12 * HOUR - 1, 50],
      [6 * HOUR, 50],
    ])('%d ms before the start refunds %d%%', async (before, percent) => {
      const user = newUser();
      const show = showtime(48);
      const drink = await engine.concessions.create(show.facts.cinemaId, {
        name: 'Water',
        category: 'DRINK' as never,
        price: 15_000,
        stock: 5,
      });
      const promo = await promotion({ type: 'FIXED_AMOUNT', value: 5_000, usagePerUser: 1 });
      await grantPoints(user, 100);
      const booking = await book(user, show, {
        concessions: [{ concessionId: drink.id, quantity: 1 }],
        promotionCode: promo.code,
        pointsToRedeem: 100,
      });
      // 200,000 + 15,000 − 5,000 − 100,000 = 110,000
      expect(booking.finalAmount).toBe(110_000);
      await engine.lifecycle.confirmBooking(booking.id, { actor: PAYMENTS });
      kit.clock.set(new Date(show.facts.startsAt).getTime() - before);
      const { booking: cancelled, refund } = await engine.lifecycle.cancelBooking(booking.id, {
        userId: user,
        isAdmin: false,
        reason: 'plans changed',
      });
      expect(cancelled.status).toBe(BookingStatus.CANCELLED);
      // Confirmed without an online payment: there is no VNPay transaction to send the money
      // back to, so the refund is left to staff (the payments tests cover the VNPay refund).
      expect(refund).toMatchObject({
        percent,
        amount: (110_000 * percent) / 100,
        status: 'FAILED',
        kind: 'POLICY',
      });
      // Everything it held comes back: points, the promotion use, the stock; tickets cancelled.
      expect((await engine.loyalty.accountsFor([user]))[0].points).toBe(100);
      expect((await engine.promotions.byIds([promo.id]))[0]!.usedCount).toBe(0);
      expect((await engine.concessions.byIds([drink.id]))[0]!.stock).toBe(5);
      const [tickets] = await engine.tickets.ofBookings([booking.id]);
      expect(tickets.every((t) => t.status === TicketStatus.CANCELLED)).toBe(true);
      // The customer may use the promotion again (its per-user use came back).
      kit.clock.set(new Date(show.facts.startsAt).getTime() - 47 * HOUR);
      await expect(book(user, showtime(48), { promotionCode: promo.code })).resolves.toMatchObject({
        discount: 5_000,
      });
    });

    it('refuses under 6 hours with CANCELLATION_WINDOW_CLOSED and changes nothing', async () => {
      const show = showtime(48);
      const booking = await book(newUser(), show);
      await engine.lifecycle.confirmBooking(booking.id, { actor: PAYMENTS });
      kit.clock.set(new Date(show.facts.startsAt).getTime() - 6 * HOUR + 1);
      const error = await refusal(() =>
        engine.lifecycle.cancelBooking(booking.id, { userId: booking.userId, isAdmin: false }),
      );
      expect(error.extensions.code).toBe('CANCELLATION_WINDOW_CLOSED');
      expect((await engine.bookings.byIds([booking.id]))[0]!.status).toBe('CONFIRMED');
    });

    it("lets nobody but the owner and ADMIN cancel (someone else's booking is NOT_FOUND)", async () => {
      const booking = await book(newUser(), showtime());
      const error = await refusal(() =>
        engine.lifecycle.cancelBooking(booking.id, { userId: newUser(), isAdmin: false }),
      );
      expect(error.extensions.code).toBe('NOT_FOUND');
      const { booking: byAdmin, refund } = await engine.lifecycle.cancelBooking(booking.id, {
        userId: 'admin',
        isAdmin: true,
      });
      expect([byAdmin.status, refund]).toEqual(['CANCELLED', null]);
      expect((await history(booking.id)).at(-1)).toEqual(['PENDING', 'CANCELLED', 'USER', 'admin']);
    });
  });

  describe('a showtime the cinema cancelled', () => {
    const refundsOf = (bookingId: string) =>
      kit.dataSource.query<{ kind: string; amount: number; percent: number; status: string }[]>(
        'SELECT kind, amount, percent, status FROM refunds WHERE booking_id = $1',
        [bookingId],
      );

    it('cancels its PENDING and CONFIRMED bookings, the paid one refunded in full with its points back, and finds nothing the second time', async () => {
      // Three hours ahead: a customer cancelling would be refused (under 6 h).
      const show = showtime(3);
      const payer = newUser();
      await grantPoints(payer, 300);
      const paid = await book(payer, show, { pointsToRedeem: 100 });
      await engine.lifecycle.confirmBooking(paid.id, { actor: PAYMENTS });
      const unpaid = await book(newUser(), show);
      const other = await book(newUser(), showtime(3));

      expect(await engine.lifecycle.cancelForShowtime(show.id)).toBe(2);
      const [paidNow, unpaidNow, otherNow] = await engine.bookings.byIds([
        paid.id,
        unpaid.id,
        other.id,
      ]);
      expect([paidNow!.status, unpaidNow!.status, otherNow!.status]).toEqual([
        BookingStatus.CANCELLED,
        BookingStatus.CANCELLED,
        BookingStatus.PENDING,
      ]);
      // Everything paid, whatever the time before the start; no online payment here, so staff
      // settle it by hand (FAILED), as for any refund without one.
      expect(await refundsOf(paid.id)).toEqual([
        { kind: 'SHOWTIME_CANCELLED', amount: paid.finalAmount, percent: 100, status: 'FAILED' },
      ]);
      expect(await refundsOf(unpaid.id)).toEqual([]);
      expect((await engine.loyalty.accountsFor([payer]))[0].points).toBe(300);
      const [tickets] = await engine.tickets.ofBookings([paid.id]);
      expect(tickets.every((t) => t.status === TicketStatus.CANCELLED)).toBe(true);
      expect((await history(paid.id)).at(-1)).toEqual([
        'CONFIRMED',
        'CANCELLED',
        'SERVICE',
        'showtime-cancellation',
      ]);
      const mail = await kit.dataSource.query<{ kind: string; booking_id: string }[]>(
        'SELECT kind, booking_id FROM mail_outbox WHERE booking_id = ANY($1) ORDER BY booking_id',
        [[paid.id, unpaid.id]],
      );
      expect(mail).toHaveLength(2);
      expect(mail.every((m) => m.kind === 'showtime-cancelled')).toBe(true);

      expect(await engine.lifecycle.cancelForShowtime(show.id)).toBe(0);
      expect(await refundsOf(paid.id)).toHaveLength(1);
    });

    it('refunds a customer who cancels first in full, even under 6 hours, and never completes a booking of it; the job cancels what is left', async () => {
      const show = showtime(2);
      const first = newUser();
      const early = await book(first, show);
      await engine.lifecycle.confirmBooking(early.id, { actor: PAYMENTS });
      const left = await book(newUser(), show);
      await engine.lifecycle.confirmBooking(left.id, { actor: PAYMENTS });
      // The event is recorded; its own pass has not run (or was cut short).
      await engine.lifecycle.recordCancelledShowtime(show.id, kit.clock.read());

      // Under 6 h the policy refuses (CANCELLATION_WINDOW_CLOSED): not for a cancelled show.
      const mine = await engine.lifecycle.cancelBooking(early.id, {
        userId: first,
        isAdmin: false,
      });
      expect(mine.booking.status).toBe(BookingStatus.CANCELLED);
      expect(await refundsOf(early.id)).toEqual([
        { kind: 'SHOWTIME_CANCELLED', amount: early.finalAmount, percent: 100, status: 'FAILED' },
      ]);

      // Past its end, the completion job leaves the other booking alone...
      kit.clock.advance(5 * HOUR);
      await engine.lifecycle.completeEnded();
      expect((await engine.bookings.byIds([left.id]))[0]!.status).toBe(BookingStatus.CONFIRMED);
      // ...and the cancelled showtimes' job cancels it, refunded in full.
      expect(await engine.lifecycle.settleCancelledShowtimes()).toBe(1);
      expect((await engine.bookings.byIds([left.id]))[0]!.status).toBe(BookingStatus.CANCELLED);
      expect(await refundsOf(left.id)).toEqual([
        expect.objectContaining({ kind: 'SHOWTIME_CANCELLED', amount: left.finalAmount }),
      ]);
      expect(await engine.lifecycle.settleCancelledShowtimes()).toBe(0);
    });

    it('refunds the rest to a customer who cancelled after the cinema, before the event arrived; one who cancelled before keeps the policy refund', async () => {
      const show = showtime(72);
      const before = newUser();
      const after = newUser();
      const early = await book(before, show);
      const late = await book(after, show);
      for (const b of [early, late]) {
        await engine.lifecycle.confirmBooking(b.id, { actor: PAYMENTS });
      }
      // 72 h ahead: the policy gives back 90%.
      await engine.lifecycle.cancelBooking(early.id, { userId: before, isAdmin: false });
      kit.clock.advance(MINUTE);
      const cinemaCancelledAt = kit.clock.read();
      kit.clock.advance(MINUTE);
      await engine.lifecycle.cancelBooking(late.id, { userId: after, isAdmin: false });
      // Now the event arrives.
      await engine.lifecycle.recordCancelledShowtime(show.id, cinemaCancelledAt);
      await engine.lifecycle.cancelForShowtime(show.id);

      const policy = Math.floor((late.finalAmount * 90) / 100);
      const kinds = async (id: string) =>
        (await refundsOf(id)).map((r) => [r.kind, r.amount, r.percent]).sort();
      expect(await kinds(late.id)).toEqual([
        ['POLICY', policy, 90],
        ['SHOWTIME_CANCELLED', late.finalAmount - policy, 10],
      ]);
      expect(await kinds(early.id)).toEqual([
        ['POLICY', Math.floor((early.finalAmount * 90) / 100), 90],
      ]);
      // Once.
      await engine.lifecycle.cancelForShowtime(show.id);
      expect(await refundsOf(late.id)).toHaveLength(2);
    });

    it('never completes a booking of a showtime cinemas cancelled while this subgraph did not hear of it: it cancels and refunds it', async () => {
      const show = showtime(2);
      const user = newUser();
      const booking = await book(user, show);
      await engine.lifecycle.confirmBooking(booking.id, { actor: PAYMENTS });
      // Cancelled at cinemas; the event never arrived (the consumer was down all along).
      kit.cinemas.showtimes.get(show.id)!.facts.status = 'CANCELLED';
      kit.clock.advance(6 * HOUR);
      await engine.lifecycle.completeEnded();
      const [now] = await engine.bookings.byIds([booking.id]);
      expect(now!.status).toBe(BookingStatus.CANCELLED);
      expect(await refundsOf(booking.id)).toEqual([
        expect.objectContaining({ kind: 'SHOWTIME_CANCELLED', amount: booking.finalAmount }),
      ]);
      expect((await engine.loyalty.accountsFor([user]))[0]?.points ?? 0).toBe(0);
    });

    it('waits for a booking whose creation is in flight, and cancels it too', async () => {
      const show = showtime(48);
      const user = newUser();
      const seatIds = holdSeats(user, show, 2);
      // Cinemas accepts the seats, then the creation stalls before it commits.
      const asked = deferred();
      const resume = deferred();
      const reserve = kit.cinemas.reservePending.bind(kit.cinemas);
      const spy = jest.spyOn(kit.cinemas, 'reservePending').mockImplementationOnce(async (r) => {
        const answer = await reserve(r);
        asked.resolve();
        await resume.promise;
        return answer;
      });
      try {
        const creating = engine.creation.create(user, { showtimeId: show.id, seatIds });
        await asked.promise;
        let settled = false;
        const cancelling = engine.lifecycle.cancelForShowtime(show.id).finally(() => {
          settled = true;
        });
        // The cancellation waits on the creation's lock (PostgreSQL says so), not done yet.
        await waitFor(
          async () =>
            (
              await kit.dataSource.query<{ n: number }[]>(
                `SELECT count(*)::int AS n FROM pg_stat_activity
                  WHERE datname = current_database() AND wait_event = 'advisory'`,
              )
            )[0].n > 0,
          'the cancellation to wait for the creation',
        );
        expect(settled).toBe(false);
        resume.resolve();
        const booking = await creating;
        expect(await cancelling).toBe(1);
        const [now] = await engine.bookings.byIds([booking.id]);
        expect(now!.status).toBe(BookingStatus.CANCELLED);
      } finally {
        resume.resolve();
        spy.mockRestore();
      }
    });
  });

  describe('at the door', () => {
    const key = () => deriveKey(kit.config.internalSecret, 'ticket');

    async function issuedTicket(hoursAhead = 3) {
      const show = showtime(hoursAhead);
      const booking = await book(newUser(), show, { count: 1 });
      await engine.lifecycle.confirmBooking(booking.id, { actor: PAYMENTS });
      const [[ticket]] = await engine.tickets.ofBookings([booking.id]);
      const startsAt = new Date(show.facts.startsAt).getTime();
      const endsAt = new Date(show.facts.endsAt).getTime();
      return { ticket, startsAt, endsAt, booking, payload: engine.tickets.payloadOf(ticket)! };
    }
    const scan = (code: string, using: BookingEngine = engine) =>
      using.tickets.scan(code, 'staff_1', kit.clock.read(), (id) =>
        using.lifecycle.showtimeTimes(id),
      );

    it('opens the doors 30 minutes before the start, and closes them at the end', async () => {
      const { payload, startsAt, endsAt } = await issuedTicket();
      kit.clock.set(startsAt - 30 * MINUTE - 1);
      expect(await scan(payload)).toMatchObject({ accepted: false, reason: 'NOT_YET_OPEN' });
      kit.clock.set(endsAt);
      expect(await scan(payload)).toMatchObject({ accepted: false, reason: 'SHOWTIME_ENDED' });
      kit.clock.set(startsAt - 30 * MINUTE);
      expect(await scan(payload)).toMatchObject({
        accepted: true,
        reason: null,
        ticket: { status: 'USED' },
      });
    });

    it('accepts exactly one of 20 concurrent scans; the others say when it was first used', async () => {
      const { payload, startsAt } = await issuedTicket();
      kit.clock.set(startsAt - 10 * MINUTE);
      const instances = [engine, kit.another(), kit.another()];
      const results = await Promise.all(
        Array.from({ length: 20 }, (_, i) => scan(payload, instances[i % instances.length])),
      );
      const accepted = results.filter((r) => r.accepted);
      expect(accepted).toHaveLength(1);
      const usedAt = accepted[0].ticket!.usedAt!.toISOString();
      for (const r of results.filter((x) => !x.accepted)) {
        expect(r.reason).toBe('ALREADY_USED');
        expect(r.ticket!.usedAt!.toISOString()).toBe(usedAt);
      }
    });

    it('takes the barcode too, and refuses altered, unsigned and unknown codes as FORGED', async () => {
      const { ticket, payload, startsAt } = await issuedTicket();
      kit.clock.set(startsAt - 10 * MINUTE);
      const altered = payload.replace(/-001\./, '-002.');
      const unknown = signTicketPayload('MHZZZZZZZZ-001', key());
      const otherBarcode =
        ticket.barcode!.slice(0, -2) +
        ((Number(ticket.barcode!.slice(-2)) + 1) % 100).toString().padStart(2, '0');
      for (const code of [altered, ticket.ticketCode, unknown, otherBarcode, 'x'.repeat(200)]) {
        expect(await scan(code)).toEqual({ accepted: false, reason: 'FORGED', ticket: null });
      }
      expect(await scan(ticket.barcode!)).toMatchObject({ accepted: true });
    });

    it('refuses the tickets of a cancelled booking', async () => {
      const { payload, booking, startsAt } = await issuedTicket(48);
      await engine.lifecycle.cancelBooking(booking.id, { userId: booking.userId, isAdmin: false });
      kit.clock.set(startsAt - 10 * MINUTE);
      expect(await scan(payload)).toMatchObject({
        accepted: false,
        reason: 'CANCELLED',
        ticket: { status: 'CANCELLED' },
      });
    });
  });

  describe('completion and points', () => {
    it('completes ended bookings once, earns points with the bonus, recomputes the tier', async () => {
      const user = newUser();
      const show = showtime(5);
      const bonus = await promotion({ type: 'POINTS', value: 40 });
      const booking = await book(user, show, { count: 8, promotionCode: bonus.code });
      await engine.lifecycle.confirmBooking(booking.id, { actor: PAYMENTS });
      const status = async () => (await engine.bookings.byIds([booking.id]))[0]!.status;
      kit.clock.set(new Date(show.facts.endsAt).getTime() - 1);
      await engine.lifecycle.completeEnded();
      expect(await status()).toBe('CONFIRMED');
      kit.clock.set(new Date(show.facts.endsAt));
      await Promise.all([
        engine.lifecycle.completeEnded(),
        kit.another().lifecycle.completeEnded(),
      ]);
      expect(await status()).toBe('COMPLETED');
      const [account] = await engine.loyalty.accountsFor([user]);
      // 8 × 100,000 = 800,000 VND → 80 points, plus 40 bonus; once, whatever ran the job.
      expect(account).toMatchObject({ points: 120, totalSpent: 800_000, tier: 'BRONZE' });
      expect((await history(booking.id)).at(-1)).toEqual([
        'CONFIRMED',
        'COMPLETED',
        'SERVICE',
        'completion-job',
      ]);
      expect(await ledgerMismatches(kit.dataSource)).toEqual([]);
    });

    it('recomputes the tier from the total spent', async () => {
      const user = newUser();
      const show = kit.cinemas.addShowtime({
        startsAt: new Date(kit.clock.now.getTime() + 5 * HOUR),
        prices: { STANDARD: 700_000, VIP: 700_000 },
      });
      const booking = await book(user, show, { count: 8 });
      await engine.lifecycle.confirmBooking(booking.id, { actor: PAYMENTS });
      kit.clock.set(new Date(show.facts.endsAt));
      await engine.lifecycle.completeEnded();
      expect((await engine.loyalty.accountsFor([user]))[0]).toMatchObject({
        points: 560,
        totalSpent: 5_600_000,
        tier: 'SILVER',
      });
    });

    it('expires points 12 months after they were earned, FIFO, once', async () => {
      const user = newUser();
      const start = kit.clock.read();
      await grantPoints(user, 300);
      kit.clock.advance(30 * 24 * HOUR);
      await grantPoints(user, 200);
      // Spend 150: they come from the oldest lot, which keeps 150.
      await book(user, showtime(48), { count: 4, pointsToRedeem: 150 });
      const points = async () => (await engine.loyalty.accountsFor([user]))[0].points;
      kit.clock.set(start.getTime() + 365 * 24 * HOUR - 1);
      await engine.lifecycle.expirePoints();
      expect(await points()).toBe(350);
      kit.clock.set(start.getTime() + 366 * 24 * HOUR);
      await Promise.all([engine.lifecycle.expirePoints(), kit.another().lifecycle.expirePoints()]);
      await engine.lifecycle.expirePoints();
      expect(await points()).toBe(200);
      const expired = await kit.dataSource.query(
        `SELECT points FROM loyalty_transactions WHERE user_id = $1 AND type = 'EXPIRE'`,
        [user],
      );
      expect(expired).toEqual([{ points: -150 }]);
      expect(await ledgerMismatches(kit.dataSource)).toEqual([]);
    });
  });

  describe('idempotency', () => {
    const run = (userId: string, key: string, request: CreateBookingRequest) =>
      engine.idempotency.run<{ bookingId: string }, string>(
        { userId, key, operation: 'createBooking', request },
        async (remember) => (await engine.creation.create(userId, request, { remember })).id,
        ({ bookingId }) => Promise.resolve(bookingId),
      );

    it('makes one booking of concurrent requests with one key; replays; refuses another body', async () => {
      const user = newUser();
      const show = showtime();
      const seatIds = holdSeats(user, show, 2);
      const request = { showtimeId: show.id, seatIds };
      const key = randomUUID();
      const settled = await Promise.allSettled([run(user, key, request), run(user, key, request)]);
      const ids = settled.flatMap((s) => (s.status === 'fulfilled' ? [s.value] : []));
      const errors = settled.flatMap((s) => (s.status === 'rejected' ? [s.reason] : []));
      expect(ids.length).toBeGreaterThanOrEqual(1);
      expect(new Set(ids).size).toBe(1);
      for (const e of errors) {
        expect(e.extensions).toMatchObject({
          code: 'RATE_LIMITED',
          reason: 'IDEMPOTENCY_KEY_IN_USE',
        });
      }
      expect(await run(user, key, request)).toBe(ids[0]);
      const rows = await kit.dataSource.query('SELECT id FROM bookings WHERE user_id = $1', [user]);
      expect(rows).toEqual([{ id: ids[0] }]);
      const other = await refusal(() => run(user, key, { ...request, pointsToRedeem: 100 }));
      expect(other.extensions).toMatchObject({
        code: 'BAD_USER_INPUT',
        reason: 'IDEMPOTENCY_KEY_REUSED',
      });
    });

    it('replays a coded refusal, and lets a retry run again after an outage', async () => {
      const user = newUser();
      const show = showtime();
      const request = { showtimeId: show.id, seatIds: [show.seats[0].seatId] };
      const key = randomUUID();
      const first = await refusal(() => run(user, key, request));
      expect(first.extensions.code).toBe('SEATS_NOT_HELD');
      kit.cinemas.hold(user, show.id, request.seatIds);
      // The same key answers as the first time: a new attempt takes a new key.
      expect((await refusal(() => run(user, key, request))).extensions.code).toBe('SEATS_NOT_HELD');
      await expect(run(user, randomUUID(), request)).resolves.toEqual(expect.any(String));
    });
  });

  it('seeds the demo data once: menus, promotions, a balance through the ledger, tickets', async () => {
    const cinemaIds = [randomUUID(), randomUUID()];
    const user = newUser();
    const bookingId = randomUUID();
    await kit.dataSource.query(
      `INSERT INTO bookings (id, booking_code, user_id, showtime_id, status, payment_status, subtotal, final_amount)
       VALUES ($1, 'MHDEM00009', $2, $3, 'CONFIRMED', 'PAID', 180000, 180000)`,
      [bookingId, user, randomUUID()],
    );
    const seats = [1, 2].map((number) => ({
      seatId: randomUUID(),
      row: 'F',
      number,
      seatType: 'STANDARD',
      price: 90_000,
    }));
    const input = {
      cinemaIds,
      loyaltyUserId: user,
      now: kit.clock.read(),
      tickets: { internalSecret: kit.config.internalSecret, bookings: [{ bookingId, seats }] },
    };
    expect(await seedBookingDemo(kit.dataSource, input)).toEqual({
      concessions: 10,
      promotions: 3,
      loyaltyPoints: 500,
      tickets: 2,
    });
    const again = await seedBookingDemo(kit.dataSource, input);
    expect(again).toEqual({ concessions: 0, promotions: 0, loyaltyPoints: 0, tickets: 0 });
    expect((await engine.concessions.forCinema(cinemaIds[0])).map((c) => c.name)).toHaveLength(5);
    expect(await engine.promotions.byCode('welcome10')).toMatchObject({ type: 'PERCENTAGE' });
    expect((await engine.loyalty.accountsFor([user]))[0].points).toBe(500);
    const [tickets] = await engine.tickets.ofBookings([bookingId]);
    expect(tickets.map((t) => [t.ticketCode, t.status])).toEqual([
      ['MHDEM00009-001', 'VALID'],
      ['MHDEM00009-002', 'VALID'],
    ]);
  });

  it('keeps every balance equal to the sum of its ledger', async () => {
    expect(await ledgerMismatches(kit.dataSource)).toEqual([]);
    const [{ accounts }] = await kit.dataSource.query(
      'SELECT count(*)::int AS accounts FROM loyalty_accounts',
    );
    expect(accounts).toBeGreaterThan(3);
  });
});

import { randomUUID } from 'node:crypto';
import type { BookingEngine } from '../../subgraphs/bookings/src/booking-engine';
import { contractOperation } from '../support/contract';
import { startTestStack, type TestStack } from '../support/test-stack';
import { waitFor } from '../support/wait-for';
import { subscribe, type TestSubscription } from '../support/ws-client';
import {
  codeOf,
  createBooking,
  HOUR,
  holdSeats,
  MINUTE,
  ok,
  scannedQr,
  scheduleShowtime,
  seatStates,
  stackEngine,
} from './booking-kit';

/**
 * The booking engine under concurrency, through the gateway on real PostgreSQL and Redis:
 * many customers at once against one promotion's limit, one concession's stock, one ticket at
 * the door; a PENDING booking's seats against everyone else until it expires, with every
 * subscriber seeing the seats come free.
 */
describe('bookings under concurrency', () => {
  let t: TestStack;
  let engine: BookingEngine;
  let admin: string;
  const subs: TestSubscription[] = [];
  const PAYMENTS = { kind: 'service', service: 'payments' } as const;

  beforeAll(async () => {
    t = await startTestStack();
    engine = stackEngine(t);
    admin = t.token('user_admin', 'ADMIN');
  });
  afterAll(async () => {
    await Promise.all(subs.map((s) => s.close()));
    await t?.stop();
  });

  const users = (n: number) => Array.from({ length: n }, () => `user_${randomUUID().slice(0, 8)}`);

  /** `customers[i]` holds seat i of the showtime (one each). */
  async function holdOneEach(customers: string[], showtimeId: string, seatIds: string[]) {
    await Promise.all(customers.map((c, i) => holdSeats(t, c, showtimeId, [seatIds[i]])));
  }

  /** Reads a subscriber's events until every one of `seatIds` was reported in `status`. */
  async function seatsSeen(watcher: TestSubscription, seatIds: string[], status: string) {
    const seen = new Set<string>();
    while (seen.size < seatIds.length) {
      const event = await watcher.next();
      expect(event.errors).toBeUndefined();
      for (const seat of event.data!.seatUpdates.seats) {
        if (seatIds.includes(seat.seatId) && seat.status === status) seen.add(seat.seatId);
      }
    }
  }

  it('gives a promotion limited to 10 to exactly 10 of 50 concurrent CreateBooking; an expired one frees its use', async () => {
    const show = await scheduleShowtime(t, { minutesAhead: 3 * 24 * 60, rows: 6, columns: 10 });
    const promo = ok(
      await t.query(
        contractOperation('CreatePromotion'),
        {
          input: {
            code: `RUSH${randomUUID().slice(0, 6)}`,
            type: 'FIXED_AMOUNT',
            value: 20_000,
            usageLimit: 10,
            validFrom: new Date(Date.now() - HOUR).toISOString(),
            validTo: new Date(Date.now() + 24 * HOUR).toISOString(),
          },
        },
        { token: admin },
      ),
    ).data!.createPromotion;
    const customers = users(51);
    const seatIds = show.seats.map((s) => s.seatId);
    await holdOneEach(customers, show.showtimeId, seatIds);

    const answers = await Promise.all(
      customers.slice(0, 50).map((c, i) =>
        createBooking(t, c, {
          showtimeId: show.showtimeId,
          seatIds: [seatIds[i]],
          promotionCode: promo.code,
        }),
      ),
    );
    const made = answers.filter((a) => !a.errors).map((a) => a.data!.createBooking);
    expect(made).toHaveLength(10);
    expect(made.every((b) => b.discount === 20_000 && b.finalAmount === 70_000)).toBe(true);
    for (const a of answers.filter((x) => x.errors)) {
      expect(a.errors![0].extensions).toMatchObject({
        code: 'PROMOTION_INVALID',
        reason: 'USAGE_LIMIT_REACHED',
      });
    }
    const last = customers[50];
    const refused = await createBooking(t, last, {
      showtimeId: show.showtimeId,
      seatIds: [seatIds[50]],
      promotionCode: promo.code,
    });
    expect(refused.errors![0].extensions).toMatchObject({ reason: 'USAGE_LIMIT_REACHED' });

    // One of the ten is not paid in time: the expiry job gives its use back.
    await holdSeats(t, last, show.showtimeId, [seatIds[50]]);
    expect(await engine.lifecycle.expirePending(new Date(Date.now() + 11 * MINUTE), 1)).toBe(1);
    const next = ok(
      await createBooking(t, last, {
        showtimeId: show.showtimeId,
        seatIds: [seatIds[50]],
        promotionCode: promo.code,
      }),
    );
    expect(next.data!.createBooking).toMatchObject({ discount: 20_000, promotionCode: promo.code });
  });

  it('never sells a concession below zero: 5 in stock, 20 buyers at once', async () => {
    const show = await scheduleShowtime(t, { minutesAhead: 3 * 24 * 60, rows: 3, columns: 8 });
    const combo = ok(
      await t.query(
        `mutation($input: CreateConcessionInput!) { createConcession(input: $input) { id } }`,
        {
          input: {
            cinemaId: show.cinemaId,
            name: `Combo ${randomUUID().slice(0, 6)}`,
            category: 'COMBO',
            price: 99_000,
            stock: 5,
          },
        },
        { token: admin },
      ),
    ).data!.createConcession;
    const customers = users(20);
    const seatIds = show.seats.map((s) => s.seatId);
    await holdOneEach(customers, show.showtimeId, seatIds);
    const answers = await Promise.all(
      customers.map((c, i) =>
        createBooking(t, c, {
          showtimeId: show.showtimeId,
          seatIds: [seatIds[i]],
          concessions: [{ concessionId: combo.id, quantity: 1 }],
        }),
      ),
    );
    expect(answers.filter((a) => !a.errors)).toHaveLength(5);
    expect(answers.filter((a) => codeOf(a) === 'CONCESSION_OUT_OF_STOCK')).toHaveLength(15);
    const stock = ok(
      await t.query(
        'query($id: ID!) { concessions(cinemaId: $id) { id stock available } }',
        { id: show.cinemaId },
        { token: admin },
      ),
    ).data!.concessions.find((c: { id: string }) => c.id === combo.id);
    expect(stock).toEqual({ id: combo.id, stock: 0, available: false });
  });

  it('accepts exactly one of 20 concurrent scans of one ticket', async () => {
    const show = await scheduleShowtime(t, { minutesAhead: 15 });
    const [customer] = users(1);
    await holdSeats(t, customer, show.showtimeId, [show.seats[0].seatId]);
    const made = ok(
      await createBooking(t, customer, {
        showtimeId: show.showtimeId,
        seatIds: [show.seats[0].seatId],
      }),
    ).data!.createBooking;
    await engine.lifecycle.confirmBooking(made.id, { actor: PAYMENTS });
    const code = scannedQr(t, made.tickets[0].ticketCode);
    const doors = ['door_1', 'door_2', 'door_3', 'door_4'].map((d) => t.token(d, 'STAFF'));
    const scans = await Promise.all(
      Array.from({ length: 20 }, (_, i) =>
        t.query(contractOperation('ValidateTicket'), { code }, { token: doors[i % doors.length] }),
      ),
    );
    const results = scans.map((s) => ok(s).data!.validateTicket);
    const accepted = results.filter((r) => r.accepted);
    expect(accepted).toHaveLength(1);
    for (const r of results.filter((x) => !x.accepted)) {
      expect(r).toMatchObject({
        reason: 'ALREADY_USED',
        ticket: { status: 'USED', usedAt: accepted[0].ticket.usedAt },
      });
    }
  });

  it("keeps a PENDING booking's seats from everyone else until it expires; every subscriber sees them freed", async () => {
    const show = await scheduleShowtime(t, { minutesAhead: 3 * 24 * 60 });
    const [booker, other] = users(2);
    const seatIds = show.seats.slice(0, 2).map((s) => s.seatId);
    const watchers = [undefined, other].map((user) => {
      const sub = subscribe(
        t.gatewayUrl,
        contractOperation('SeatUpdates'),
        { showtimeId: show.showtimeId },
        user ? t.token(user) : undefined,
      );
      subs.push(sub);
      return sub;
    });
    await Promise.all(watchers.map((w) => w.connected));
    // The upstream subscriptions are open once the cinemas subgraph listens on the channel.
    await waitFor(
      async () => ((await t.redisSubscribers(show.showtimeId)) >= 1 ? true : undefined),
      'upstream subscriptions',
    );

    await holdSeats(t, booker, show.showtimeId, seatIds);
    // Every subscriber sees the seats taken (and so is live before the rest happens).
    for (const watcher of watchers) await seatsSeen(watcher, seatIds, 'HELD');
    const made = ok(await createBooking(t, booker, { showtimeId: show.showtimeId, seatIds })).data!
      .createBooking;

    // Nobody else can hold them, nor book them.
    const hold = await t.query(
      contractOperation('HoldSeats'),
      { showtimeId: show.showtimeId, seatIds: seatIds.slice(0, 1) },
      { token: t.token(other) },
    );
    expect(hold.errors![0].extensions).toMatchObject({ code: 'SEAT_UNAVAILABLE' });
    expect(['SEATS_NOT_HELD', 'SEAT_UNAVAILABLE']).toContain(
      codeOf(await createBooking(t, other, { showtimeId: show.showtimeId, seatIds })),
    );
    const seen = await seatStates(t, show.showtimeId, other);
    expect(seatIds.map((id) => seen.get(id)!.status)).toEqual(['HELD', 'HELD']);

    // Expired (the job at a time past the expiry): the seats are free, and everyone saw it.
    expect(
      await engine.lifecycle.expirePending(new Date(Date.now() + 11 * MINUTE)),
    ).toBeGreaterThanOrEqual(1);
    for (const watcher of watchers) await seatsSeen(watcher, seatIds, 'AVAILABLE');
    const after = await seatStates(t, show.showtimeId, other);
    expect(seatIds.map((id) => after.get(id)!.status)).toEqual(['AVAILABLE', 'AVAILABLE']);
    ok(await holdSeats(t, other, show.showtimeId, seatIds));
    const booking = ok(
      await t.query(contractOperation('Booking'), { id: made.id }, { token: t.token(booker) }),
    );
    expect(booking.data!.booking.status).toBe('EXPIRED');
  });
});

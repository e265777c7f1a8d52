import { DEMO_WELCOME_POINTS } from '../../subgraphs/bookings/src/demo/booking-demo';
import { contractOperation } from '../../tests/support/contract';
import { startTestStack, type TestStack } from '../../tests/support/test-stack';
import { buildDemoPlan, demoBookingSeats } from './demo-plan';
import { seedDemoData } from './seed';

const codeOf = (res: { errors?: { extensions?: Record<string, unknown> }[] }) =>
  res.errors?.[0]?.extensions?.code;

describe('the demo data adds up', () => {
  let t: TestStack;
  const plan = buildDemoPlan();
  beforeAll(async () => {
    t = await startTestStack();
  });
  afterAll(async () => {
    await t?.stop();
  });

  it("shows the demo customer's confirmed bookings' seats BOOKED, held by nobody, and charged at their prices", async () => {
    const me = await t.query(
      '{ me { loyalty { points totalSpent } bookings(first: 10) { edges { node { id status paymentStatus finalAmount showtime { id startsAt } } } } } }',
      {},
      { token: t.token('demo-customer') },
    );
    expect(me.errors).toBeUndefined();
    const bookings = me.data!.me.bookings.edges.map((e: any) => e.node);
    expect(bookings).toHaveLength(2);
    for (const booking of bookings) {
      expect(booking).toMatchObject({ status: 'CONFIRMED', paymentStatus: 'PAID' });
      // Points come when the showtime is over (COMPLETED): none yet for bookings still to come.
      expect(Date.parse(booking.showtime.startsAt)).toBeGreaterThan(Date.now());

      const res = await t.query(contractOperation('SeatMap'), { showtimeId: booking.showtime.id });
      expect(res.errors).toBeUndefined();
      const showtime = res.data!.showtime;
      const booked = showtime.seatMap.seats.filter((s: any) => s.status === 'BOOKED');
      const expected = demoBookingSeats(plan.seats, showtime.hall.id).map((s) => s.id);
      expect(booked.map((s: any) => s.seatId).sort()).toEqual([...expected].sort());
      const price = new Map(showtime.prices.map((p: any) => [p.seatType, p.amount]));
      const charged = booked.reduce(
        (sum: number, s: any) => sum + (price.get(s.type) as number),
        0,
      );
      expect(booking.finalAmount).toBe(charged);

      const hold = await t.query(
        contractOperation('HoldSeats'),
        { showtimeId: showtime.id, seatIds: expected },
        { token: t.token('user_seat_grabber') },
      );
      expect(codeOf(hold)).toBe('SEAT_UNAVAILABLE');
    }
    // Points come through the ledger (a welcome grant), never from bookings the engine did not
    // complete: nothing has been spent through the engine yet.
    expect(me.data!.me.loyalty).toEqual({ points: DEMO_WELCOME_POINTS, totalSpent: 0 });
  });

  it('reserves nothing twice when seeded again, on a later day too', async () => {
    const sources = {
      users: t.stack.subgraphs.users.dataSource,
      movies: t.stack.subgraphs.movies.dataSource,
      cinemas: t.stack.subgraphs.cinemas.dataSource,
      bookings: t.stack.subgraphs.bookings.dataSource,
    };
    const again = await seedDemoData(sources, new Date(Date.now() + 3 * 86_400_000));
    expect(again).toMatchObject({ bookings: 0, reservedSeats: 0 });
    const [{ count }] = await sources.cinemas.query(
      `SELECT count(*)::int AS count FROM seat_reservations WHERE status = 'ACTIVE'`,
    );
    expect(count).toBe(4);
  });
});

import { randomUUID } from 'node:crypto';
import { buildDemoPlan } from '../../scripts/seed/demo-plan';
import { contractOperation } from '../support/contract';
import { startTestStack, type TestStack } from '../support/test-stack';
import { waitFor } from '../support/wait-for';
import { subscribe, type TestSubscription } from '../support/ws-client';

/**
 * Issue 8 items 5 and 6 through the gateway: the anti-hoarding limits (seats counted before
 * any database work, showtimes per user, calls per minute) and a seat map that is fresh in
 * every subscription event. The rules themselves, with a fake clock, are the store suite's
 * (`seat-hold.store.test.ts`); this checks they reach clients as documented.
 */

const plan = buildDemoPlan();
const HOUR = 3_600_000;
const RATE = 6;
const MAX_SHOWTIMES = 2;

/** Distinct demo showtimes far enough ahead, and the sellable seats of each one's hall. */
function upcomingShowtime(index: number) {
  const upcoming = plan.showtimes.filter((s) => s.startsAt.getTime() > Date.now() + 24 * HOUR);
  const showtime = upcoming[index * 5 + 3];
  const free = plan.seats.filter((s) => s.hallId === showtime.hallId && !s.blocked);
  return { showtime, free };
}

describe('seat holds against hoarding, and the seat map in events', () => {
  let t: TestStack;
  const subs: TestSubscription[] = [];
  const hold = (showtimeId: string, seatIds: string[], user: string) =>
    t.query(contractOperation('HoldSeats'), { showtimeId, seatIds }, { token: t.token(user) });
  const release = (showtimeId: string, seatIds: string[], user: string) =>
    t.query(contractOperation('ReleaseSeats'), { showtimeId, seatIds }, { token: t.token(user) });

  beforeAll(async () => {
    t = await startTestStack({
      env: {
        SEAT_HOLD_RATE_PER_MINUTE: String(RATE),
        SEAT_HOLD_MAX_SHOWTIMES: String(MAX_SHOWTIMES),
      },
    });
  });
  afterAll(async () => {
    await Promise.all(subs.map((s) => s.close()));
    await t?.stop();
  });

  it('carries a seat map at least as new as the event in every event', async () => {
    const { showtime, free } = upcomingShowtime(0);
    const sub = subscribe(
      t.gatewayUrl,
      `subscription($id: ID!) {
        seatUpdates(showtimeId: $id) { version showtime { id seatMap { version } } }
      }`,
      { id: showtime.id },
    );
    subs.push(sub);
    await sub.connected;
    await waitFor(
      async () => ((await t.redisSubscribers(showtime.id)) >= 1 ? true : undefined),
      'the upstream subscription',
    );

    expect((await hold(showtime.id, [free[0].id], 'user_fresh_1')).errors).toBeUndefined();
    expect((await hold(showtime.id, [free[1].id], 'user_fresh_2')).errors).toBeUndefined();
    expect((await release(showtime.id, [free[0].id], 'user_fresh_1')).errors).toBeUndefined();

    for (const expected of [1, 2, 3]) {
      const event = await sub.next();
      expect(event.errors).toBeUndefined();
      const { version, showtime: carried } = event.data!.seatUpdates;
      expect(version).toBe(expected);
      expect(carried.seatMap.version).toBeGreaterThanOrEqual(version);
    }
  });

  it('refuses more than 8 seats, or 10,000 ids, before any database work, echoing none back', async () => {
    const { showtime, free } = upcomingShowtime(1);
    const cinemas = t.stack.subgraphs.cinemas.queryCounter;
    const huge = Array.from({ length: 10_000 }, () => randomUUID());
    for (const seatIds of [huge, free.slice(0, 9).map((s) => s.id)]) {
      cinemas.reset();
      const res = await hold(showtime.id, seatIds, 'user_greedy');
      expect(res.errors).toHaveLength(1);
      expect(res.errors![0]).toMatchObject({
        message: 'At most 8 seats can be held in one showtime',
        extensions: { code: 'HOLD_LIMIT_EXCEEDED' },
      });
      expect(res.errors![0].extensions).not.toHaveProperty('seatIds');
      expect(cinemas.count).toBe(0);
    }

    // Duplicates are one seat; an error names each seat at most once.
    const foreign = plan.seats.find((s) => s.hallId !== showtime.hallId)!;
    const res = await hold(showtime.id, Array(500).fill(foreign.id), 'user_greedy');
    expect(res.errors![0].extensions).toMatchObject({
      code: 'BAD_USER_INPUT',
      seatIds: [foreign.id],
    });
    const twice = await hold(showtime.id, [free[0].id, free[0].id], 'user_greedy');
    expect(twice.data!.holdSeats.seats).toEqual([
      { seatId: free[0].id, status: 'HELD', heldByMe: true },
    ]);
  });

  it(`holds one user's seats in at most ${MAX_SHOWTIMES} showtimes at once`, async () => {
    const showtimes = [2, 3, 4].map((i) => upcomingShowtime(i));
    for (const { showtime, free } of showtimes.slice(0, MAX_SHOWTIMES)) {
      expect((await hold(showtime.id, [free[0].id], 'user_everywhere')).errors).toBeUndefined();
    }
    const [third] = showtimes.slice(MAX_SHOWTIMES);
    const over = await hold(third.showtime.id, [third.free[0].id], 'user_everywhere');
    expect(over.errors?.[0]).toMatchObject({
      message: expect.stringContaining(`at most ${MAX_SHOWTIMES} showtimes at once`),
      extensions: { code: 'HOLD_LIMIT_EXCEEDED' },
    });
    // Giving back the seats of one showtime makes room at once.
    const [first] = showtimes;
    expect(
      (await release(first.showtime.id, [first.free[0].id], 'user_everywhere')).errors,
    ).toBeUndefined();
    expect(
      (await hold(third.showtime.id, [third.free[0].id], 'user_everywhere')).errors,
    ).toBeUndefined();
  });

  it(`answers RATE_LIMITED with retryAfter beyond ${RATE} hold and release calls a minute`, async () => {
    const { showtime, free } = upcomingShowtime(5);
    const user = 'user_busy';
    for (let i = 0; i < RATE; i++) {
      const res =
        i % 2 === 0
          ? await hold(showtime.id, [free[0].id], user)
          : await release(showtime.id, [free[0].id], user);
      expect(res.errors).toBeUndefined();
    }
    const limited = await hold(showtime.id, [free[0].id], user);
    expect(limited.errors?.[0]).toMatchObject({
      message: expect.stringContaining(`At most ${RATE} seat holds and releases a minute`),
      extensions: { code: 'RATE_LIMITED', retryAfter: expect.any(Number) },
    });
    const retryAfter = limited.errors![0].extensions!.retryAfter as number;
    expect(retryAfter).toBeGreaterThanOrEqual(1);
    expect(retryAfter).toBeLessThanOrEqual(60);
    // Someone else is not slowed down.
    expect((await hold(showtime.id, [free[1].id], 'user_calm')).errors).toBeUndefined();
  });
});

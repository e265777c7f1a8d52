import { randomUUID } from 'node:crypto';
import { buildDemoPlan } from '../../scripts/seed/demo-plan';
import { contractOperation } from '../support/contract';
import { startTestStack, type TestStack } from '../support/test-stack';
import { waitFor } from '../support/wait-for';
import { subscribe, type TestSubscription } from '../support/ws-client';

const plan = buildDemoPlan();
const HOUR = 3_600_000;

/** A demo showtime far enough ahead, and the sellable seats of its hall. */
function upcomingShowtime(index = 0) {
  const upcoming = plan.showtimes.filter((s) => s.startsAt.getTime() > Date.now() + 24 * HOUR);
  const showtime = upcoming[index * 7];
  const seats = plan.seats.filter((s) => s.hallId === showtime.hallId);
  return {
    showtime,
    free: seats.filter((s) => !s.blocked),
    blocked: seats.filter((s) => s.blocked),
  };
}

const codeOf = (res: { errors?: { extensions?: Record<string, unknown> }[] }) =>
  res.errors?.[0]?.extensions?.code;

describe('the live seat map through the gateway', () => {
  let t: TestStack;
  const subs: TestSubscription[] = [];
  const open = (showtimeId: string, token?: string) => {
    const sub = subscribe(t.gatewayUrl, contractOperation('SeatUpdates'), { showtimeId }, token);
    subs.push(sub);
    return sub;
  };
  const hold = (showtimeId: string, seatIds: string[], user: string) =>
    t.query(contractOperation('HoldSeats'), { showtimeId, seatIds }, { token: t.token(user) });
  const release = (showtimeId: string, seatIds: string[], user: string) =>
    t.query(contractOperation('ReleaseSeats'), { showtimeId, seatIds }, { token: t.token(user) });
  const seatMap = (showtimeId: string, user?: string) =>
    t.query(
      contractOperation('SeatMap'),
      { showtimeId },
      { token: user ? t.token(user) : undefined },
    );

  beforeAll(async () => {
    t = await startTestStack();
  });
  afterAll(async () => {
    await Promise.all(subs.map((s) => s.close()));
    await t?.stop();
  });

  it('SeatMap shows every seat, blocked ones BLOCKED, with the showtime version', async () => {
    const { showtime, blocked, free } = upcomingShowtime(0);
    const res = await seatMap(showtime.id);
    expect(res.errors).toBeUndefined();
    const map = res.data!.showtime.seatMap;
    expect(map.version).toBe(0);
    expect(map.seats).toHaveLength(blocked.length + free.length);
    const byId = new Map(map.seats.map((s: any) => [s.seatId, s]));
    for (const seat of blocked) expect(byId.get(seat.id)).toMatchObject({ status: 'BLOCKED' });
    expect(byId.get(free[0].id)).toMatchObject({
      status: 'AVAILABLE',
      heldByMe: false,
      row: free[0].row,
      number: free[0].number,
      type: free[0].type,
    });
    expect(res.data!.showtime.prices.length).toBeGreaterThan(0);
  });

  it('holds seats all or nothing, shows heldByMe only to the holder, releases by the holder only', async () => {
    const { showtime, free, blocked } = upcomingShowtime(1);
    const [a, b, c] = free;
    const anonymous = await t.query(contractOperation('HoldSeats'), {
      showtimeId: showtime.id,
      seatIds: [a.id],
    });
    expect(codeOf(anonymous)).toBe('UNAUTHENTICATED');

    const held = await hold(showtime.id, [a.id, b.id], 'user_anna');
    expect(held.errors).toBeUndefined();
    const expiresIn = Date.parse(held.data!.holdSeats.expiresAt) - Date.now();
    expect(expiresIn).toBeGreaterThan(9 * 60_000);
    expect(expiresIn).toBeLessThanOrEqual(10 * 60_000);
    expect(held.data!.holdSeats.seats).toEqual(
      expect.arrayContaining([
        { seatId: a.id, status: 'HELD', heldByMe: true },
        { seatId: b.id, status: 'HELD', heldByMe: true },
      ]),
    );

    // All or nothing: b is taken, so c is not held either.
    const clash = await hold(showtime.id, [b.id, c.id], 'user_bao');
    expect(clash.errors?.[0].extensions).toMatchObject({
      code: 'SEAT_UNAVAILABLE',
      seatIds: [b.id],
    });
    if (blocked[0]) {
      const onBlocked = await hold(showtime.id, [blocked[0].id], 'user_bao');
      expect(codeOf(onBlocked)).toBe('SEAT_UNAVAILABLE');
    }

    const asAnna = new Map(
      (await seatMap(showtime.id, 'user_anna')).data!.showtime.seatMap.seats.map((s: any) => [
        s.seatId,
        s,
      ]),
    );
    const asBao = new Map(
      (await seatMap(showtime.id, 'user_bao')).data!.showtime.seatMap.seats.map((s: any) => [
        s.seatId,
        s,
      ]),
    );
    expect(asAnna.get(a.id)).toMatchObject({ status: 'HELD', heldByMe: true });
    expect(asBao.get(a.id)).toMatchObject({ status: 'HELD', heldByMe: false });
    expect(asBao.get(c.id)).toMatchObject({ status: 'AVAILABLE' });

    const notMine = await release(showtime.id, [a.id], 'user_bao');
    expect(notMine.data!.releaseSeats.seats).toEqual([]);
    const mine = await release(showtime.id, [a.id], 'user_anna');
    expect(mine.data!.releaseSeats.seats).toEqual([
      { seatId: a.id, status: 'AVAILABLE', heldByMe: false },
    ]);
  });

  it('of 40 concurrent holds of one seat exactly one wins', async () => {
    const { showtime, free } = upcomingShowtime(2);
    const seat = free[3];
    const results = await Promise.all(
      Array.from({ length: 40 }, (_, i) => hold(showtime.id, [seat.id], `user_rush_${i}`)),
    );
    const winners = results.filter((r) => !r.errors);
    expect(winners).toHaveLength(1);
    for (const loser of results.filter((r) => r.errors)) {
      expect(loser.errors![0].extensions).toMatchObject({
        code: 'SEAT_UNAVAILABLE',
        seatIds: [seat.id],
      });
    }
  });

  it('never leaves a partial hold when overlapping multi-seat holds race', async () => {
    const { showtime, free } = upcomingShowtime(3);
    const pool = free.slice(0, 6).map((s) => s.id);
    const requests = Array.from({ length: 16 }, (_, i) => {
      const start = i % 5;
      return { user: `user_overlap_${i}`, seats: pool.slice(start, start + 2 + (i % 2)) };
    });
    const results = await Promise.all(requests.map((r) => hold(showtime.id, r.seats, r.user)));
    const map = await seatMap(showtime.id);
    const held = map
      .data!.showtime.seatMap.seats.filter((s: any) => s.status === 'HELD')
      .map((s: any) => s.seatId);
    const granted = requests.filter((_, i) => !results[i].errors);
    // Every held seat belongs to a request that succeeded whole, and no seat twice.
    expect(new Set(held)).toEqual(new Set(granted.flatMap((r) => r.seats)));
    expect(granted.flatMap((r) => r.seats)).toHaveLength(held.length);
  });

  it('refuses a 9th seat with HOLD_LIMIT_EXCEEDED, holding none of the request', async () => {
    const { showtime, free } = upcomingShowtime(4);
    const first = await hold(
      showtime.id,
      free.slice(0, 6).map((s) => s.id),
      'user_many',
    );
    expect(first.errors).toBeUndefined();
    const more = await hold(
      showtime.id,
      free.slice(6, 9).map((s) => s.id),
      'user_many',
    );
    expect(codeOf(more)).toBe('HOLD_LIMIT_EXCEEDED');
    const map = await seatMap(showtime.id, 'user_many');
    expect(map.data!.showtime.seatMap.seats.filter((s: any) => s.heldByMe)).toHaveLength(6);
  });

  it('answers BAD_USER_INPUT for a seat of another hall and for a showtime that started', async () => {
    const { showtime } = upcomingShowtime(5);
    const otherHallSeat = plan.seats.find((s) => s.hallId !== showtime.hallId)!;
    const foreign = await hold(showtime.id, [otherHallSeat.id], 'user_x');
    expect(foreign.errors?.[0].extensions).toMatchObject({
      code: 'BAD_USER_INPUT',
      field: 'seatIds',
    });

    const started = randomUUID();
    await t.stack.subgraphs.cinemas.dataSource
      .query(
        `INSERT INTO showtimes (id, movie_id, hall_id, starts_at, ends_at, busy_until, format, language, price_table)
       VALUES ($1, $2, $3, now() - interval '1 minute', now() + interval '2 hours',
               now() + interval '2 hours 15 minutes', '2D', 'Vietnamese', '{"STANDARD": 90000}')`,
        [started, showtime.movieId, plan.halls[plan.halls.length - 1].id],
      )
      .catch(async () => {
        // The hall may be busy right now in the demo schedule: use a time long past instead.
        await t.stack.subgraphs.cinemas.dataSource.query(
          `INSERT INTO showtimes (id, movie_id, hall_id, starts_at, ends_at, busy_until, format, language, price_table)
         VALUES ($1, $2, $3, '2020-01-01T10:00Z', '2020-01-01T12:00Z', '2020-01-01T12:15Z', '2D', 'Vietnamese', '{}')`,
          [started, showtime.movieId, plan.halls[plan.halls.length - 1].id],
        );
      });
    const seat = plan.seats.find((s) => s.hallId === plan.halls[plan.halls.length - 1].id)!;
    const late = await hold(started, [seat.id], 'user_x');
    expect(late.errors?.[0].extensions).toMatchObject({
      code: 'BAD_USER_INPUT',
      field: 'showtimeId',
    });
  });

  it('streams only the changed seats with consecutive versions, heldByMe per subscriber, movie from movies', async () => {
    const { showtime, free } = upcomingShowtime(6);
    const asCarol = open(showtime.id, t.token('user_carol'));
    const asDan = open(showtime.id, t.token('user_dan'));
    const asAnonymous = open(showtime.id);
    await Promise.all([asCarol.connected, asDan.connected, asAnonymous.connected]);
    // The upstream subscriptions are open once the cinemas subgraph listens on the channel.
    await waitFor(
      async () => ((await t.redisSubscribers(showtime.id)) >= 1 ? true : undefined),
      'upstream subscriptions',
    );

    const base = (await seatMap(showtime.id)).data!.showtime.seatMap.version;
    expect(
      (await hold(showtime.id, [free[0].id, free[1].id], 'user_carol')).errors,
    ).toBeUndefined();
    expect((await release(showtime.id, [free[0].id], 'user_carol')).errors).toBeUndefined();
    expect((await hold(showtime.id, [free[2].id], 'user_dan')).errors).toBeUndefined();

    for (const [sub, me] of [
      [asCarol, 'carol'],
      [asDan, 'dan'],
      [asAnonymous, null],
    ] as const) {
      const events = [await sub.next(), await sub.next(), await sub.next()].map((e) => {
        expect(e.errors).toBeUndefined();
        return e.data!.seatUpdates;
      });
      expect(events.map((e) => e.version)).toEqual([base + 1, base + 2, base + 3]);
      expect(events[0].showtime.movie.title).toBe(
        plan.movies.find((m) => m.id === showtime.movieId)!.title,
      );
      expect(events[0].seats).toEqual(
        expect.arrayContaining([
          { seatId: free[0].id, status: 'HELD', heldByMe: me === 'carol' },
          { seatId: free[1].id, status: 'HELD', heldByMe: me === 'carol' },
        ]),
      );
      expect(events[0].seats).toHaveLength(2);
      expect(events[1].seats).toEqual([
        { seatId: free[0].id, status: 'AVAILABLE', heldByMe: false },
      ]);
      expect(events[2].seats).toEqual([
        { seatId: free[2].id, status: 'HELD', heldByMe: me === 'dan' },
      ]);
    }
  });

  it('serves subscribers who alias differently from one upstream, each in its own shape', async () => {
    const { showtime, free } = upcomingShowtime(10);
    const title = plan.movies.find((m) => m.id === showtime.movieId)!.title;
    const aliased = subscribe(
      t.gatewayUrl,
      `subscription Mine($id: ID!) {
        changes: seatUpdates(showtimeId: $id) {
          v: version
          seats { id: seatId state: status }
          film: showtime { movie { name: title } }
        }
      }`,
      { id: showtime.id },
    );
    subs.push(aliased);
    const plain = open(showtime.id);
    await Promise.all([aliased.connected, plain.connected]);
    await waitFor(
      async () => ((await t.redisSubscribers(showtime.id)) >= 1 ? true : undefined),
      'upstream subscriptions',
    );
    const base = (await seatMap(showtime.id)).data!.showtime.seatMap.version;
    expect((await hold(showtime.id, [free[0].id], 'user_alias')).errors).toBeUndefined();

    expect((await aliased.next()).data).toEqual({
      changes: {
        v: base + 1,
        seats: [{ id: free[0].id, state: 'HELD' }],
        film: { movie: { name: title } },
      },
    });
    expect((await plain.next()).data!.seatUpdates).toEqual({
      showtimeId: showtime.id,
      version: base + 1,
      seats: [{ seatId: free[0].id, status: 'HELD', heldByMe: false }],
      showtime: { id: showtime.id, movie: { title } },
    });
  });

  it('releases every upstream and Redis subscription when clients leave', async () => {
    const { showtime } = upcomingShowtime(7);
    const clients = Array.from({ length: 5 }, (_, i) =>
      open(showtime.id, i % 2 ? t.token(`user_leave_${i}`) : undefined),
    );
    await Promise.all(clients.map((c) => c.connected));
    await waitFor(
      async () => ((await t.redisSubscribers(showtime.id)) >= 1 ? true : undefined),
      'subscribed',
    );
    await Promise.all(clients.map((c) => c.close()));
    await waitFor(
      async () => ((await t.redisSubscribers(showtime.id)) === 0 ? true : undefined),
      'no subscriber left',
    );
  });

  it('refuses new operations on a socket whose token has expired', async () => {
    const { showtime } = upcomingShowtime(0);
    // Just expired: within the verifier's clock-skew allowance, so the socket opens.
    const sub = open(showtime.id, t.token('user_old', 'CUSTOMER', { expiresIn: -2 }));
    const result = await sub.next();
    expect(result.errors?.[0]).toMatchObject({ extensions: { code: 'UNAUTHENTICATED' } });
  });

  it('closes the socket with 4401 for an invalid token', async () => {
    const { showtime } = upcomingShowtime(0);
    const bad = open(showtime.id, 'not-a-token');
    await bad.done;
    expect(bad.closeCode).toBe(4401);
  });

  it('ends every open seat map of a cancelled showtime with SHOWTIME_CANCELLED, and refuses new ones', async () => {
    const { showtime, free } = upcomingShowtime(11);
    const anonymous = open(showtime.id);
    const signedIn = open(showtime.id, t.token('user_cancel_viewer'));
    // Both listening: a hold reaches them.
    expect((await hold(showtime.id, [free[0].id], 'user_cancel_holder')).errors).toBeUndefined();
    for (const sub of [anonymous, signedIn]) {
      expect((await sub.next()).data?.seatUpdates).toBeDefined();
    }
    const cancelled = await t.query(
      'mutation($id: ID!) { cancelShowtime(id: $id) { id } }',
      { id: showtime.id },
      { token: t.token('user_admin', 'ADMIN') },
    );
    expect(cancelled.errors).toBeUndefined();
    const refusal = { code: 'BAD_USER_INPUT', reason: 'SHOWTIME_CANCELLED' };
    for (const sub of [anonymous, signedIn]) {
      const last = await sub.next();
      expect(last.errors?.[0]?.extensions).toMatchObject(refusal);
      await sub.done;
      expect(sub.ended).toBe(true);
    }
    // A seat map opened afterwards is refused at once, on the same terms.
    const late = open(showtime.id);
    expect((await late.next()).errors?.[0]?.extensions).toMatchObject(refusal);
  });
});

describe('hold expiry', () => {
  let t: TestStack;
  const subs: TestSubscription[] = [];
  beforeAll(async () => {
    t = await startTestStack({ env: { SEAT_HOLD_TTL_SECONDS: '3' } });
  });
  afterAll(async () => {
    await Promise.all(subs.map((s) => s.close()));
    await t?.stop();
  });

  it('broadcasts expired seats as AVAILABLE, also when the holding process restarted meanwhile', async () => {
    const { showtime, free } = upcomingShowtime(8);
    const held = await t.query(
      contractOperation('HoldSeats'),
      { showtimeId: showtime.id, seatIds: [free[0].id, free[1].id] },
      { token: t.token('user_eve') },
    );
    expect(held.errors).toBeUndefined();
    // The process that took the hold goes away before it expires, and comes back.
    await t.restartSubgraph('cinemas');
    const sub = subscribe(t.gatewayUrl, contractOperation('SeatUpdates'), {
      showtimeId: showtime.id,
    });
    subs.push(sub);
    const event = (await sub.next()).data!.seatUpdates;
    expect(event.seats).toEqual(
      expect.arrayContaining([
        { seatId: free[0].id, status: 'AVAILABLE', heldByMe: false },
        { seatId: free[1].id, status: 'AVAILABLE', heldByMe: false },
      ]),
    );
    const map = await t.query(contractOperation('SeatMap'), { showtimeId: showtime.id });
    expect(map.data!.showtime.seatMap.seats.filter((s: any) => s.status === 'HELD')).toEqual([]);
  });
});

describe('sold seats', () => {
  let t: TestStack;
  beforeAll(async () => {
    t = await startTestStack();
  });
  afterAll(async () => {
    await t?.stop();
  });

  it('shows a reserved seat as BOOKED, refuses to hold it, and never sells it twice', async () => {
    const { showtime, free } = upcomingShowtime(9);
    const seat = free[0];
    const reserve = (bookingId: string) =>
      t.stack.subgraphs.cinemas.dataSource.query(
        `INSERT INTO seat_reservations (id, showtime_id, seat_id, booking_id) VALUES ($1, $2, $3, $4)`,
        [randomUUID(), showtime.id, seat.id, bookingId],
      );
    await reserve(randomUUID());
    // Invariant 1: the unique index refuses a second active reservation of the seat.
    await expect(reserve(randomUUID())).rejects.toThrow(/seat_reservations_one_active_idx/);

    const map = await t.query(contractOperation('SeatMap'), { showtimeId: showtime.id });
    const state = map.data!.showtime.seatMap.seats.find((s: any) => s.seatId === seat.id);
    expect(state).toMatchObject({ status: 'BOOKED', heldByMe: false });
    const held = await t.query(
      contractOperation('HoldSeats'),
      { showtimeId: showtime.id, seatIds: [seat.id] },
      { token: t.token('user_late') },
    );
    expect(held.errors?.[0].extensions).toMatchObject({
      code: 'SEAT_UNAVAILABLE',
      seatIds: [seat.id],
    });
  });
});

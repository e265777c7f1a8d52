import { randomUUID } from 'node:crypto';
import type { DataSource } from 'typeorm';
import {
  BOOKINGS_STREAM,
  type BookingEventType,
  type BookingSeatsPayload,
  type PendingReservationRequest,
} from '../../runtime/contracts/booking-events';
import { RedisStreamsTransport } from '../../runtime/events/redis-streams-transport';
import { IDENTITY_HEADER, signIdentity, type Identity } from '../../runtime/identity';
import { createLogger } from '../../runtime/logger';
import { closeRedis, createRedis } from '../../runtime/redis';
import { buildDemoPlan } from '../../scripts/seed/demo-plan';
import {
  RESERVATION_GRACE_MS,
  ReservationService,
} from '../../subgraphs/cinemas/src/reservation/reservation.service';
import type { SeatHoldStore } from '../../subgraphs/cinemas/src/seat/hold/seat-hold.store';
import { startTestStack, type TestStack } from '../support/test-stack';
import { waitFor } from '../support/wait-for';
import { subscribe, type TestSubscription } from '../support/ws-client';

/**
 * Issue 11, the cinemas side of the booking engine, through real servers (PostgreSQL,
 * Redis, the gateway): seats the user holds become PENDING reservations of a booking
 * (`POST /internal/reservations/pending`, as the bookings subgraph calls it), the bookings
 * stream's events make them BOOKED or AVAILABLE again, and a safety net frees PENDING seats
 * whose booking nobody settled. Seat maps and subscribers see every step.
 */

const plan = buildDemoPlan();
const HOUR = 3_600_000;
const MINUTE = 60_000;

/** A demo showtime of its own per test, far enough ahead, and its hall's sellable seats. */
function upcomingShowtime(index: number) {
  const upcoming = plan.showtimes.filter((s) => s.startsAt.getTime() > Date.now() + 24 * HOUR);
  const showtime = upcoming[index * 11 + 5];
  const free = plan.seats.filter((s) => s.hallId === showtime.hallId && !s.blocked);
  return { showtime, free: free.map((s) => s.id) };
}

const SEAT_MAP = `query($id: ID!) {
  showtime(id: $id) { availableSeats seatMap { version seats { seatId status heldByMe } } }
}`;
const SEAT_UPDATES = `subscription($id: ID!) {
  seatUpdates(showtimeId: $id) { version seats { seatId status heldByMe } }
}`;
/** With the seat map as it is when the event is resolved: it must already show the change. */
const SEAT_UPDATES_WITH_MAP = `subscription($id: ID!) {
  seatUpdates(showtimeId: $id) {
    version seats { seatId status heldByMe }
    showtime { seatMap { version seats { seatId status } } }
  }
}`;
const HOLD = `mutation($showtimeId: ID!, $seatIds: [ID!]!) {
  holdSeats(showtimeId: $showtimeId, seatIds: $seatIds) { seats { seatId } }
}`;
const RELEASE = `mutation($showtimeId: ID!, $seatIds: [ID!]!) {
  releaseSeats(showtimeId: $showtimeId, seatIds: $seatIds) { seats { seatId } }
}`;

const BOOKINGS: Identity = { userId: null, role: null, service: 'bookings' };
/** An advisory lock key of this file's own. */
const COMMIT_GATE = 7_340_011;

type SeatState = { seatId: string; status: string; heldByMe: boolean };
type SeatUpdate = { version: number; seats: SeatState[] };

describe('seat reservations of bookings', () => {
  let t: TestStack;
  let db: DataSource;
  let events: RedisStreamsTransport;
  let internalBase: string;
  const subs: TestSubscription[] = [];

  beforeAll(async () => {
    t = await startTestStack();
    db = t.stack.subgraphs.cinemas.dataSource;
    internalBase = t.stack.subgraphs.cinemas.url.replace(/\/graphql$/, '/internal');
    // The bookings subgraph's side of the stream, as its outbox relay would publish it.
    events = new RedisStreamsTransport(t.config.redis.url!, t.config.redis.keyPrefix, {
      log: createLogger('test-bookings', 'silent'),
    });
  });
  afterAll(async () => {
    await Promise.all(subs.map((s) => s.close()));
    await events?.close();
    await t?.stop();
  });

  const post = async (path: string, body: unknown, identity: Identity | null = BOOKINGS) => {
    const res = await fetch(`${internalBase}${path}`, {
      method: 'POST',
      headers: {
        'content-type': 'application/json',
        ...(identity
          ? { [IDENTITY_HEADER]: signIdentity(identity, t.config.internalSecret, 'cinemas') }
          : {}),
      },
      body: JSON.stringify(body),
    });
    return { status: res.status, body: (await res.json()) as Record<string, any> };
  };
  const pendingRequest = (
    userId: string,
    showtimeId: string,
    seatIds: string[],
    bookingId: string = randomUUID(),
  ): PendingReservationRequest => ({
    bookingId,
    showtimeId,
    userId,
    seatIds,
    expiresAt: new Date(Date.now() + 10 * MINUTE).toISOString(),
  });
  const reserve = (request: PendingReservationRequest) => post('/reservations/pending', request);

  const hold = (showtimeId: string, seatIds: string[], user: string) =>
    t.query(HOLD, { showtimeId, seatIds }, { token: t.token(user) });
  const seatMap = async (showtimeId: string, user?: string) => {
    const res = await t.query(
      SEAT_MAP,
      { id: showtimeId },
      { token: user ? t.token(user) : undefined },
    );
    expect(res.errors).toBeUndefined();
    const { availableSeats, seatMap: map } = res.data!.showtime;
    const seats = new Map<string, SeatState>(map.seats.map((s: SeatState) => [s.seatId, s]));
    return { availableSeats: availableSeats as number, version: map.version as number, seats };
  };
  const rowsOf = (bookingId: string) =>
    db.query<{ seat_id: string; status: string; expires_at: Date | null }[]>(
      `SELECT seat_id, status, expires_at FROM seat_reservations
        WHERE booking_id = $1 ORDER BY seat_id`,
      [bookingId],
    );

  const publishBookingEvent = async (
    type: BookingEventType,
    payload: BookingSeatsPayload,
    occurredAt: Date = new Date(),
    id: string = randomUUID(),
  ) => {
    await events.publish(BOOKINGS_STREAM, [
      { id, type, aggregateId: payload.bookingId, payload, occurredAt: occurredAt.toISOString() },
    ]);
    return id;
  };

  /** Subscribed, and its upstream subscription listening (subscribe first, then act). */
  const open = async (showtimeId: string, user?: string, query = SEAT_UPDATES) => {
    const sub = subscribe(
      t.gatewayUrl,
      query,
      { id: showtimeId },
      user ? t.token(user) : undefined,
    );
    subs.push(sub);
    await sub.connected;
    await waitFor(
      async () => ((await t.redisSubscribers(showtimeId)) >= 1 ? true : undefined),
      'the upstream subscription',
    );
    return sub;
  };
  const nextUpdate = async (sub: TestSubscription): Promise<SeatUpdate> => {
    const result = await sub.next();
    expect(result.errors).toBeUndefined();
    const { version, seats } = result.data!.seatUpdates as SeatUpdate;
    return { version, seats };
  };
  /** The next event, and the seat map resolved with it: seatId -> status. */
  const nextWithMap = async (sub: TestSubscription) => {
    const result = await sub.next();
    expect(result.errors).toBeUndefined();
    const { version, seats, showtime } = result.data!.seatUpdates;
    const map = new Map<string, string>(
      showtime.seatMap.seats.map((s: SeatState) => [s.seatId, s.status]),
    );
    return { version: version as number, seats: seats as SeatState[], map };
  };

  /** Held by `user`, then reserved for a new booking of theirs; returns the booking id. */
  const holdAndReserve = async (showtimeId: string, seatIds: string[], user: string) => {
    expect((await hold(showtimeId, seatIds, user)).errors).toBeUndefined();
    const request = pendingRequest(user, showtimeId, seatIds);
    const res = await reserve(request);
    expect(res.status).toBe(200);
    return request.bookingId;
  };

  it('turns held seats into a PENDING booking: HELD for the booker only, one event, nobody else can take them', async () => {
    const { showtime, free } = upcomingShowtime(0);
    const [a, b, c] = free;
    const asAnna = await open(showtime.id, 'user_anna');
    const asAnyone = await open(showtime.id);
    const before = await seatMap(showtime.id);

    expect((await hold(showtime.id, [a, b], 'user_anna')).errors).toBeUndefined();
    const request = pendingRequest('user_anna', showtime.id, [b, a]);
    const res = await reserve(request);
    expect(res.status).toBe(200);
    const seats = plan.seats.filter((s) => s.id === a || s.id === b);
    expect(res.body).toEqual({
      showtime: {
        id: showtime.id,
        movieId: showtime.movieId,
        cinemaId: plan.halls.find((h) => h.id === showtime.hallId)!.cinemaId,
        hallId: showtime.hallId,
        startsAt: showtime.startsAt.toISOString(),
        endsAt: expect.any(String),
        capacity: free.length,
        status: 'SCHEDULED',
      },
      seats: expect.arrayContaining(
        seats.map((s) => ({ seatId: s.id, seatType: s.type, row: s.row, number: s.number })),
      ),
      prices: expect.arrayContaining(
        Object.entries(showtime.priceTable).map(([seatType, amount]) => ({ seatType, amount })),
      ),
    });
    expect(res.body.seats).toHaveLength(2);

    // Subscribers: the hold, then exactly one change for the reservation.
    for (const [sub, mine] of [
      [asAnna, true],
      [asAnyone, false],
    ] as const) {
      expect((await nextUpdate(sub)).version).toBe(before.version + 1);
      const reserved = await nextUpdate(sub);
      expect(reserved.version).toBe(before.version + 2);
      expect(reserved.seats).toEqual(
        expect.arrayContaining([
          { seatId: a, status: 'HELD', heldByMe: mine },
          { seatId: b, status: 'HELD', heldByMe: mine },
        ]),
      );
      expect(reserved.seats).toHaveLength(2);
    }

    const forAnna = await seatMap(showtime.id, 'user_anna');
    const forBao = await seatMap(showtime.id, 'user_bao');
    for (const seat of [a, b]) {
      expect(forAnna.seats.get(seat)).toEqual({ seatId: seat, status: 'HELD', heldByMe: true });
      expect(forBao.seats.get(seat)).toEqual({ seatId: seat, status: 'HELD', heldByMe: false });
    }
    expect(forBao.availableSeats).toBe(before.availableSeats - 2);
    expect((await rowsOf(request.bookingId)).map((r) => r.status)).toEqual(['PENDING', 'PENDING']);
    expect((await rowsOf(request.bookingId))[0].expires_at).toEqual(new Date(request.expiresAt));

    // Nobody can hold or book them: not another user, not the booker again.
    for (const user of ['user_bao', 'user_anna']) {
      const held = await hold(showtime.id, [a, c], user);
      expect(held.errors?.[0].extensions).toMatchObject({ code: 'SEAT_UNAVAILABLE', seatIds: [a] });
    }
    expect((await hold(showtime.id, [c], 'user_bao')).errors).toBeUndefined();
    const other = await reserve(pendingRequest('user_bao', showtime.id, [a, c]));
    expect(other).toEqual({
      status: 409,
      body: { code: 'SEAT_UNAVAILABLE', message: expect.any(String), seatIds: [a] },
    });
    // Releasing is for holds; a booking's seats go with the booking.
    const released = await t.query(
      RELEASE,
      { showtimeId: showtime.id, seatIds: [a, b] },
      { token: t.token('user_anna') },
    );
    expect(released.data!.releaseSeats.seats).toEqual([]);
    expect((await seatMap(showtime.id, 'user_anna')).seats.get(a)).toMatchObject({
      heldByMe: true,
    });

    // PostgreSQL is the record: with the hold store's side gone (a Redis that lost its data),
    // the seats are still the booking's, for holds and seat maps alike.
    const redis = createRedis(t.config.redis.url!);
    await redis.del(`${t.config.redis.keyPrefix}seat:{${showtime.id}}:reserved`);
    await closeRedis(redis);
    expect((await hold(showtime.id, [a], 'user_bao')).errors?.[0].extensions).toMatchObject({
      code: 'SEAT_UNAVAILABLE',
      seatIds: [a],
    });
    expect((await seatMap(showtime.id, 'user_anna')).seats.get(a)).toMatchObject({
      status: 'HELD',
      heldByMe: true,
    });
    expect((await seatMap(showtime.id, 'user_bao')).availableSeats).toBe(before.availableSeats - 3);
  });

  it('refuses seats the user does not hold with SEATS_NOT_HELD, reserving none of them', async () => {
    const { showtime, free } = upcomingShowtime(1);
    const [a, b, c] = free;
    expect((await hold(showtime.id, [a], 'user_cam')).errors).toBeUndefined();
    expect((await hold(showtime.id, [b], 'user_dao')).errors).toBeUndefined();
    const request = pendingRequest('user_cam', showtime.id, [a, b, c]);
    const refused = await reserve(request);
    expect(refused.status).toBe(409);
    expect(refused.body).toMatchObject({ code: 'SEATS_NOT_HELD' });
    expect([...refused.body.seatIds].sort()).toEqual([b, c].sort());
    expect(await rowsOf(request.bookingId)).toEqual([]);
    // Cam still holds a, as before; b is still Dao's.
    const map = await seatMap(showtime.id, 'user_cam');
    expect(map.seats.get(a)).toMatchObject({ status: 'HELD', heldByMe: true });
    expect(map.seats.get(b)).toMatchObject({ status: 'HELD', heldByMe: false });
    expect(map.seats.get(c)).toMatchObject({ status: 'AVAILABLE' });

    // The same booking id may try again once the request is right.
    const retried = await reserve({ ...request, seatIds: [a] });
    expect(retried.status).toBe(200);
    expect((await rowsOf(request.bookingId)).map((r) => r.seat_id)).toEqual([a]);
  });

  it('refuses malformed requests and callers other than the bookings service', async () => {
    const { showtime, free } = upcomingShowtime(2);
    const good = pendingRequest('user_eve', showtime.id, [free[0]]);
    const malformed: Record<string, unknown>[] = [
      { ...good, bookingId: 'not-a-uuid' },
      { ...good, seatIds: [] },
      { ...good, seatIds: free.slice(0, 9) },
      { ...good, seatIds: [free[0], free[0]] },
      { ...good, expiresAt: new Date(Date.now() - 1000).toISOString() },
      { ...good, expiresAt: 'soon' },
      { ...good, userId: '' },
    ];
    for (const body of malformed) {
      const res = await post('/reservations/pending', body);
      expect(res).toEqual({
        status: 400,
        body: { code: 'BAD_USER_INPUT', message: expect.any(String) },
      });
    }
    const otherHall = plan.seats.find((s) => s.hallId !== showtime.hallId)!.id;
    expect(await reserve({ ...good, seatIds: [otherHall] })).toMatchObject({
      status: 400,
      body: { code: 'BAD_USER_INPUT', seatIds: [otherHall] },
    });
    expect(await reserve({ ...good, showtimeId: randomUUID() })).toMatchObject({
      status: 404,
      body: { code: 'NOT_FOUND' },
    });
    expect((await post('/reservations/pending', good, null)).status).toBe(401);
    const asUser: Identity = { userId: 'user_eve', role: 'CUSTOMER' };
    expect((await post('/reservations/pending', good, asUser)).status).toBe(401);
    const asGateway: Identity = { userId: null, role: null, service: 'gateway' };
    expect((await post('/reservations/pending', good, asGateway)).status).toBe(403);
  });

  it('answers a retry of the same bookingId with the same answer and one set of rows', async () => {
    const { showtime, free } = upcomingShowtime(3);
    const seats = free.slice(0, 3);
    expect((await hold(showtime.id, seats, 'user_gia')).errors).toBeUndefined();
    const request = pendingRequest('user_gia', showtime.id, seats);
    // Several at once (a client retrying calls that timed out), then one more afterwards.
    const [first, ...others] = await Promise.all(Array.from({ length: 8 }, () => reserve(request)));
    const later = await reserve(request);
    expect(first.status).toBe(200);
    for (const other of [...others, later]) expect(other).toEqual(first);
    expect(await rowsOf(request.bookingId)).toHaveLength(3);
    // The same id for other seats is a caller's bug, not a second booking.
    expect(await reserve({ ...request, seatIds: seats.slice(0, 2) })).toMatchObject({
      status: 400,
      body: { code: 'BAD_USER_INPUT' },
    });
    expect(await rowsOf(request.bookingId)).toHaveLength(3);
  });

  it('of concurrent attempts on the same seats exactly one booking wins, and no hold slips in', async () => {
    const { showtime, free } = upcomingShowtime(4);
    const [a, b] = free;
    expect((await hold(showtime.id, [a, b], 'user_hai')).errors).toBeUndefined();
    const attempts = [
      ...Array.from({ length: 6 }, () => pendingRequest('user_hai', showtime.id, [a, b])),
      ...Array.from({ length: 6 }, (_, i) =>
        pendingRequest(`user_rival_${i}`, showtime.id, [a, b]),
      ),
    ];
    const [reservations, holds] = await Promise.all([
      Promise.all(attempts.map(reserve)),
      Promise.all(
        Array.from({ length: 12 }, (_, i) => hold(showtime.id, [i % 2 ? a : b], `user_rush_${i}`)),
      ),
    ]);
    const winners = reservations.filter((r) => r.status === 200);
    expect(winners).toHaveLength(1);
    for (const loser of reservations.filter((r) => r.status !== 200)) {
      expect(loser.status).toBe(409);
      expect(['SEAT_UNAVAILABLE', 'SEATS_NOT_HELD']).toContain(loser.body.code);
    }
    for (const held of holds) expect(held.errors?.[0].extensions?.code).toBe('SEAT_UNAVAILABLE');
    const live: { n: number }[] = await db.query(
      `SELECT count(*)::int AS n FROM seat_reservations
        WHERE showtime_id = $1 AND status IN ('PENDING', 'ACTIVE')`,
      [showtime.id],
    );
    expect(live[0].n).toBe(2);
    const map = await seatMap(showtime.id, 'user_hai');
    expect(map.seats.get(a)).toMatchObject({ status: 'HELD', heldByMe: true });
    expect(map.seats.get(b)).toMatchObject({ status: 'HELD', heldByMe: true });
  });

  it('makes seats BOOKED for everyone on booking.confirmed, and applies each event once', async () => {
    const { showtime, free } = upcomingShowtime(5);
    const [a, b, m] = free;
    const sub = await open(showtime.id, undefined, SEAT_UPDATES_WITH_MAP);
    const bookingId = await holdAndReserve(showtime.id, [a, b], 'user_ivy');
    const marker = await holdAndReserve(showtime.id, [m], 'user_kim');
    const base = (await seatMap(showtime.id)).version;
    while ((await nextUpdate(sub)).version < base); // the holds and reservations so far

    const payload: BookingSeatsPayload = {
      bookingId,
      showtimeId: showtime.id,
      seatIds: [a, b],
      status: 'CONFIRMED',
    };
    // The confirmation's commit is held open (a deferred trigger waits for a lock the test
    // holds): until it commits, seat maps must not hear of it.
    const gate = db.createQueryRunner();
    await gate.connect();
    await gate.query('SELECT pg_advisory_lock($1)', [COMMIT_GATE]);
    await db.query(`CREATE FUNCTION test_commit_gate() RETURNS trigger LANGUAGE plpgsql AS $$
      BEGIN PERFORM pg_advisory_xact_lock(${COMMIT_GATE}); RETURN NULL; END $$`);
    await db.query(`CREATE CONSTRAINT TRIGGER test_commit_gate AFTER UPDATE ON seat_reservations
      DEFERRABLE INITIALLY DEFERRED FOR EACH ROW WHEN (NEW.status = 'ACTIVE')
      EXECUTE FUNCTION test_commit_gate()`);
    let id: string;
    try {
      id = await publishBookingEvent('booking.confirmed', payload);
      await waitFor(
        async () =>
          (
            await db.query(
              `SELECT 1 FROM pg_locks WHERE locktype = 'advisory' AND objid = $1 AND NOT granted`,
              [COMMIT_GATE],
            )
          ).length > 0,
        'the confirmation waiting to commit',
      );
      expect((await seatMap(showtime.id)).version).toBe(base);
    } finally {
      await gate.query('SELECT pg_advisory_unlock($1)', [COMMIT_GATE]);
      await gate.release();
      await db.query('DROP TRIGGER test_commit_gate ON seat_reservations');
      await db.query('DROP FUNCTION test_commit_gate()');
    }

    const booked = await nextWithMap(sub);
    expect(booked.version).toBe(base + 1);
    // Announced once the change committed: a seat map read on the event already shows it.
    expect([booked.map.get(a), booked.map.get(b)]).toEqual(['BOOKED', 'BOOKED']);
    expect(booked.seats).toEqual(
      expect.arrayContaining([
        { seatId: a, status: 'BOOKED', heldByMe: false },
        { seatId: b, status: 'BOOKED', heldByMe: false },
      ]),
    );
    expect(booked.seats).toHaveLength(2);
    expect(await rowsOf(bookingId)).toEqual([
      expect.objectContaining({ status: 'ACTIVE', expires_at: null }),
      expect.objectContaining({ status: 'ACTIVE', expires_at: null }),
    ]);
    for (const user of ['user_ivy', 'user_lan']) {
      const map = await seatMap(showtime.id, user);
      expect(map.seats.get(a)).toEqual({ seatId: a, status: 'BOOKED', heldByMe: false });
    }

    // A redelivery, a second confirmation and the completion change nothing: the next event
    // subscribers get is the marker booking's release, published after them.
    await publishBookingEvent('booking.confirmed', payload, new Date(), id);
    await publishBookingEvent('booking.confirmed', payload);
    await publishBookingEvent('booking.completed', { ...payload, status: 'COMPLETED' });
    await publishBookingEvent('booking.released', {
      bookingId: marker,
      showtimeId: showtime.id,
      seatIds: [m],
      status: 'CANCELLED',
    });
    const next = await nextWithMap(sub);
    expect(next.version).toBe(base + 2);
    expect(next.seats).toEqual([{ seatId: m, status: 'AVAILABLE', heldByMe: false }]);
    expect(next.map.get(m)).toBe('AVAILABLE');
    expect((await rowsOf(bookingId)).map((r) => r.status)).toEqual(['ACTIVE', 'ACTIVE']);
    expect((await hold(showtime.id, [a], 'user_lan')).errors?.[0].extensions?.code).toBe(
      'SEAT_UNAVAILABLE',
    );
  });

  it('frees seats on booking.released, holdable again, and ignores an older event arriving late', async () => {
    const { showtime, free } = upcomingShowtime(6);
    const [a, b, m] = free;
    const sub = await open(showtime.id, undefined, SEAT_UPDATES_WITH_MAP);
    const bookingId = await holdAndReserve(showtime.id, [a, b], 'user_mai');
    const marker = await holdAndReserve(showtime.id, [m], 'user_kim');
    const base = (await seatMap(showtime.id)).version;
    while ((await nextUpdate(sub)).version < base);

    const payload: BookingSeatsPayload = {
      bookingId,
      showtimeId: showtime.id,
      seatIds: [a, b],
      status: 'EXPIRED',
    };
    const releasedAt = new Date();
    await publishBookingEvent('booking.released', payload, releasedAt);
    const freed = await nextWithMap(sub);
    expect(freed.version).toBe(base + 1);
    expect([freed.map.get(a), freed.map.get(b)]).toEqual(['AVAILABLE', 'AVAILABLE']);
    expect(freed.seats).toEqual(
      expect.arrayContaining([
        { seatId: a, status: 'AVAILABLE', heldByMe: false },
        { seatId: b, status: 'AVAILABLE', heldByMe: false },
      ]),
    );
    expect((await rowsOf(bookingId)).map((r) => r.status)).toEqual(['RELEASED', 'RELEASED']);
    expect((await seatMap(showtime.id, 'user_mai')).seats.get(a)).toMatchObject({
      status: 'AVAILABLE',
      heldByMe: false,
    });

    // A confirmation that happened before the release, delivered after it: nothing changes.
    await publishBookingEvent(
      'booking.confirmed',
      { ...payload, status: 'CONFIRMED' },
      new Date(releasedAt.getTime() - 1000),
    );
    await publishBookingEvent('booking.released', {
      bookingId: marker,
      showtimeId: showtime.id,
      seatIds: [m],
      status: 'CANCELLED',
    });
    expect((await nextUpdate(sub)).seats).toEqual([
      { seatId: m, status: 'AVAILABLE', heldByMe: false },
    ]);
    expect((await rowsOf(bookingId)).map((r) => r.status)).toEqual(['RELEASED', 'RELEASED']);

    const again = await hold(showtime.id, [a, b], 'user_nam');
    expect(again.errors).toBeUndefined();
    expect((await nextUpdate(sub)).seats).toHaveLength(2);
  });

  it('releases a PENDING booking nobody settled a grace after its expiry, and re-takes its seats on a late confirmation if still free', async () => {
    const { showtime, free } = upcomingShowtime(7);
    const [a, b, c] = free;
    const sub = await open(showtime.id);
    const late = await holdAndReserve(showtime.id, [a, b], 'user_oanh');
    const lost = await holdAndReserve(showtime.id, [c], 'user_phuc');
    const base = (await seatMap(showtime.id)).version;
    while ((await nextUpdate(sub)).version < base);

    // The bookings subgraph never expired them (down, say): past expiry + grace, cinemas does.
    await db.query(
      `UPDATE seat_reservations SET expires_at = now() - interval '3 minutes'
        WHERE booking_id = ANY($1::uuid[])`,
      [[late, lost]],
    );
    const expired = await nextUpdate(sub);
    expect(expired.seats).toEqual(
      expect.arrayContaining(
        [a, b, c].map((seatId) => ({ seatId, status: 'AVAILABLE', heldByMe: false })),
      ),
    );
    expect(expired.seats).toHaveLength(3);
    expect((await rowsOf(late)).map((r) => r.status)).toEqual(['RELEASED', 'RELEASED']);

    // c goes to someone else before the late payment of its first booking arrives.
    const taken = await holdAndReserve(showtime.id, [c], 'user_quan');
    expect((await nextUpdate(sub)).seats).toEqual([{ seatId: c, status: 'HELD', heldByMe: false }]);
    expect((await nextUpdate(sub)).seats).toEqual([{ seatId: c, status: 'HELD', heldByMe: false }]);

    // Invariant 7: a and b are still free, so the late confirmation takes them.
    await publishBookingEvent('booking.confirmed', {
      bookingId: lost,
      showtimeId: showtime.id,
      seatIds: [c],
      status: 'CONFIRMED',
    });
    await publishBookingEvent('booking.confirmed', {
      bookingId: late,
      showtimeId: showtime.id,
      seatIds: [a, b],
      status: 'CONFIRMED',
    });
    // Only the second changed anything: c stays with its new booking (the payment of the
    // first is the payments issue's to refund).
    const retaken = await nextUpdate(sub);
    expect(retaken.seats).toEqual(
      expect.arrayContaining([
        { seatId: a, status: 'BOOKED', heldByMe: false },
        { seatId: b, status: 'BOOKED', heldByMe: false },
      ]),
    );
    expect(retaken.seats).toHaveLength(2);
    expect((await rowsOf(late)).map((r) => r.status)).toEqual(['ACTIVE', 'ACTIVE']);
    expect((await rowsOf(lost)).map((r) => r.status)).toEqual(['RELEASED']);
    expect((await rowsOf(taken)).map((r) => r.status)).toEqual(['PENDING']);
  });

  it('releases each overdue reservation once however many instances run the safety net', async () => {
    const { showtime, free } = upcomingShowtime(11);
    const bookings = [
      await holdAndReserve(showtime.id, free.slice(0, 2), 'user_uyen'),
      await holdAndReserve(showtime.id, free.slice(2, 5), 'user_vinh'),
    ];
    // Three instances, each with its own view of the hold store, at a time past expiry + grace
    // (the stack's own job, on the real clock, leaves these rows alone).
    const announced: string[][] = [];
    const instances = Array.from(
      { length: 3 },
      () =>
        new ReservationService({
          dataSource: db,
          store: {
            publishChange: (_showtime: unknown, seats: { seatId: string }[]) => {
              announced.push(seats.map((seat) => seat.seatId));
              return Promise.resolve(0);
            },
          } as unknown as SeatHoldStore,
          holderTag: (userId) => userId,
          log: createLogger('test-cinemas', 'silent'),
        }),
    );
    const later = Date.now() + 10 * MINUTE + RESERVATION_GRACE_MS + MINUTE;
    // Earlier tests' PENDING bookings are overdue then too.
    const overdue: { seat_id: string }[] = await db.query(
      `SELECT seat_id FROM seat_reservations WHERE status = 'PENDING' AND expires_at <= $1`,
      [new Date(later - RESERVATION_GRACE_MS)],
    );
    expect(overdue.map((r) => r.seat_id)).toEqual(expect.arrayContaining(free.slice(0, 5)));
    const released = await Promise.all(instances.map((i) => i.expireOverdue(later)));
    expect(released.reduce((sum, n) => sum + n, 0)).toBe(overdue.length);
    expect(announced.flat().sort()).toEqual(overdue.map((r) => r.seat_id).sort());
    for (const bookingId of bookings) {
      for (const row of await rowsOf(bookingId)) expect(row.status).toBe('RELEASED');
    }
    expect(await Promise.all(instances.map((i) => i.expireOverdue(later)))).toEqual([0, 0, 0]);
  });

  it('announces a change that a crash kept from seat maps', async () => {
    const { showtime, free } = upcomingShowtime(12);
    const [a] = free;
    const sub = await open(showtime.id);
    const bookingId = await holdAndReserve(showtime.id, [a], 'user_son');
    const base = (await seatMap(showtime.id)).version;
    while ((await nextUpdate(sub)).version < base);
    // Released and committed, then the process died before telling anyone.
    await db.query(
      `UPDATE seat_reservations
          SET status = 'RELEASED', released_at = now(),
              unannounced_since = now() - interval '1 minute'
        WHERE booking_id = $1`,
      [bookingId],
    );
    expect(await nextUpdate(sub)).toEqual({
      version: base + 1,
      seats: [{ seatId: a, status: 'AVAILABLE', heldByMe: false }],
    });
    expect((await hold(showtime.id, [a], 'user_tam')).errors).toBeUndefined();
  });

  it('gives the facts of showtimes to other services', async () => {
    const { showtime, free } = upcomingShowtime(13);
    const res = await post('/showtimes/facts', { showtimeIds: [showtime.id, randomUUID()] });
    expect(res.status).toBe(200);
    expect(res.body.showtimes).toEqual([
      expect.objectContaining({
        id: showtime.id,
        hallId: showtime.hallId,
        capacity: free.length,
        status: 'SCHEDULED',
      }),
    ]);
    expect((await post('/showtimes/facts', { showtimeIds: ['x'] })).body).toMatchObject({
      code: 'BAD_USER_INPUT',
    });
  });
});

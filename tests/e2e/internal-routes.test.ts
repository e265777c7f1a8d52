import { randomUUID } from 'node:crypto';
import type { DataSource } from 'typeorm';
import {
  BOOKINGS_STREAM,
  type BookingEventType,
  type BookingSeatsPayload,
  type RetakeReservationRequest,
} from '../../runtime/contracts/booking-events';
import { RedisStreamsTransport } from '../../runtime/events/redis-streams-transport';
import { IDENTITY_HEADER, signIdentity, type Identity } from '../../runtime/identity';
import { createLogger } from '../../runtime/logger';
import { buildDemoPlan } from '../../scripts/seed/demo-plan';
import { sortSeatIds } from '../../subgraphs/cinemas/src/seat/hold/seat-hold.store';
import { startTestStack, type TestStack } from '../support/test-stack';
import { waitFor } from '../support/wait-for';
import { subscribe, type TestSubscription } from '../support/ws-client';

/**
 * The internal routes the bookings subgraph calls for payments and mail, through real
 * servers (PostgreSQL, Redis, the gateway for seat maps and holds):
 * - cinemas `POST /internal/reservations/retake`: a payment that arrived after the booking
 *   expired takes its released seats back, unless another booking has them;
 * - users `POST /internal/users/contacts`: email, name and locale of users, for mail;
 * and the users' `locale` itself (graph, `updateProfile`, Clerk events).
 */

const plan = buildDemoPlan();
const HOUR = 3_600_000;
const MINUTE = 60_000;

/** A demo showtime of its own per test, far enough ahead, and its hall's sellable seats. */
function upcomingShowtime(index: number) {
  const upcoming = plan.showtimes.filter((s) => s.startsAt.getTime() > Date.now() + 24 * HOUR);
  const showtime = upcoming[index * 7 + 3];
  const free = plan.seats.filter((s) => s.hallId === showtime.hallId && !s.blocked);
  return { showtime, free: free.map((s) => s.id) };
}

const SEAT_MAP = `query($id: ID!) {
  showtime(id: $id) { seatMap { version seats { seatId status heldByMe } } }
}`;
const SEAT_UPDATES = `subscription($id: ID!) {
  seatUpdates(showtimeId: $id) { version seats { seatId status heldByMe } }
}`;
const HOLD = `mutation($showtimeId: ID!, $seatIds: [ID!]!) {
  holdSeats(showtimeId: $showtimeId, seatIds: $seatIds) { seats { seatId } }
}`;
const USER_FIELDS = `id email phone locale`;

const BOOKINGS: Identity = { userId: null, role: null, service: 'bookings' };
const GATEWAY: Identity = { userId: null, role: null, service: 'gateway' };

type SeatState = { seatId: string; status: string; heldByMe: boolean };

describe('internal routes for payments and mail', () => {
  let t: TestStack;
  let cinemasDb: DataSource;
  let events: RedisStreamsTransport;
  const subs: TestSubscription[] = [];

  beforeAll(async () => {
    t = await startTestStack();
    cinemasDb = t.stack.subgraphs.cinemas.dataSource;
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

  /** POSTs to a subgraph's internal route with a signed service identity (or none). */
  const post = async (
    subgraph: 'cinemas' | 'users',
    path: string,
    body: unknown,
    identity: Identity | null = BOOKINGS,
  ) => {
    const base = t.stack.subgraphs[subgraph].url.replace(/\/graphql$/, '/internal');
    const res = await fetch(`${base}${path}`, {
      method: 'POST',
      headers: {
        'content-type': 'application/json',
        ...(identity
          ? { [IDENTITY_HEADER]: signIdentity(identity, t.config.internalSecret, subgraph) }
          : {}),
      },
      body: JSON.stringify(body),
    });
    return { status: res.status, body: (await res.json()) as Record<string, any> };
  };

  describe('cinemas: POST /internal/reservations/retake', () => {
    const retake = (request: unknown, identity?: Identity | null) =>
      post('cinemas', '/reservations/retake', request, identity);
    const retakeRequest = (
      bookingId: string,
      showtimeId: string,
      seatIds: string[],
    ): RetakeReservationRequest => ({
      bookingId,
      showtimeId,
      seatIds,
      expiresAt: new Date(Date.now() + 5 * MINUTE).toISOString(),
    });

    const hold = (showtimeId: string, seatIds: string[], user: string) =>
      t.query(HOLD, { showtimeId, seatIds }, { token: t.token(user) });
    const seatMap = async (showtimeId: string, user?: string) => {
      const res = await t.query(
        SEAT_MAP,
        { id: showtimeId },
        { token: user ? t.token(user) : undefined },
      );
      expect(res.errors).toBeUndefined();
      const seats: SeatState[] = res.data!.showtime.seatMap.seats;
      return new Map(seats.map((s) => [s.seatId, s]));
    };
    const rowsOf = (bookingId: string) =>
      cinemasDb.query<{ seat_id: string; status: string; expires_at: Date | null }[]>(
        `SELECT seat_id, status, expires_at FROM seat_reservations
          WHERE booking_id = $1 ORDER BY seat_id`,
        [bookingId],
      );
    const statusesOf = async (bookingId: string) =>
      (await rowsOf(bookingId)).map((r) => r.status).join(',');

    const publishBookingEvent = async (type: BookingEventType, payload: BookingSeatsPayload) => {
      await events.publish(BOOKINGS_STREAM, [
        {
          id: randomUUID(),
          type,
          aggregateId: payload.bookingId,
          payload,
          occurredAt: new Date().toISOString(),
        },
      ]);
    };

    /** Held by `user` and reserved for a PENDING booking, then expired by bookings. */
    const expiredBooking = async (showtimeId: string, seatIds: string[], user: string) => {
      expect((await hold(showtimeId, seatIds, user)).errors).toBeUndefined();
      const bookingId = randomUUID();
      const reserved = await post('cinemas', '/reservations/pending', {
        bookingId,
        showtimeId,
        userId: user,
        seatIds,
        expiresAt: new Date(Date.now() + 10 * MINUTE).toISOString(),
      });
      expect(reserved.status).toBe(200);
      await publishBookingEvent('booking.released', {
        bookingId,
        showtimeId,
        seatIds,
        status: 'EXPIRED',
      });
      // Released and announced: until then the hold store still keeps the seats, and the
      // announcement would end a hold taken before it.
      await waitFor(async () => {
        const rows: { status: string; unannounced_since: Date | null }[] = await cinemasDb.query(
          'SELECT status, unannounced_since FROM seat_reservations WHERE booking_id = $1',
          [bookingId],
        );
        return rows.every((r) => r.status === 'RELEASED' && r.unannounced_since === null);
      }, 'the release, announced');
      return bookingId;
    };

    /** Subscribed, and its upstream subscription listening (subscribe first, then act). */
    const open = async (showtimeId: string, user: string) => {
      const sub = subscribe(t.gatewayUrl, SEAT_UPDATES, { id: showtimeId }, t.token(user));
      subs.push(sub);
      await sub.connected;
      await waitFor(
        async () => ((await t.redisSubscribers(showtimeId)) >= 1 ? true : undefined),
        'the upstream subscription',
      );
      return sub;
    };
    /** The next seat event whose version is above `after`. */
    const nextAfter = async (sub: TestSubscription, after: number) => {
      for (;;) {
        const result = await sub.next();
        expect(result.errors).toBeUndefined();
        const update = result.data!.seatUpdates as { version: number; seats: SeatState[] };
        if (update.version > after) return update;
      }
    };

    it('takes a late-paid booking’s seats back over another user’s hold; nobody can hold them; the confirmation books them', async () => {
      const { showtime, free } = upcomingShowtime(0);
      const [a, b, c] = free;
      const bookingId = await expiredBooking(showtime.id, [a, b], 'user_anna');
      // While the payment is on its way, Bao holds a (it was free).
      expect((await hold(showtime.id, [a, c], 'user_bao')).errors).toBeUndefined();
      const asBao = await open(showtime.id, 'user_bao');
      const version = (await t.query(SEAT_MAP, { id: showtime.id })).data!.showtime.seatMap
        .version as number;

      const request = retakeRequest(bookingId, showtime.id, [b, a]);
      const res = await retake(request);
      expect(res).toEqual({ status: 200, body: { seatIds: sortSeatIds([a, b]) } });
      expect(await rowsOf(bookingId)).toEqual(
        [a, b].sort().map((seat_id) => ({
          seat_id,
          status: 'PENDING',
          expires_at: new Date(request.expiresAt),
        })),
      );
      // Bao hears at once that a is no longer his.
      const taken = await nextAfter(asBao, version);
      expect(taken.seats).toEqual(
        expect.arrayContaining([
          { seatId: a, status: 'HELD', heldByMe: false },
          { seatId: b, status: 'HELD', heldByMe: false },
        ]),
      );
      expect(taken.seats).toHaveLength(2);
      const forAnna = await seatMap(showtime.id, 'user_anna');
      const forBao = await seatMap(showtime.id, 'user_bao');
      for (const seat of [a, b]) {
        expect(forAnna.get(seat)).toEqual({ seatId: seat, status: 'HELD', heldByMe: true });
        expect(forBao.get(seat)).toEqual({ seatId: seat, status: 'HELD', heldByMe: false });
      }
      expect(forBao.get(c)).toEqual({ seatId: c, status: 'HELD', heldByMe: true });
      // Nobody can newly hold them: not Bao, not anyone else, not Anna herself.
      for (const user of ['user_bao', 'user_cam', 'user_anna']) {
        const refused = await hold(showtime.id, [a], user);
        expect(refused.errors?.[0].extensions).toMatchObject({
          code: 'SEAT_UNAVAILABLE',
          seatIds: [a],
        });
      }
      // A retry is answered the same.
      expect(await retake(request)).toEqual(res);

      await publishBookingEvent('booking.confirmed', {
        bookingId,
        showtimeId: showtime.id,
        seatIds: [a, b],
        status: 'CONFIRMED',
      });
      const booked = await nextAfter(asBao, taken.version);
      expect(booked.seats).toEqual(
        expect.arrayContaining([
          { seatId: a, status: 'BOOKED', heldByMe: false },
          { seatId: b, status: 'BOOKED', heldByMe: false },
        ]),
      );
      expect(await statusesOf(bookingId)).toBe('ACTIVE,ACTIVE');
      for (const user of ['user_anna', 'user_bao']) {
        const map = await seatMap(showtime.id, user);
        expect([map.get(a)?.status, map.get(b)?.status]).toEqual(['BOOKED', 'BOOKED']);
      }
      // Settled for good: a retry is still a 200.
      expect(await retake(request)).toEqual(res);
    });

    it('refuses with 409 SEATS_TAKEN when another booking has a seat, changing nothing', async () => {
      const { showtime, free } = upcomingShowtime(1);
      const [a, b] = free;
      const bookingId = await expiredBooking(showtime.id, [a, b], 'user_dao');
      expect((await hold(showtime.id, [b], 'user_eve')).errors).toBeUndefined();
      const other = randomUUID();
      expect(
        (
          await post('cinemas', '/reservations/pending', {
            bookingId: other,
            showtimeId: showtime.id,
            userId: 'user_eve',
            seatIds: [b],
            expiresAt: new Date(Date.now() + 10 * MINUTE).toISOString(),
          })
        ).status,
      ).toBe(200);
      const before = await seatMap(showtime.id, 'user_eve');

      expect(await retake(retakeRequest(bookingId, showtime.id, [a, b]))).toEqual({
        status: 409,
        body: {
          code: 'SEAT_UNAVAILABLE',
          reason: 'SEATS_TAKEN',
          message: expect.any(String),
          seatIds: [b],
        },
      });
      expect(await statusesOf(bookingId)).toBe('RELEASED,RELEASED');
      expect(await statusesOf(other)).toBe('PENDING');
      expect(await seatMap(showtime.id, 'user_eve')).toEqual(before);
      expect(before.get(a)?.status).toBe('AVAILABLE');
      expect((await hold(showtime.id, [a], 'user_fay')).errors).toBeUndefined();
    });

    it('refuses malformed requests, unknown bookings, closed showtimes and other callers', async () => {
      const { showtime, free } = upcomingShowtime(2);
      const bookingId = await expiredBooking(showtime.id, [free[0]], 'user_gia');
      const good = retakeRequest(bookingId, showtime.id, [free[0]]);
      // A bare JSON null or number never gets here: the JSON parser in front refuses it.
      for (const body of [null, 7]) expect((await retake(body)).status).toBe(400);
      const malformed: unknown[] = [
        [],
        { ...good, bookingId: 'not-a-uuid' },
        { ...good, showtimeId: 42 },
        { ...good, seatIds: [] },
        { ...good, seatIds: 'x' },
        { ...good, seatIds: free.slice(0, 9) },
        { ...good, seatIds: [free[0], free[0]] },
        { ...good, seatIds: [free[0], 'A1'] },
        { ...good, expiresAt: new Date(Date.now() - 1000).toISOString() },
        { ...good, expiresAt: new Date(Date.now() + 31 * MINUTE).toISOString() },
        { ...good, expiresAt: 'soon' },
      ];
      for (const body of malformed) {
        expect(await retake(body)).toEqual({
          status: 400,
          body: { code: 'BAD_USER_INPUT', message: expect.any(String) },
        });
      }
      // Not the booking's seats.
      expect(await retake({ ...good, seatIds: [free[1]] })).toMatchObject({
        status: 400,
        body: { code: 'BAD_USER_INPUT' },
      });
      expect(await retake({ ...good, bookingId: randomUUID() })).toMatchObject({
        status: 404,
        body: { code: 'NOT_FOUND' },
      });
      expect((await retake(good, null)).status).toBe(401);
      expect((await retake(good, { userId: 'user_gia', role: 'CUSTOMER' })).status).toBe(401);
      expect((await retake(good, GATEWAY)).status).toBe(403);

      await cinemasDb.query(`UPDATE showtimes SET status = 'CANCELLED' WHERE id = $1`, [
        showtime.id,
      ]);
      expect(await retake(good)).toEqual({
        status: 409,
        body: { code: 'SEAT_UNAVAILABLE', reason: 'SHOWTIME_CLOSED', message: expect.any(String) },
      });
      expect(await statusesOf(bookingId)).toBe('RELEASED');
    });
  });

  describe('users: locale and POST /internal/users/contacts', () => {
    /** The users subgraph's GraphQL, called as the gateway calls it for `identity`. */
    const usersGraph = async (query: string, identity: Identity, variables = {}) => {
      const res = await fetch(t.stack.subgraphs.users.url, {
        method: 'POST',
        headers: {
          'content-type': 'application/json',
          [IDENTITY_HEADER]: signIdentity(identity, t.config.internalSecret, 'users'),
        },
        body: JSON.stringify({ query, variables }),
      });
      return (await res.json()) as {
        data?: Record<string, any>;
        errors?: { extensions?: Record<string, unknown> }[];
      };
    };
    const customer = (userId: string, email?: string): Identity => ({
      userId,
      role: 'CUSTOMER',
      email,
    });
    const ADMIN: Identity = { userId: 'user_admin_loc', role: 'ADMIN' };
    const contacts = (body: unknown, identity?: Identity | null) =>
      post('users', '/users/contacts', body, identity);
    /** A Clerk event as the gateway relays it after checking its signature. */
    const clerk = async (type: string, data: Record<string, unknown>) => {
      const res = await post(
        'users',
        '/clerk-events',
        { id: `msg_${randomUUID()}`, type, data },
        GATEWAY,
      );
      expect(res).toEqual({ status: 200, body: { outcome: 'applied' } });
    };

    it('shows the locale to the user and admins only, and lets the user set vi or en', async () => {
      const hoa = customer('user_hoa', 'hoa@x.example');
      const mine = await usersGraph(`{ me { ${USER_FIELDS} } }`, hoa);
      expect(mine).toEqual({
        data: { me: { id: 'user_hoa', email: 'hoa@x.example', phone: null, locale: 'vi' } },
      });
      const SET = `mutation($locale: String) { updateProfile(input: { locale: $locale }) { locale } }`;
      expect(await usersGraph(SET, hoa, { locale: 'en' })).toEqual({
        data: { updateProfile: { locale: 'en' } },
      });
      for (const locale of ['EN', 'fr', '']) {
        const refused = await usersGraph(SET, hoa, { locale });
        expect(refused.errors?.[0].extensions).toMatchObject({
          code: 'BAD_USER_INPUT',
          field: 'locale',
        });
      }
      const BY_ID = `query($id: ID!) { user(id: $id) { ${USER_FIELDS} } }`;
      expect((await usersGraph(BY_ID, ADMIN, { id: 'user_hoa' })).data!.user).toEqual({
        id: 'user_hoa',
        email: 'hoa@x.example',
        phone: null,
        locale: 'en',
      });
      // Anyone else (an entity reference from another subgraph) sees null, like the email.
      const ENTITY = `query($r: [_Any!]!) { _entities(representations: $r) { ... on User { ${USER_FIELDS} } } }`;
      const asOther = await usersGraph(ENTITY, customer('user_ian'), {
        r: [{ __typename: 'User', id: 'user_hoa' }],
      });
      expect(asOther.data!._entities).toEqual([
        { id: 'user_hoa', email: null, phone: null, locale: null },
      ]);
    });

    it('answers contacts of known users for the bookings service; a deleted user has no email', async () => {
      await clerk('user.created', {
        id: 'user_kha',
        first_name: 'Kha',
        primary_email_address_id: 'e1',
        email_addresses: [{ id: 'e1', email_address: 'kha@x.example' }],
        unsafe_metadata: { locale: 'en' },
        updated_at: 1000,
      });
      await usersGraph(`{ me { id } }`, customer('user_linh', 'linh@x.example'));
      await clerk('user.created', {
        id: 'user_gone',
        first_name: 'Gone',
        primary_email_address_id: 'e1',
        email_addresses: [{ id: 'e1', email_address: 'gone@x.example' }],
        updated_at: 1000,
      });
      await clerk('user.deleted', { id: 'user_gone', deleted: true });

      expect(
        await contacts({ userIds: ['user_linh', 'user_unknown', 'user_kha', 'user_gone'] }),
      ).toEqual({
        status: 200,
        body: {
          contacts: [
            { id: 'user_linh', email: 'linh@x.example', name: null, locale: 'vi' },
            { id: 'user_kha', email: 'kha@x.example', name: 'Kha', locale: 'en' },
            { id: 'user_gone', email: null, name: null, locale: 'vi' },
          ],
        },
      });
      expect(await contacts({ userIds: Array.from({ length: 100 }, (_, i) => `u${i}`) })).toEqual({
        status: 200,
        body: { contacts: [] },
      });

      expect((await contacts(null)).status).toBe(400);
      const malformed: unknown[] = [
        [],
        {},
        { userIds: [] },
        { userIds: 'user_kha' },
        { userIds: Array.from({ length: 101 }, (_, i) => `u${i}`) },
        { userIds: ['user_kha', 7] },
        { userIds: ['user_kha', ''] },
        { userIds: ['x'.repeat(201)] },
        { userIds: [{ id: 'user_kha' }] },
      ];
      for (const body of malformed) {
        expect(await contacts(body)).toEqual({
          status: 400,
          body: { code: 'BAD_USER_INPUT', message: expect.any(String) },
        });
      }
      const body = { userIds: ['user_kha'] };
      expect((await contacts(body, null)).status).toBe(401);
      expect((await contacts(body, customer('user_kha'))).status).toBe(401);
      expect((await contacts(body, GATEWAY)).status).toBe(403);
      expect((await contacts(body, { userId: null, role: null, service: 'cinemas' })).status).toBe(
        403,
      );
    });
  });
});

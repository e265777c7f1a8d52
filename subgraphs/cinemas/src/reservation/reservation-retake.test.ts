import { randomUUID } from 'node:crypto';
import type { DataSource } from 'typeorm';
import type {
  BookingEventType,
  RetakeReservationRequest,
} from '../../../../runtime/contracts/booking-events';
import { createLogger } from '../../../../runtime/logger';
import { openSubgraphDatabase } from '../../../../runtime/subgraph-server';
import { dropTestDatabases, testConfig } from '../../../../tests/support/test-config';
import { cinemasSubgraph } from '../schema';
import { MemorySeatHoldStore } from '../seat/hold/memory-seat-hold.store';
import { sortSeatIds, type SeatEvent } from '../seat/hold/seat-hold.store';
import { RESERVATION_GRACE_MS, ReservationService } from './reservation.service';

/**
 * `ReservationService.retake` against real PostgreSQL (the cinemas migrations) and the memory
 * hold store (the shared store suite proves Redis' `retake` alike), on a clock the test sets.
 */

const log = createLogger('reservation-retake-test', 'silent');
const MINUTE = 60_000;
const HOUR = 60 * MINUTE;
const SEATS = 6;

/** Awaits a promise expected to fail with an AppError; returns its extensions. */
async function failure(promise: Promise<unknown>): Promise<Record<string, unknown>> {
  try {
    await promise;
  } catch (err) {
    return (err as { extensions?: Record<string, unknown> }).extensions ?? {};
  }
  throw new Error('expected the call to fail');
}

describe('ReservationService.retake', () => {
  const config = testConfig();
  let db: DataSource;
  let store: MemorySeatHoldStore;
  let reservations: ReservationService;
  const events: SeatEvent[] = [];
  /** The hall every showtime of this file is in; its seats. */
  const hallId = randomUUID();
  const seatIds = Array.from({ length: SEATS }, () => randomUUID());
  const tag = (userId: string) => `tag:${userId}`;

  beforeAll(async () => {
    db = await openSubgraphDatabase(cinemasSubgraph, config, log);
    store = new MemorySeatHoldStore({
      ttlSeconds: 600,
      maxSeatsPerHolder: 8,
      cooldownSeconds: 0,
      maxShowtimesPerHolder: 100,
      ratePerMinute: 1000,
      publish: (_showtimeId, event) => events.push(event),
    });
    reservations = new ReservationService({ dataSource: db, store, holderTag: tag, log });
    const cinemaId = randomUUID();
    await db.query(
      `INSERT INTO cinemas (id, name, city, city_key, address) VALUES ($1, 'C', 'Huế', 'hue', 'x')`,
      [cinemaId],
    );
    await db.query(
      `INSERT INTO halls (id, cinema_id, name, rows, columns, capacity) VALUES ($1, $2, 'H', 1, $3, $3)`,
      [hallId, cinemaId, SEATS],
    );
    await db.query(
      `INSERT INTO seats (id, hall_id, row_label, number, column_index, type)
       SELECT id, $1, 'A', n, n, 'STANDARD' FROM unnest($2::uuid[]) WITH ORDINALITY AS s(id, n)`,
      [hallId, seatIds],
    );
  });

  afterAll(async () => {
    await store?.close();
    await db?.destroy();
    await dropTestDatabases(config);
  });

  /** A showtime of its own (hours apart, so they never overlap in the hall). */
  let slot = 0;
  const newShowtime = async () => {
    const id = randomUUID();
    const startsAt = new Date(Date.now() + 48 * HOUR + slot++ * 4 * HOUR);
    const endsAt = new Date(startsAt.getTime() + 2 * HOUR);
    await db.query(
      `INSERT INTO showtimes (id, movie_id, hall_id, starts_at, ends_at, busy_until, format,
                             language, price_table)
       VALUES ($1, $2, $3, $4, $5, $5, '2D', 'vi', '{"STANDARD": 90000}')`,
      [id, randomUUID(), hallId, startsAt, endsAt],
    );
    return { id, ref: { id, endsAt: endsAt.getTime() }, startsAt };
  };

  /** Held by `user`, then a PENDING booking of theirs; returns the booking id. */
  const book = async (
    showtime: { id: string; ref: { id: string; endsAt: number } },
    seats: string[],
    user: string,
  ) => {
    await store.hold(showtime.ref, tag(user), seats);
    const bookingId = randomUUID();
    await reservations.reservePending({
      bookingId,
      showtimeId: showtime.id,
      userId: user,
      seatIds: seats,
      expiresAt: new Date(Date.now() + 10 * MINUTE).toISOString(),
    });
    return bookingId;
  };

  const bookingEvent = (
    type: BookingEventType,
    bookingId: string,
    showtimeId: string,
    seats: string[],
    occurredAt: Date,
  ) =>
    db.transaction((tx) =>
      reservations.applyBookingEvent(tx, {
        id: randomUUID(),
        type,
        aggregateId: bookingId,
        payload: {
          bookingId,
          showtimeId,
          seatIds: seats,
          status: type === 'booking.confirmed' ? 'CONFIRMED' : 'EXPIRED',
        },
        occurredAt: occurredAt.toISOString(),
      }),
    );

  /** Booked, then released by the bookings subgraph (expired before the payment came). */
  const expiredBooking = async (
    showtime: { id: string; ref: { id: string; endsAt: number } },
    seats: string[],
    user: string,
  ) => {
    const bookingId = await book(showtime, seats, user);
    const releasedAt = new Date();
    await reservations.announce(
      await bookingEvent('booking.released', bookingId, showtime.id, seats, releasedAt),
    );
    return { bookingId, releasedAt };
  };

  const rowsOf = (bookingId: string) =>
    db.query<
      { seat_id: string; status: string; expires_at: Date | null; released_at: Date | null }[]
    >(
      `SELECT seat_id, status, expires_at, released_at FROM seat_reservations
        WHERE booking_id = $1 ORDER BY seat_id`,
      [bookingId],
    );
  const retakeRequest = (
    bookingId: string,
    showtimeId: string,
    seats: string[],
    expiresAt = new Date(Date.now() + 5 * MINUTE),
  ): RetakeReservationRequest => ({
    bookingId,
    showtimeId,
    seatIds: seats,
    expiresAt: expiresAt.toISOString(),
  });

  it('makes a released booking’s rows PENDING again, ends another user’s hold, and keeps every hold off until the confirmation books them', async () => {
    const showtime = await newShowtime();
    const [a, b, c] = seatIds;
    const { bookingId, releasedAt } = await expiredBooking(showtime, [a, b], 'anna');
    // Someone else holds a in the meantime: a hold is not a purchase.
    await store.hold(showtime.ref, tag('bao'), [a, c]);
    const before = events.length;

    const request = retakeRequest(bookingId, showtime.id, [b, a]);
    expect(await reservations.retake(request)).toEqual({ seatIds: sortSeatIds([a, b]) });
    expect(await rowsOf(bookingId)).toEqual(
      [a, b].sort().map((seat_id) => ({
        seat_id,
        status: 'PENDING',
        expires_at: new Date(request.expiresAt),
        released_at: null,
      })),
    );
    // One event: both seats HELD by the booker (Bao's seat map shows a taken from him).
    expect(events.slice(before)).toEqual([
      expect.objectContaining({
        seats: expect.arrayContaining([
          { seatId: a, status: 'HELD', holder: tag('anna') },
          { seatId: b, status: 'HELD', holder: tag('anna') },
        ]),
      }),
    ]);
    expect(events[events.length - 1].seats).toHaveLength(2);
    const { holds } = await store.snapshot(showtime.id);
    expect([holds.get(a), holds.get(b), holds.get(c)]).toEqual([
      tag('anna'),
      tag('anna'),
      tag('bao'),
    ]);
    // Nobody can hold them now, in the hold store itself (not only through the table).
    for (const user of ['bao', 'anna', 'cam']) {
      expect(await failure(store.hold(showtime.ref, tag(user), [a]))).toMatchObject({
        code: 'SEAT_UNAVAILABLE',
        seatIds: [a],
      });
    }

    // The confirmation that follows is newer than the release it overtakes: seats BOOKED.
    const changed = await bookingEvent(
      'booking.confirmed',
      bookingId,
      showtime.id,
      [a, b],
      new Date(),
    );
    expect(changed).toHaveLength(2);
    await reservations.announce(changed);
    expect((await rowsOf(bookingId)).map((r) => r.status)).toEqual(['ACTIVE', 'ACTIVE']);
    expect(events[events.length - 1].seats).toEqual(
      expect.arrayContaining([
        { seatId: a, status: 'BOOKED', holder: null },
        { seatId: b, status: 'BOOKED', holder: null },
      ]),
    );
    // A release older than the confirmation, delivered late, changes nothing.
    expect(
      await bookingEvent('booking.released', bookingId, showtime.id, [a, b], releasedAt),
    ).toEqual([]);
    // And a retry of the retake after the confirmation is still a 200, changing nothing.
    const settled = events.length;
    expect(await reservations.retake(request)).toEqual({ seatIds: sortSeatIds([a, b]) });
    expect((await rowsOf(bookingId)).map((r) => r.status)).toEqual(['ACTIVE', 'ACTIVE']);
    expect(events.length).toBe(settled);
  });

  it('refuses with SEATS_TAKEN when another booking has one of the seats, changing nothing', async () => {
    const showtime = await newShowtime();
    const [a, b] = seatIds;
    const { bookingId } = await expiredBooking(showtime, [a, b], 'dao');
    const other = await book(showtime, [b], 'eve');
    const before = events.length;

    expect(
      await failure(reservations.retake(retakeRequest(bookingId, showtime.id, [a, b]))),
    ).toEqual({
      code: 'SEAT_UNAVAILABLE',
      reason: 'SEATS_TAKEN',
      seatIds: [b],
    });
    expect((await rowsOf(bookingId)).map((r) => r.status)).toEqual(['RELEASED', 'RELEASED']);
    expect((await rowsOf(other)).map((r) => r.status)).toEqual(['PENDING']);
    expect(events.length).toBe(before);
    // a stays free to hold: nothing of the refused retake is left in the hold store.
    expect((await store.hold(showtime.ref, tag('fay'), [a])).seatIds).toEqual([a]);
  });

  it('answers a retry with 200 and the later expiry, and concurrent retries agree', async () => {
    const showtime = await newShowtime();
    const [a, b] = seatIds;
    const { bookingId } = await expiredBooking(showtime, [a, b], 'gia');
    const later = new Date(Date.now() + 20 * MINUTE);
    const request = retakeRequest(bookingId, showtime.id, [a, b], later);
    const answers = await Promise.all(
      Array.from({ length: 5 }, () => reservations.retake(request)),
    );
    for (const answer of answers) expect(answer).toEqual({ seatIds: sortSeatIds([a, b]) });
    // An earlier expiry keeps the later one; a later one moves it (and the store's end).
    await reservations.retake(retakeRequest(bookingId, showtime.id, [a, b]));
    expect((await rowsOf(bookingId)).map((r) => r.expires_at)).toEqual([later, later]);
    const latest = new Date(Date.now() + 25 * MINUTE);
    await reservations.retake(retakeRequest(bookingId, showtime.id, [a, b], latest));
    expect((await rowsOf(bookingId)).map((r) => r.expires_at)).toEqual([latest, latest]);
    const past = latest.getTime() + RESERVATION_GRACE_MS - 1;
    expect((await store.snapshot(showtime.id, past)).holds.get(a)).toBe(tag('gia'));

    // A booking still PENDING (never released) is live already: 200, same rows.
    const pending = await book(showtime, [seatIds[2]], 'hai');
    expect(await reservations.retake(retakeRequest(pending, showtime.id, [seatIds[2]]))).toEqual({
      seatIds: [seatIds[2]],
    });
    expect((await rowsOf(pending)).map((r) => r.status)).toEqual(['PENDING']);
  });

  it('refuses a closed showtime, an unknown booking, and other seats than the booking’s', async () => {
    const showtime = await newShowtime();
    const [a, b, c] = seatIds;
    const { bookingId } = await expiredBooking(showtime, [a, b], 'ivy');
    const request = retakeRequest(bookingId, showtime.id, [a, b]);

    // Started (by the clock it is asked at), then cancelled.
    expect(await failure(reservations.retake(request, showtime.startsAt.getTime()))).toEqual({
      code: 'SEAT_UNAVAILABLE',
      reason: 'SHOWTIME_CLOSED',
    });
    for (const seats of [[a], [a, b, c], [a, c]]) {
      expect(
        await failure(reservations.retake(retakeRequest(bookingId, showtime.id, seats))),
      ).toMatchObject({ code: 'BAD_USER_INPUT', field: 'seatIds' });
    }
    const elsewhere = await newShowtime();
    expect(
      await failure(reservations.retake({ ...request, showtimeId: elsewhere.id })),
    ).toMatchObject({ code: 'BAD_USER_INPUT', field: 'showtimeId' });
    expect(
      await failure(reservations.retake({ ...request, bookingId: randomUUID() })),
    ).toMatchObject({ code: 'NOT_FOUND' });
    await db.query(`UPDATE showtimes SET status = 'CANCELLED' WHERE id = $1`, [showtime.id]);
    expect(await failure(reservations.retake(request))).toEqual({
      code: 'SEAT_UNAVAILABLE',
      reason: 'SHOWTIME_CLOSED',
    });
    expect((await rowsOf(bookingId)).map((r) => r.status)).toEqual(['RELEASED', 'RELEASED']);
  });

  it('of a retake racing another booking for the same seat, exactly one gets it', async () => {
    for (let round = 0; round < 8; round++) {
      const showtime = await newShowtime();
      const [a, b] = seatIds;
      const { bookingId } = await expiredBooking(showtime, [a, b], 'kim');
      await store.hold(showtime.ref, tag('lan'), [b]);
      const rival = randomUUID();
      const [retaken, reserved] = await Promise.allSettled([
        reservations.retake(retakeRequest(bookingId, showtime.id, [a, b])),
        reservations.reservePending({
          bookingId: rival,
          showtimeId: showtime.id,
          userId: 'lan',
          seatIds: [b],
          expiresAt: new Date(Date.now() + 10 * MINUTE).toISOString(),
        }),
      ]);
      expect([retaken.status, reserved.status].filter((s) => s === 'fulfilled')).toHaveLength(1);
      if (retaken.status === 'rejected') {
        expect((retaken.reason as { extensions: unknown }).extensions).toMatchObject({
          reason: 'SEATS_TAKEN',
          seatIds: [b],
        });
      }
      const live: { booking_id: string }[] = await db.query(
        `SELECT booking_id FROM seat_reservations
          WHERE showtime_id = $1 AND seat_id = $2 AND status IN ('PENDING', 'ACTIVE')`,
        [showtime.id, b],
      );
      expect(live).toEqual([{ booking_id: retaken.status === 'fulfilled' ? bookingId : rival }]);
      const holder = (await store.snapshot(showtime.id)).holds.get(b);
      expect(holder).toBe(retaken.status === 'fulfilled' ? tag('kim') : tag('lan'));
    }
  });
});

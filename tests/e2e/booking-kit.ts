import { randomUUID } from 'node:crypto';
import type { DataSource } from 'typeorm';
import { databaseUrlFor, type AppConfig } from '../../runtime/config';
import type {
  BookingSeatsPayload,
  PendingReservationRequest,
  PendingReservationResponse,
  ReservedSeat,
  RetakeReservationRequest,
  RetakeReservationResponse,
  ShowtimeFacts,
} from '../../runtime/contracts/booking-events';
import { dropDatabase } from '../../runtime/database';
import { AppError } from '../../runtime/errors';
import { createLogger } from '../../runtime/logger';
import { openSubgraphDatabase } from '../../runtime/subgraph-server';
import {
  createBookingEngine,
  type BookingEngine,
} from '../../subgraphs/bookings/src/booking-engine';
import type { CinemasClient } from '../../subgraphs/bookings/src/cinemas/cinemas.client';
import { bookingsSubgraph } from '../../subgraphs/bookings/src/schema';
import { deriveKey } from '../../runtime/identity';
import { buildDemoPlan } from '../../scripts/seed/demo-plan';
import { signTicketPayload } from '../../subgraphs/bookings/src/domain/ticket-code';
import { contractOperation } from '../support/contract';
import { testConfig } from '../support/test-config';
import type { TestStack } from '../support/test-stack';

/**
 * The booking engine's test kit: the bookings database alone (real PostgreSQL, its own
 * name), an in-memory cinemas that keeps holds and PENDING reservations as the real one does,
 * and a clock the test moves. For the rules that need an exact time (refund tiers, the door,
 * expiry) or many bookings quickly; the flow through the gateway has its own tests.
 */

export const HOUR = 3_600_000;
export const MINUTE = 60_000;

/** A clock a test sets. */
export class TestClock {
  constructor(public now: Date = new Date('2030-03-04T03:00:00.000Z')) {}
  readonly read = (): Date => new Date(this.now.getTime());
  set(at: Date | number): void {
    this.now = new Date(typeof at === 'number' ? at : at.getTime());
  }
  advance(ms: number): void {
    this.now = new Date(this.now.getTime() + ms);
  }
}

interface FakeShowtime {
  facts: ShowtimeFacts;
  seats: ReservedSeat[];
  prices: { seatType: string; amount: number }[];
}

/**
 * The cinemas subgraph as the booking engine sees it: holds per user, PENDING reservations
 * per booking (all or nothing, idempotent per booking id), facts. `applyEvents` plays the
 * bookings outbox into it, as the real consumer would.
 */
export class FakeCinemas implements CinemasClient {
  readonly showtimes = new Map<string, FakeShowtime>();
  /** `${showtimeId}:${seatId}` → user id. */
  readonly holds = new Map<string, string>();
  /** `${showtimeId}:${seatId}` → booking id (PENDING or CONFIRMED). */
  readonly reserved = new Map<string, string>();
  reserveCalls = 0;
  private applied = new Set<string>();

  addShowtime(options: {
    startsAt: Date;
    minutes?: number;
    seats?: number;
    cinemaId?: string;
    movieId?: string;
    prices?: Record<string, number>;
  }): { id: string; seats: ReservedSeat[]; facts: ShowtimeFacts } {
    const id = randomUUID();
    const count = options.seats ?? 60;
    const seats: ReservedSeat[] = Array.from({ length: count }, (_, i) => ({
      seatId: randomUUID(),
      seatType: i % 10 === 9 ? 'VIP' : 'STANDARD',
      row: String.fromCharCode(65 + Math.floor(i / 12)),
      number: (i % 12) + 1,
    }));
    const facts: ShowtimeFacts = {
      id,
      movieId: options.movieId ?? randomUUID(),
      cinemaId: options.cinemaId ?? randomUUID(),
      hallId: randomUUID(),
      startsAt: options.startsAt.toISOString(),
      endsAt: new Date(
        options.startsAt.getTime() + (options.minutes ?? 120) * MINUTE,
      ).toISOString(),
      capacity: count,
      status: 'SCHEDULED',
    };
    const prices = Object.entries(options.prices ?? { STANDARD: 100_000, VIP: 150_000 }).map(
      ([seatType, amount]) => ({ seatType, amount }),
    );
    this.showtimes.set(id, { facts, seats, prices });
    return { id, seats, facts };
  }

  hold(userId: string, showtimeId: string, seatIds: readonly string[]): void {
    for (const seatId of seatIds) {
      const key = `${showtimeId}:${seatId}`;
      if (this.reserved.has(key) || (this.holds.get(key) ?? userId) !== userId) {
        throw new Error(`seat ${seatId} is not free`);
      }
      this.holds.set(key, userId);
    }
  }

  reservePending(request: PendingReservationRequest): Promise<PendingReservationResponse> {
    // The executor turns a refusal into a rejection, as the real client's would be.
    return new Promise((resolve) => resolve(this.reserveNow(request)));
  }

  private reserveNow(request: PendingReservationRequest): PendingReservationResponse {
    this.reserveCalls += 1;
    const showtime = this.showtimes.get(request.showtimeId);
    if (!showtime) throw new AppError('NOT_FOUND', 'No such showtime');
    const keys = request.seatIds.map((seatId) => `${request.showtimeId}:${seatId}`);
    const mine = keys.every((k) => this.reserved.get(k) === request.bookingId);
    if (!mine) {
      const notHeld = request.seatIds.filter(
        (_, i) => this.holds.get(keys[i]) !== request.userId || this.reserved.has(keys[i]),
      );
      if (notHeld.length > 0) {
        throw new AppError('SEATS_NOT_HELD', 'You do not hold these seats', { seatIds: notHeld });
      }
      for (const k of keys) {
        this.holds.delete(k);
        this.reserved.set(k, request.bookingId);
      }
    }
    return {
      showtime: showtime.facts,
      seats: showtime.seats.filter((s) => request.seatIds.includes(s.seatId)),
      prices: showtime.prices,
    };
  }

  /** As cinemas does: the booking's seats back for it unless another booking has one. */
  retakeReservation(request: RetakeReservationRequest): Promise<RetakeReservationResponse> {
    return new Promise((resolve) => {
      const keys = request.seatIds.map((seatId) => `${request.showtimeId}:${seatId}`);
      const taken = request.seatIds.filter((_, i) => {
        const owner = this.reserved.get(keys[i]);
        return owner !== undefined && owner !== request.bookingId;
      });
      if (taken.length > 0) {
        throw new AppError('SEAT_UNAVAILABLE', 'Some seats are not available', {
          seatIds: taken,
          reason: 'SEATS_TAKEN',
        });
      }
      for (const k of keys) {
        this.holds.delete(k);
        this.reserved.set(k, request.bookingId);
      }
      resolve({ seatIds: request.seatIds });
    });
  }

  showtimeFacts(showtimeIds: readonly string[]): Promise<ShowtimeFacts[]> {
    return Promise.resolve(
      showtimeIds.flatMap((id) => {
        const s = this.showtimes.get(id);
        return s ? [s.facts] : [];
      }),
    );
  }

  /** Seats a booking's events released: plays the outbox (each event once). */
  async applyEvents(dataSource: DataSource): Promise<void> {
    const rows: { id: string; type: string; payload: BookingSeatsPayload }[] =
      await dataSource.query('SELECT id, type, payload FROM outbox ORDER BY seq');
    for (const row of rows) {
      if (this.applied.has(row.id)) continue;
      this.applied.add(row.id);
      if (row.type !== 'booking.released') continue;
      for (const [key, bookingId] of this.reserved) {
        if (bookingId === row.payload.bookingId) this.reserved.delete(key);
      }
    }
  }
}

export interface EngineKit {
  config: AppConfig;
  dataSource: DataSource;
  cinemas: FakeCinemas;
  clock: TestClock;
  engine: BookingEngine;
  /** Another instance of the engine on the same database (several instances racing). */
  another(): BookingEngine;
  close(): Promise<void>;
}

/** The bookings database alone, migrated, with an engine over a fake cinemas and a test clock. */
export async function startEngineKit(): Promise<EngineKit> {
  const config = testConfig();
  const dataSource = await openSubgraphDatabase(
    bookingsSubgraph,
    config,
    createLogger('bookings', 'silent'),
  );
  const cinemas = new FakeCinemas();
  const clock = new TestClock();
  const make = () => createBookingEngine({ dataSource, config, cinemas, clock: clock.read });
  return {
    config,
    dataSource,
    cinemas,
    clock,
    engine: make(),
    another: make,
    close: async () => {
      await dataSource.destroy();
      await dropDatabase(databaseUrlFor(config, 'bookings'));
    },
  };
}

/** What `fn` threw, for asserting on coded errors. */
export async function refusal(fn: () => Promise<unknown>): Promise<AppError> {
  try {
    await fn();
  } catch (error) {
    if (error instanceof AppError) return error;
    throw error;
  }
  throw new Error('expected a coded error');
}

/** Every account's balance equals the sum of its ledger; returns the balances checked. */
export async function ledgerMismatches(dataSource: DataSource): Promise<unknown[]> {
  return dataSource.query(
    `SELECT a.user_id, a.points, coalesce(sum(t.points), 0)::int AS ledger
       FROM loyalty_accounts a LEFT JOIN loyalty_transactions t ON t.user_id = a.user_id
      GROUP BY a.user_id, a.points
     HAVING a.points <> coalesce(sum(t.points), 0)`,
  );
}

// ---- Through the gateway ------------------------------------------------------------------

/** A booking engine over the running stack's bookings database (the internal confirmation, the jobs). */
export function stackEngine(t: TestStack): BookingEngine {
  return createBookingEngine({
    dataSource: t.stack.subgraphs.bookings.dataSource,
    config: {
      internalSecret: t.config.internalSecret,
      bookingPendingTtlSeconds: t.config.bookingPendingTtlSeconds,
      subgraphUrls: { ...t.config.subgraphUrls, cinemas: t.stack.subgraphs.cinemas.url },
      vnpay: t.config.vnpay,
    },
  });
}

export const codeOf = (res: { errors?: { extensions?: Record<string, unknown> }[] }) =>
  res.errors?.[0]?.extensions?.code;

/** Fails with the errors when a GraphQL answer has any. */
export function ok<T extends { errors?: unknown[] }>(res: T): T {
  if (res.errors?.length) throw new Error(`GraphQL errors: ${JSON.stringify(res.errors)}`);
  return res;
}

export interface ScheduledShowtime {
  showtimeId: string;
  cinemaId: string;
  startsAt: Date;
  endsAt: Date;
  /** The hall's seats in row order. */
  seats: { seatId: string; row: string; number: number }[];
}

let halls = 0;

/**
 * A showtime of its own, `minutesAhead` from now, in a new all-STANDARD hall of a demo cinema
 * (so it overlaps no demo showtime), priced `price` VND a seat. Near now, the doors are open.
 */
export async function scheduleShowtime(
  t: TestStack,
  options: { minutesAhead: number; rows?: number; columns?: number; price?: number },
): Promise<ScheduledShowtime> {
  const admin = t.token('user_admin', 'ADMIN');
  const plan = buildDemoPlan();
  const cinemaId = plan.cinemas[0].id;
  const movieId = plan.movies.find((m) => m.status === 'NOW_SHOWING')!.id;
  halls += 1;
  const hall = ok(
    await t.query(
      contractOperation('CreateHall'),
      {
        input: {
          cinemaId,
          name: `Booking test hall ${halls} ${randomUUID().slice(0, 4)}`,
          rows: options.rows ?? 4,
          columns: options.columns ?? 8,
        },
      },
      { token: admin },
    ),
  );
  const startsAt = new Date(Date.now() + options.minutesAhead * MINUTE);
  const scheduled = ok(
    await t.query(
      contractOperation('ScheduleShowtime'),
      {
        input: {
          movieId,
          hallId: hall.data!.createHall.id,
          startsAt: startsAt.toISOString(),
          format: '2D',
          language: 'Vietnamese',
          prices: [{ seatType: 'STANDARD', amount: options.price ?? 90_000 }],
        },
      },
      { token: admin },
    ),
  );
  const { id, endsAt } = scheduled.data!.scheduleShowtime;
  const map = ok(
    await t.query(
      'query($id: ID!) { showtime(id: $id) { seatMap { seats { seatId row number } } } }',
      {
        id,
      },
    ),
  );
  const seats = (map.data!.showtime.seatMap.seats as ScheduledShowtime['seats']).sort(
    (a, b) => a.row.localeCompare(b.row) || a.number - b.number,
  );
  return { showtimeId: id, cinemaId, startsAt, endsAt: new Date(endsAt), seats };
}

/** The seat states of a showtime as `user` sees them (anonymous without one). */
export async function seatStates(t: TestStack, showtimeId: string, user?: string) {
  const res = ok(
    await t.query(
      'query($id: ID!) { showtime(id: $id) { seatMap { seats { seatId status heldByMe } } } }',
      { id: showtimeId },
      { token: user ? t.token(user) : undefined },
    ),
  );
  const seats = res.data!.showtime.seatMap.seats as {
    seatId: string;
    status: string;
    heldByMe: boolean;
  }[];
  return new Map(seats.map((s) => [s.seatId, s]));
}

/** HoldSeats (the contract's) for `user`; fails on errors. */
export async function holdSeats(t: TestStack, user: string, showtimeId: string, seatIds: string[]) {
  return ok(
    await t.query(
      contractOperation('HoldSeats'),
      { showtimeId, seatIds },
      { token: t.token(user) },
    ),
  );
}

/** CreateBooking (the contract's) for `user`, with an Idempotency-Key when given. */
export function createBooking(
  t: TestStack,
  user: string,
  variables: Record<string, unknown>,
  idempotencyKey?: string,
) {
  return t.query(contractOperation('CreateBooking'), variables, {
    token: t.token(user),
    headers: idempotencyKey ? { 'Idempotency-Key': idempotencyKey } : {},
  });
}

/** The QR payload a door scanner reads off a ticket's QR code. */
export const scannedQr = (t: TestStack, ticketCode: string) =>
  signTicketPayload(ticketCode, deriveKey(t.config.internalSecret, 'ticket'));

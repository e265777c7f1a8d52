import { randomUUID } from 'node:crypto';
import type { DataSource, EntityManager } from 'typeorm';
import type {
  PendingReservationResponse,
  ShowtimeFacts,
} from '../../../../runtime/contracts/booking-events';
import { AppError } from '../../../../runtime/errors';
import { isUuid } from '../../../../runtime/ids';
import type { Logger } from '../../../../runtime/logger';
import type { CinemasClient } from '../cinemas/cinemas.client';
import type { Concession } from '../concession/concession.entity';
import type { ConcessionService } from '../concession/concession.service';
import { generateBookingCode } from '../domain/booking-code';
import { DomainError, invalidInput } from '../domain/errors';
import { redeemPoints } from '../domain/loyalty';
import { priceBooking, type PriceQuote } from '../domain/pricing';
import {
  checkPromotion,
  MAX_AMOUNT,
  normalizePromotionCode,
  PROMOTION_CODE_PATTERN,
  promotionInvalid,
} from '../domain/promotion';
import type { LoyaltyService } from '../loyalty/loyalty.service';
import type { AnswerRecorder } from '../idempotency/idempotency.service';
import { Promotion, PromotionType, toRule } from '../promotion/promotion.entity';
import type { PromotionService } from '../promotion/promotion.service';
import type { TicketService } from '../ticket/ticket.service';
import { bookingsCounter } from '../bookings-metrics';
import { appendBookingEvent } from './booking-events';
import { insertTransition, type Clock } from './booking-lifecycle.service';
import { enterShowtime } from './showtime-barrier';
import { Booking, BookingStatus } from './booking.entity';

/** The most seats one booking takes: what one user may hold in a showtime. */
export const MAX_SEATS_PER_BOOKING = 8;
/** The most different concessions on one booking. */
export const MAX_CONCESSION_LINES = 10;

export interface CreateBookingRequest {
  showtimeId: string;
  seatIds: string[];
  concessions?: { concessionId: string; quantity: number }[] | null;
  promotionCode?: string | null;
  pointsToRedeem?: number | null;
}

/** What an idempotent CreateBooking replays: the booking it made. */
export interface CreatedAnswer {
  bookingId: string;
}

export interface CreationDeps {
  dataSource: DataSource;
  cinemas: CinemasClient;
  tickets: TicketService;
  promotions: PromotionService;
  concessions: ConcessionService;
  loyalty: LoyaltyService;
  clock: Clock;
  pendingTtlSeconds: number;
  notify: () => void;
  log?: Logger;
}

/** 23505 on the partial unique index of PENDING bookings per user and showtime. */
const isDuplicatePending = (err: unknown): boolean =>
  (err as { code?: string }).code === '23505' &&
  (err as { constraint?: string }).constraint === 'bookings_one_pending_idx';

/**
 * CreateBooking: seats the caller holds become a PENDING booking, priced, with at most one
 * promotion, concessions and points, which it holds until it is paid or expires.
 *
 * The order, and why:
 *
 * 1. Checks that need no lock and touch no seat: the input; the promotion exists and is
 *    usable now, for this movie, cinema and day; the concessions are sold at this cinema and
 *    in stock; enough points. Most refusals happen here, before the customer's held seats
 *    are touched (a seat, once reserved, is released rather than handed back as a hold).
 * 2. One transaction:
 *    a. the booking row, PENDING, first: the partial unique index (one PENDING booking per
 *       user and showtime) answers `DUPLICATE_BOOKING` before cinemas is asked anything, and
 *       a concurrent duplicate waits on it until this transaction ends;
 *    b. cinemas turns the caller's holds into PENDING reservations of this booking until its
 *       expiry (`SEATS_NOT_HELD` / `SEAT_UNAVAILABLE` otherwise) and answers the seat types,
 *       the prices and the showtime facts: the price comes from its answer, not from us;
 *    c. the price (domain/pricing.ts), then the atomic reservations in the lock order every
 *       transaction follows: the promotion's use (global, then per user), the concessions'
 *       stock (by id), the points (under the account lock);
 *    d. the amounts, the tickets (PENDING), the concession lines (prices snapshotted), the
 *       audit row and the idempotency answer; commit.
 *    The seats are the only thing held across the call to cinemas; the promotion, stock and
 *    points locks are taken after it and held for milliseconds.
 * 3. If anything fails after cinemas was called (a limit lost to a racer, a dropped
 *    connection, a crash of the commit), the transaction rolls back and a `booking.released`
 *    event for this booking id is written on its own, so cinemas frees the seats; if even
 *    that cannot be written, cinemas frees them itself after the expiry (its safety net).
 */
export class BookingCreation {
  constructor(private readonly deps: CreationDeps) {}

  async create(
    userId: string,
    request: CreateBookingRequest,
    options: { requestId?: string; remember?: AnswerRecorder<CreatedAnswer> } = {},
  ): Promise<Booking> {
    const input = validate(request);
    const now = this.deps.clock();
    await this.precheck(userId, input, now);

    const bookingId = randomUUID();
    const expiresAt = new Date(now.getTime() + this.deps.pendingTtlSeconds * 1000);
    let cinemasAsked = false;
    try {
      const booking = await this.deps.dataSource.transaction(async (manager) => {
        // A cancellation of the showtime waits for this transaction (showtime-barrier.ts).
        await enterShowtime(manager, input.showtimeId);
        const bookingCode = await this.insertPending(manager, {
          id: bookingId,
          userId,
          showtimeId: input.showtimeId,
          expiresAt,
        });
        cinemasAsked = true;
        const reservation = await this.deps.cinemas
          .reservePending(
            {
              bookingId,
              showtimeId: input.showtimeId,
              userId,
              seatIds: input.seatIds,
              expiresAt: expiresAt.toISOString(),
            },
            options.requestId,
          )
          .catch((err: unknown) => {
            // A coded refusal reserved nothing; a timeout or an outage may have.
            if (err instanceof AppError && err.extensions.code !== 'SERVICE_UNAVAILABLE') {
              cinemasAsked = false;
            }
            throw err;
          });
        const facts = checkReservation(reservation, input, now);
        const quote = await this.price(manager, userId, input, reservation, facts, now);
        await this.reserve(manager, userId, bookingId, input, quote, now);
        await this.record(
          manager,
          { id: bookingId, bookingCode, userId },
          input,
          reservation,
          quote,
          now,
        );
        await options.remember?.(manager, { bookingId });
        return manager.getRepository(Booking).findOneByOrFail({ id: bookingId });
      });
      this.deps.notify();
      bookingsCounter.created.inc();
      return booking;
    } catch (err) {
      if (cinemasAsked) await this.releaseAbandoned(bookingId, input);
      if (isDuplicatePending(err)) {
        throw new AppError(
          'DUPLICATE_BOOKING',
          'You already have a PENDING booking for this showtime: pay or cancel it first',
        );
      }
      throw err;
    }
  }

  /**
   * Step 1: what can be refused without locks or seats. Nothing here is final (another
   * booking may take the last use or item meanwhile): step 2 decides atomically.
   */
  private async precheck(userId: string, input: ValidInput, now: Date) {
    const promotion = input.promotionCode
      ? await this.deps.promotions.byCode(input.promotionCode)
      : null;
    if (input.promotionCode && !promotion) {
      throw promotionInvalid('UNKNOWN', 'There is no promotion with this code');
    }
    const ids = input.concessions.map((c) => c.concessionId);
    const rows = await this.deps.concessions.byIds(ids);
    rows.forEach((row, i) => {
      if (!row || !row.active)
        throw invalidInput('concessions', `Concession ${ids[i]} is not on the menu`);
      const wanted = input.concessions[i].quantity;
      if (row.stock !== null && row.stock < wanted) {
        throw new DomainError(
          'CONCESSION_OUT_OF_STOCK',
          `Only ${row.stock} of "${row.name}" left (asked for ${wanted})`,
          { field: 'concessions', concessionId: row.id },
        );
      }
    });
    if (promotion || ids.length > 0) {
      // Which cinema, movie and day: only cinemas knows, and only these checks need it.
      const [facts] = await this.deps.cinemas.showtimeFacts([input.showtimeId]);
      if (!facts) throw new AppError('NOT_FOUND', `Showtime ${input.showtimeId} was not found`);
      for (const row of rows) {
        if (row!.cinemaId !== facts.cinemaId) {
          throw invalidInput('concessions', `"${row!.name}" is not sold at this showtime's cinema`);
        }
      }
      if (promotion) {
        const free = await this.freeItemAt(promotion, facts.cinemaId);
        const check = checkPromotion(toRule(promotion), {
          now,
          // The amount is not known before the seats are priced: MIN_PURCHASE is checked then.
          subtotal: MAX_AMOUNT,
          showtime: {
            movieId: facts.movieId,
            cinemaId: facts.cinemaId,
            startsAt: new Date(facts.startsAt),
          },
          usage: await this.deps.promotions.usage(promotion, userId),
          isOfferedAtCinema: () => free,
        });
        if (!check.ok) throw promotionInvalid(check.reason, check.message);
      }
    }
    if (input.pointsToRedeem) {
      redeemPoints({
        requested: input.pointsToRedeem,
        available: await this.deps.loyalty.available(userId, now),
        amountBeforePoints: MAX_AMOUNT,
      });
    }
  }

  /** 2a: the PENDING row (amounts follow in 2d); a new booking code on the rare collision. */
  private async insertPending(
    manager: EntityManager,
    row: { id: string; userId: string; showtimeId: string; expiresAt: Date },
  ): Promise<string> {
    for (let attempt = 0; attempt < 5; attempt += 1) {
      const bookingCode = generateBookingCode();
      const inserted: unknown[] = await manager.query(
        `INSERT INTO bookings (id, booking_code, user_id, showtime_id, status, payment_status,
                               subtotal, final_amount, expires_at)
         VALUES ($1, $2, $3, $4, 'PENDING', 'UNPAID', 0, 0, $5)
         ON CONFLICT (booking_code) DO NOTHING
         RETURNING id`,
        [row.id, bookingCode, row.userId, row.showtimeId, row.expiresAt],
      );
      if (inserted.length === 1) return bookingCode;
    }
    throw new Error('Could not draw a free booking code in 5 attempts');
  }

  /** 2c: the price, from cinemas' prices and the current promotion, stock and points. */
  private async price(
    manager: EntityManager,
    userId: string,
    input: ValidInput,
    reservation: PendingReservationResponse,
    facts: ShowtimeFacts,
    now: Date,
  ): Promise<PriceQuote> {
    const promotion = input.promotionCode
      ? await this.deps.promotions.byCode(input.promotionCode, manager)
      : null;
    const rows = await this.deps.concessions.byIds(
      input.concessions.map((c) => c.concessionId),
      manager,
    );
    return priceBooking({
      seats: reservation.seats.map((s) => ({ seatId: s.seatId, seatType: s.seatType })),
      prices: Object.fromEntries(reservation.prices.map((p) => [p.seatType, p.amount])),
      concessions: input.concessions.map((c, i) => ({
        concessionId: c.concessionId,
        quantity: c.quantity,
        unitPrice: rows[i]?.price ?? 0,
      })),
      promotion: input.promotionCode
        ? {
            rule: promotion ? toRule(promotion) : null,
            usage: promotion
              ? await this.deps.promotions.usage(promotion, userId, manager)
              : { total: 0, byUser: 0 },
            isOfferedAtCinema: promotion
              ? await this.freeItemAt(promotion, facts.cinemaId, manager).then((ok) => () => ok)
              : undefined,
          }
        : null,
      pointsToRedeem: input.pointsToRedeem,
      // The ledger is read only when points are spent (the common booking spends none).
      pointsAvailable: input.pointsToRedeem
        ? await this.deps.loyalty.available(userId, now, manager)
        : 0,
      now,
      showtime: {
        movieId: facts.movieId,
        cinemaId: facts.cinemaId,
        startsAt: new Date(facts.startsAt),
      },
    });
  }

  /** 2c: the atomic reservations, in the lock order (promotion, concessions, points). */
  private async reserve(
    manager: EntityManager,
    userId: string,
    bookingId: string,
    input: ValidInput,
    quote: PriceQuote,
    now: Date,
  ): Promise<void> {
    if (quote.promotionCode) {
      const promotion = await manager
        .getRepository(Promotion)
        .findOneByOrFail({ code: quote.promotionCode });
      await this.deps.promotions.reserveUse(manager, promotion, userId, now);
    }
    await this.deps.concessions.reserve(manager, [...input.concessions, ...quote.freeItems]);
    if (quote.pointsUsed > 0) {
      await this.deps.loyalty.redeem(manager, userId, quote.pointsUsed, bookingId, now);
    }
  }

  /** 2d: the amounts and facts on the row, tickets, concession lines, the audit row. */
  private async record(
    manager: EntityManager,
    booking: { id: string; bookingCode: string; userId: string },
    input: ValidInput,
    reservation: PendingReservationResponse,
    quote: PriceQuote,
    now: Date,
  ): Promise<void> {
    const facts = reservation.showtime;
    const promotion = quote.promotionCode
      ? await manager.getRepository(Promotion).findOneByOrFail({ code: quote.promotionCode })
      : null;
    await manager.query(
      `UPDATE bookings
          SET subtotal = $2, discount = $3, points_used = $4, points_discount = $5,
              final_amount = $6, promotion_code = $7, promotion_id = $8, promotion_use = $9,
              bonus_points = $10, movie_id = $11, cinema_id = $12, hall_id = $13,
              starts_at = $14, ends_at = $15
        WHERE id = $1`,
      [
        booking.id,
        quote.subtotal,
        quote.discount,
        quote.pointsUsed,
        quote.pointsDiscount,
        quote.finalAmount,
        quote.promotionCode,
        promotion?.id ?? null,
        promotion ? 'RESERVED' : 'NONE',
        quote.bonusPoints,
        facts.movieId,
        facts.cinemaId,
        facts.hallId,
        new Date(facts.startsAt),
        new Date(facts.endsAt),
      ],
    );
    const seatById = new Map(reservation.seats.map((s) => [s.seatId, s]));
    await this.deps.tickets.createForBooking(
      manager,
      booking,
      quote.lines.flatMap((l) =>
        l.kind === 'SEAT' ? [{ seat: seatById.get(l.seatId)!, price: l.price }] : [],
      ),
    );
    const concessionLines = quote.lines.flatMap((l) => (l.kind === 'CONCESSION' ? [l] : []));
    if (concessionLines.length > 0) {
      const rows = await this.deps.concessions.byIds(
        concessionLines.map((l) => l.concessionId),
        manager,
      );
      const names = new Map(
        rows.filter((r): r is Concession => r !== null).map((r) => [r.id, r.name]),
      );
      const params: unknown[] = [];
      const values = concessionLines.map((l, i) => {
        params.push(
          booking.id,
          i + 1,
          l.concessionId,
          names.get(l.concessionId) ?? '',
          l.quantity,
          l.unitPrice,
          l.totalPrice,
          l.free,
        );
        const n = params.length - 8;
        return `($${n + 1}, $${n + 2}, $${n + 3}, $${n + 4}, $${n + 5}, $${n + 6}, $${n + 7}, $${n + 8})`;
      });
      await manager.query(
        `INSERT INTO booking_concessions
           (booking_id, line, concession_id, name, quantity, unit_price, total_price, free)
         VALUES ${values.join(', ')}`,
        params,
      );
    }
    await insertTransition(manager, {
      bookingId: booking.id,
      from: null,
      to: BookingStatus.PENDING,
      actor: { kind: 'user', userId: booking.userId },
      reason: input.promotionCode ? `Created with promotion ${quote.promotionCode}` : 'Created',
      at: now,
    });
  }

  /** Step 3: frees the seats cinemas reserved for a booking that was never made. */
  private async releaseAbandoned(bookingId: string, input: ValidInput): Promise<void> {
    try {
      await this.deps.dataSource.transaction((manager) =>
        appendBookingEvent(manager, 'booking.released', {
          bookingId,
          showtimeId: input.showtimeId,
          seatIds: input.seatIds,
          status: 'CANCELLED',
        }),
      );
      this.deps.notify();
    } catch (err) {
      // Cinemas frees PENDING reservations after their expiry by itself.
      this.deps.log?.error({ err, bookingId }, 'could not release the seats of a failed booking');
    }
  }

  /** FREE_ITEM: whether its concession is on the menu of the showtime's cinema. */
  private async freeItemAt(promotion: Promotion, cinemaId: string, manager?: EntityManager) {
    if (promotion.type !== PromotionType.FREE_ITEM || !promotion.freeConcessionId) return true;
    const [row] = await this.deps.concessions.byIds([promotion.freeConcessionId], manager);
    return !!row && row.active && row.cinemaId === cinemaId;
  }
}

interface ValidInput {
  showtimeId: string;
  seatIds: string[];
  concessions: { concessionId: string; quantity: number }[];
  promotionCode: string | null;
  pointsToRedeem: number | null;
}

/** The shape of the request (the rules come later); BAD_USER_INPUT naming the field. */
function validate(request: CreateBookingRequest): ValidInput {
  if (!isUuid(request.showtimeId)) throw invalidInput('showtimeId', 'showtimeId must be a UUID');
  const seatIds = request.seatIds.map((id) => id.toLowerCase());
  if (seatIds.length === 0) throw invalidInput('seatIds', 'Choose at least one seat');
  if (seatIds.length > MAX_SEATS_PER_BOOKING) {
    throw invalidInput('seatIds', `A booking has at most ${MAX_SEATS_PER_BOOKING} seats`);
  }
  if (!seatIds.every(isUuid)) throw invalidInput('seatIds', 'Every seat id must be a UUID');
  if (new Set(seatIds).size !== seatIds.length)
    throw invalidInput('seatIds', 'A seat is listed twice');
  const concessions = (request.concessions ?? []).map((c) => ({
    concessionId: c.concessionId.toLowerCase(),
    quantity: c.quantity,
  }));
  if (concessions.length > MAX_CONCESSION_LINES) {
    throw invalidInput(
      'concessions',
      `At most ${MAX_CONCESSION_LINES} different items per booking`,
    );
  }
  if (!concessions.every((c) => isUuid(c.concessionId))) {
    throw invalidInput('concessions', 'Every concessionId must be a UUID');
  }
  // Quantities and repeats are the pricing rules' (domain/pricing.ts); checked here too so a
  // bad order is refused before any seat is touched.
  if (new Set(concessions.map((c) => c.concessionId)).size !== concessions.length) {
    throw invalidInput('concessions', 'A concession is listed twice');
  }
  for (const c of concessions) {
    if (!Number.isSafeInteger(c.quantity) || c.quantity < 1 || c.quantity > 20) {
      throw invalidInput('concessions', 'Each quantity must be from 1 to 20');
    }
  }
  const typed = request.promotionCode?.trim() ?? '';
  const promotionCode = typed === '' ? null : normalizePromotionCode(typed);
  if (promotionCode !== null && !PROMOTION_CODE_PATTERN.test(promotionCode)) {
    throw promotionInvalid('UNKNOWN', 'There is no promotion with this code');
  }
  const points = request.pointsToRedeem ?? null;
  if (points !== null && (!Number.isSafeInteger(points) || points < 0)) {
    throw invalidInput('pointsToRedeem', 'pointsToRedeem must be a whole number of points');
  }
  return {
    showtimeId: request.showtimeId.toLowerCase(),
    seatIds,
    concessions,
    promotionCode,
    pointsToRedeem: points === 0 ? null : points,
  };
}

/** Cinemas' answer, checked: the showtime we asked for, on sale, and exactly our seats. */
function checkReservation(
  reservation: PendingReservationResponse,
  input: ValidInput,
  now: Date,
): ShowtimeFacts {
  const facts = reservation.showtime;
  if (facts.id !== input.showtimeId) {
    throw new Error(`Cinemas answered for showtime ${facts.id}, not ${input.showtimeId}`);
  }
  if (facts.status !== 'SCHEDULED') {
    throw invalidInput('showtimeId', 'This showtime was cancelled');
  }
  if (new Date(facts.startsAt).getTime() <= now.getTime()) {
    throw invalidInput('showtimeId', 'This showtime has started');
  }
  const got = new Set(reservation.seats.map((s) => s.seatId));
  if (got.size !== input.seatIds.length || !input.seatIds.every((id) => got.has(id))) {
    throw new Error('Cinemas reserved other seats than the ones asked for');
  }
  return facts;
}

import type { Response, Router } from 'express';
import type {
  PendingReservationRequest,
  ReservationRefusal,
  RetakeReservationRefusal,
  RetakeReservationRequest,
  ShowtimeFactsRequest,
} from '../../../../runtime/contracts/booking-events';
import { AppError, badUserInput } from '../../../../runtime/errors';
import type { Identity } from '../../../../runtime/identity';
import { requireUuid } from '../../../../runtime/ids';
import type { CinemasApp } from '../context.types';
import { MAX_SEATS_PER_HOLDER } from '../seat/seat-rules';

/** Only the booking engine reserves seats; other services may read showtime facts. */
const RESERVING_SERVICE = 'bookings';
/** Showtimes per facts request: a page of a report, not the whole schedule at once. */
export const MAX_FACTS_PER_CALL = 500;
/** A PENDING booking lives minutes; an expiry further out than this is a caller's bug. */
const MAX_EXPIRY_MS = 24 * 3_600_000;
/**
 * A retake keeps paid seats PENDING only until the confirmation that follows it at once;
 * an expiry further out would keep seats from sale long after a bookings service that died.
 */
const MAX_RETAKE_EXPIRY_MS = 30 * 60_000;

const REFUSAL_STATUS: Record<ReservationRefusal['code'], number> = {
  BAD_USER_INPUT: 400,
  NOT_FOUND: 404,
  SEATS_NOT_HELD: 409,
  SEAT_UNAVAILABLE: 409,
};

/**
 * The cinemas subgraph's internal routes for the booking engine (the router in front already
 * refused callers without a signed service identity):
 * - `POST /internal/reservations/pending`: `PendingReservationRequest` → 200
 *   `PendingReservationResponse`, or 4xx `ReservationRefusal` (nothing reserved); 503 when
 *   the hold store is unreachable (retry with the same bookingId);
 * - `POST /internal/reservations/retake`: `RetakeReservationRequest` → 200
 *   `RetakeReservationResponse`, 409 `RetakeReservationRefusal` (SEATS_TAKEN or
 *   SHOWTIME_CLOSED), 404 (never reserved), 400 (malformed, or other seats than the
 *   booking's); 503 as above;
 * - `POST /internal/showtimes/facts`: `ShowtimeFactsRequest` → `{ showtimes: ShowtimeFacts[] }`.
 */
export function mountReservationRoutes(router: Router, app: CinemasApp): void {
  router.post('/reservations/pending', async (req, res) => {
    const identity = res.locals.identity as Identity;
    if (identity.service !== RESERVING_SERVICE) {
      res.status(403).json({ error: 'FORBIDDEN' });
      return;
    }
    try {
      const request = parsePendingRequest(req.body, MAX_SEATS_PER_HOLDER);
      res.json(await app.reservations.reservePending(request));
    } catch (err) {
      refuse(res, err);
    }
  });

  router.post('/reservations/retake', async (req, res) => {
    const identity = res.locals.identity as Identity;
    if (identity.service !== RESERVING_SERVICE) {
      res.status(403).json({ error: 'FORBIDDEN' });
      return;
    }
    try {
      const request = parseRetakeRequest(req.body, MAX_SEATS_PER_HOLDER);
      res.json(await app.reservations.retake(request));
    } catch (err) {
      refuse(res, err);
    }
  });

  router.post('/showtimes/facts', async (req, res) => {
    try {
      const { showtimeIds } = parseFactsRequest(req.body);
      res.json({ showtimes: await app.reservations.showtimeFacts(showtimeIds) });
    } catch (err) {
      refuse(res, err);
    }
  });
}

/** A coded refusal as the contract's JSON; anything unexpected goes on to the 500 handler. */
function refuse(res: Response, err: unknown): void {
  if (!(err instanceof AppError)) throw err;
  const code = err.extensions.code as string;
  const seatIds = err.extensions.seatIds as string[] | undefined;
  const reason = err.extensions.reason as RetakeReservationRefusal['reason'];
  if (code in REFUSAL_STATUS) {
    const body: ReservationRefusal & Pick<RetakeReservationRefusal, 'reason'> = {
      code: code as ReservationRefusal['code'],
      ...(reason ? { reason } : {}),
      message: err.message,
      ...(seatIds ? { seatIds } : {}),
    };
    res.status(REFUSAL_STATUS[code as ReservationRefusal['code']]).json(body);
    return;
  }
  // The hold store is unreachable: retryable, and `callInternal` reports it as such.
  if (code === 'SERVICE_UNAVAILABLE') {
    res.status(503).json({ code, message: err.message });
    return;
  }
  throw err;
}

const uuid = (value: unknown, field: string): string =>
  requireUuid(typeof value === 'string' ? value : '', field);

const fields = (body: unknown): Record<string, unknown> =>
  (typeof body === 'object' && body !== null ? body : {}) as Record<string, unknown>;

/** 1 to `maxSeats` distinct seat uuids. */
function parseSeatIds(seatIds: unknown, maxSeats: number): string[] {
  if (!Array.isArray(seatIds) || seatIds.length === 0 || seatIds.length > maxSeats) {
    throw badUserInput('seatIds', `seatIds must name 1 to ${maxSeats} seats`);
  }
  const seats = seatIds.map((id) => uuid(id, 'seatIds'));
  if (new Set(seats).size !== seats.length) {
    throw badUserInput('seatIds', 'seatIds must not name a seat twice');
  }
  return seats;
}

/** An ISO 8601 time after `now` and at most `maxAheadMs` after it, normalised. */
function parseExpiry(expiresAt: unknown, now: number, maxAheadMs: number, within: string): string {
  const expiry = typeof expiresAt === 'string' ? Date.parse(expiresAt) : NaN;
  if (!Number.isFinite(expiry) || expiry <= now || expiry > now + maxAheadMs) {
    throw badUserInput('expiresAt', `expiresAt must be an ISO 8601 time within ${within}`);
  }
  return new Date(expiry).toISOString();
}

function parsePendingRequest(
  body: unknown,
  maxSeats: number,
  now: number = Date.now(),
): PendingReservationRequest {
  const b = fields(body);
  const { userId } = b;
  if (typeof userId !== 'string' || userId.length === 0 || userId.length > 200) {
    throw badUserInput('userId', 'userId must be a user id');
  }
  const seatIds = parseSeatIds(b.seatIds, maxSeats);
  const expiresAt = parseExpiry(b.expiresAt, now, MAX_EXPIRY_MS, 'the next day');
  return {
    bookingId: uuid(b.bookingId, 'bookingId'),
    showtimeId: uuid(b.showtimeId, 'showtimeId'),
    userId,
    seatIds,
    expiresAt,
  };
}

function parseRetakeRequest(
  body: unknown,
  maxSeats: number,
  now: number = Date.now(),
): RetakeReservationRequest {
  const b = fields(body);
  const seatIds = parseSeatIds(b.seatIds, maxSeats);
  const expiresAt = parseExpiry(b.expiresAt, now, MAX_RETAKE_EXPIRY_MS, 'the next 30 minutes');
  return {
    bookingId: uuid(b.bookingId, 'bookingId'),
    showtimeId: uuid(b.showtimeId, 'showtimeId'),
    seatIds,
    expiresAt,
  };
}

function parseFactsRequest(body: unknown): ShowtimeFactsRequest {
  const ids = (body as { showtimeIds?: unknown } | null)?.showtimeIds;
  if (!Array.isArray(ids) || ids.length > MAX_FACTS_PER_CALL) {
    throw badUserInput('showtimeIds', `showtimeIds must list at most ${MAX_FACTS_PER_CALL} ids`);
  }
  return { showtimeIds: ids.map((id) => uuid(id, 'showtimeIds')) };
}

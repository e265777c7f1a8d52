import type {
  PendingReservationRequest,
  PendingReservationResponse,
  ReservationRefusal,
  RetakeReservationRefusal,
  RetakeReservationRequest,
  RetakeReservationResponse,
  ShowtimeFacts,
  ShowtimeFactsRequest,
} from '../../../../runtime/contracts/booking-events';
import { AppError } from '../../../../runtime/errors';
import type { Identity } from '../../../../runtime/identity';
import { callInternal } from '../../../../runtime/internal-client';

/**
 * What the booking engine asks the cinemas subgraph, synchronously (the contract is
 * `runtime/contracts/booking-events.ts`). An interface, so the engine's rules can be tested
 * with an in-memory cinemas.
 */
export interface CinemasClient {
  /**
   * Turns seats the user holds into PENDING reservations of the booking (idempotent per
   * booking id). Throws the refusal as a coded AppError (`SEATS_NOT_HELD`, `SEAT_UNAVAILABLE`
   * with `seatIds`, `BAD_USER_INPUT`, `NOT_FOUND`), or `SERVICE_UNAVAILABLE`.
   */
  reservePending(
    request: PendingReservationRequest,
    requestId?: string,
  ): Promise<PendingReservationResponse>;
  /**
   * Takes a late-paid booking's released seats back for it (idempotent). Throws
   * `SEAT_UNAVAILABLE` (with `seatIds`, or `reason` SHOWTIME_CLOSED) or `NOT_FOUND` as coded
   * AppErrors; `SERVICE_UNAVAILABLE` when cinemas cannot be reached.
   */
  retakeReservation(
    request: RetakeReservationRequest,
    requestId?: string,
  ): Promise<RetakeReservationResponse>;
  /** The facts of these showtimes; unknown ids are left out. */
  showtimeFacts(showtimeIds: readonly string[], requestId?: string): Promise<ShowtimeFacts[]>;
}

const REFUSAL_CODES = new Set<ReservationRefusal['code']>([
  'SEATS_NOT_HELD',
  'SEAT_UNAVAILABLE',
  'BAD_USER_INPUT',
  'NOT_FOUND',
]);

/** The bookings subgraph calling as a service: no end user rides on these calls. */
const BOOKINGS_SERVICE: Identity = Object.freeze({
  userId: null,
  role: null,
  service: 'bookings',
});

/**
 * The cinemas subgraph over its signed internal routes. `graphqlUrl` is where its `/graphql`
 * is (`config.subgraphUrls.cinemas`); the internal routes sit beside it.
 */
export class HttpCinemasClient implements CinemasClient {
  private readonly base: URL;

  constructor(
    graphqlUrl: string,
    private readonly secret: string,
    private readonly timeoutMs = 5000,
  ) {
    this.base = new URL(graphqlUrl);
  }

  async reservePending(
    request: PendingReservationRequest,
    requestId?: string,
  ): Promise<PendingReservationResponse> {
    const { status, body } = await callInternal<PendingReservationResponse | ReservationRefusal>(
      'cinemas',
      this.url('/internal/reservations/pending'),
      request,
      { identity: BOOKINGS_SERVICE, secret: this.secret, requestId, timeoutMs: this.timeoutMs },
    );
    if (status === 200) return body as PendingReservationResponse;
    throw refusalError(status, body as ReservationRefusal);
  }

  async retakeReservation(
    request: RetakeReservationRequest,
    requestId?: string,
  ): Promise<RetakeReservationResponse> {
    const { status, body } = await callInternal<
      RetakeReservationResponse | RetakeReservationRefusal
    >('cinemas', this.url('/internal/reservations/retake'), request, {
      identity: BOOKINGS_SERVICE,
      secret: this.secret,
      requestId,
      timeoutMs: this.timeoutMs,
    });
    if (status === 200) return body as RetakeReservationResponse;
    const refusal = body as RetakeReservationRefusal | null;
    if (refusal && (refusal.code === 'SEAT_UNAVAILABLE' || refusal.code === 'NOT_FOUND')) {
      throw new AppError(refusal.code, refusal.message, {
        ...(refusal.seatIds ? { seatIds: refusal.seatIds } : {}),
        ...(refusal.reason ? { reason: refusal.reason } : {}),
      });
    }
    throw new Error(`The cinemas subgraph answered ${status}: ${JSON.stringify(body)}`);
  }

  async showtimeFacts(
    showtimeIds: readonly string[],
    requestId?: string,
  ): Promise<ShowtimeFacts[]> {
    if (showtimeIds.length === 0) return [];
    const request: ShowtimeFactsRequest = { showtimeIds: [...new Set(showtimeIds)] };
    const { status, body } = await callInternal<
      { showtimes: ShowtimeFacts[] } | ReservationRefusal
    >('cinemas', this.url('/internal/showtimes/facts'), request, {
      identity: BOOKINGS_SERVICE,
      secret: this.secret,
      requestId,
      timeoutMs: this.timeoutMs,
    });
    if (status === 200) return (body as { showtimes: ShowtimeFacts[] }).showtimes;
    throw refusalError(status, body as ReservationRefusal);
  }

  private url(path: string): string {
    return new URL(path, this.base).toString();
  }
}

/**
 * A 4xx answer of cinemas as the client should see it: its registered code passes through
 * (a refusal is the customer's business: "you do not hold these seats"); anything else is
 * our fault (a 401 means our signature was refused) and stays an internal error.
 */
function refusalError(status: number, body: ReservationRefusal | null): Error {
  if (body && REFUSAL_CODES.has(body.code)) {
    return new AppError(body.code, body.message, body.seatIds ? { seatIds: body.seatIds } : {});
  }
  return new Error(`The cinemas subgraph answered ${status}: ${JSON.stringify(body)}`);
}

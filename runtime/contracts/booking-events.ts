/**
 * The booking events the bookings subgraph publishes (stream `bookings`) and the cinemas
 * subgraph consumes to keep `seat_reservations` (and so every seat map) in step with the
 * bookings: a PENDING booking's seats are reserved synchronously at CreateBooking (an internal
 * call, see {@link PendingReservationRequest}); what happens to them afterwards travels here,
 * written to the bookings outbox in the same transaction as the state change, so it is never
 * lost and is applied exactly once (consumers are idempotent on the event id and on the
 * reservation's state).
 */
export const BOOKINGS_STREAM = 'bookings';

export const BOOKING_EVENT_TYPES = [
  /** PENDING → CONFIRMED: the booking's reservations become permanent (seats BOOKED). */
  'booking.confirmed',
  /** PENDING → EXPIRED or CANCELLED, CONFIRMED → CANCELLED: the seats are free again. */
  'booking.released',
  /** CONFIRMED → COMPLETED: nothing changes for seats; for read models and reports. */
  'booking.completed',
] as const;
export type BookingEventType = (typeof BOOKING_EVENT_TYPES)[number];

export interface BookingSeatsPayload {
  bookingId: string;
  showtimeId: string;
  seatIds: string[];
  /** The booking's status after the change. */
  status: 'CONFIRMED' | 'EXPIRED' | 'CANCELLED' | 'COMPLETED';
}

/**
 * `POST {cinemas}/internal/reservations/pending` (signed service identity): turns seats the
 * user holds into PENDING reservations of `bookingId` until `expiresAt`. Idempotent per
 * `bookingId`: a retry answers what the first call answered.
 */
export interface PendingReservationRequest {
  bookingId: string;
  showtimeId: string;
  userId: string;
  seatIds: string[];
  /** ISO 8601: the PENDING booking's expiry; cinemas frees the seats itself after it (plus a grace). */
  expiresAt: string;
}

/** The showtime facts the bookings subgraph prices, refunds, scans and reports with. */
export interface ShowtimeFacts {
  id: string;
  movieId: string;
  cinemaId: string;
  hallId: string;
  startsAt: string;
  endsAt: string;
  /** Sellable seats of the hall (blocked seats excluded). */
  capacity: number;
  status: 'SCHEDULED' | 'CANCELLED';
}

export interface ReservedSeat {
  seatId: string;
  seatType: string;
  row: string;
  number: number;
}

/** 200: the reservation is in place. */
export interface PendingReservationResponse {
  showtime: ShowtimeFacts;
  seats: ReservedSeat[];
  /** The showtime's price per seat type, integer VND. */
  prices: Array<{ seatType: string; amount: number }>;
}

/** 4xx: nothing was reserved. `code` is a registered error code. */
export interface ReservationRefusal {
  code: 'SEATS_NOT_HELD' | 'SEAT_UNAVAILABLE' | 'BAD_USER_INPUT' | 'NOT_FOUND';
  message: string;
  seatIds?: string[];
}

/** `POST {cinemas}/internal/showtimes/facts` body; answers `{ showtimes: ShowtimeFacts[] }`. */
export interface ShowtimeFactsRequest {
  showtimeIds: string[];
}

/**
 * `POST {cinemas}/internal/reservations/retake` (signed service identity): a payment arrived
 * for a booking whose seats were released (it expired before the IPN came, DESIGN.md
 * invariant 7). Makes the booking's own reservation rows live again (PENDING until
 * `expiresAt`; the `booking.confirmed` event that follows makes them ACTIVE, and if it never
 * comes the safety net frees them again after `expiresAt` + grace) if no other booking has any
 * of the seats now; all or nothing. A hold by another user does not stop it: a hold is not a
 * purchase, and the seats were paid for. Idempotent: rows already live answer 200.
 */
export interface RetakeReservationRequest {
  bookingId: string;
  showtimeId: string;
  seatIds: string[];
  /** ISO 8601: how long the re-taken rows stay PENDING at most. */
  expiresAt: string;
}

/** 200: every seat of the booking is reserved for it again. */
export interface RetakeReservationResponse {
  seatIds: string[];
}

/**
 * 409: nothing changed. `SEATS_TAKEN`: another booking has `seatIds`; `SHOWTIME_CLOSED`: the
 * showtime started or was cancelled. 404 `NOT_FOUND`: cinemas never reserved this booking.
 */
export interface RetakeReservationRefusal {
  code: 'SEAT_UNAVAILABLE' | 'NOT_FOUND';
  reason?: 'SEATS_TAKEN' | 'SHOWTIME_CLOSED';
  message: string;
  seatIds?: string[];
}

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

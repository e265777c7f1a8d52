import type { EntityManager } from 'typeorm';
import {
  BOOKINGS_STREAM,
  type BookingEventType,
  type BookingSeatsPayload,
} from '../../../../runtime/contracts/booking-events';
import { appendEvents } from '../../../../runtime/events/outbox';

/**
 * Writes a booking event to the outbox in the transaction that makes the change
 * (runtime/contracts/booking-events.ts says what cinemas does with each). `seatIds` may be
 * empty for a booking made before tickets existed: cinemas acts on the booking id.
 */
export async function appendBookingEvent(
  manager: EntityManager,
  type: BookingEventType,
  payload: BookingSeatsPayload,
): Promise<void> {
  await appendEvents<BookingSeatsPayload>(manager, BOOKINGS_STREAM, [
    { type, aggregateId: payload.bookingId, payload },
  ]);
}

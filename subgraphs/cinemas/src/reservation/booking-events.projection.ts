import type { DataSource } from 'typeorm';
import {
  BOOKING_EVENT_TYPES,
  BOOKINGS_STREAM,
  type BookingSeatsPayload,
} from '../../../../runtime/contracts/booking-events';
import { handleOnce } from '../../../../runtime/events/consumer';
import type { DomainEvent } from '../../../../runtime/events/event';
import { startEventConsumer } from '../../../../runtime/events/projection';
import type { EventTransport } from '../../../../runtime/events/transport';
import type { Logger } from '../../../../runtime/logger';
import type { ReservationService } from './reservation.service';

/** The consumer group (and idempotency name) of the seat reservations fed by bookings. */
export const SEAT_RESERVATIONS_CONSUMER = 'cinemas-seat-reservations';

/**
 * Keeps `seat_reservations` (and so every seat map) in step with the bookings: confirmed →
 * BOOKED, released → AVAILABLE (see `ReservationService.applyBookingEvent`). Each event is
 * applied once (`handleOnce`), retried while it fails, dead-lettered if it keeps failing,
 * exactly as `startProjection` does, plus one step `startProjection` has no place for: once
 * the change has committed, it is announced to seat maps (`announce`). A failed announcement
 * is logged and left to the catch-up job (`announceOverdue`); the event itself is done.
 * Returns how to stop it.
 */
export function startSeatReservationsProjection(
  dataSource: DataSource,
  transport: EventTransport,
  consumer: string,
  reservations: ReservationService,
  log: Logger,
): () => Promise<void> {
  const group = SEAT_RESERVATIONS_CONSUMER;
  return startEventConsumer({
    dataSource,
    transport,
    stream: BOOKINGS_STREAM,
    group,
    consumer,
    types: BOOKING_EVENT_TYPES,
    handle: async (event) => {
      let changed: string[] = [];
      await handleOnce(dataSource, group, event, async (tx) => {
        changed = await reservations.applyBookingEvent(
          tx,
          event as DomainEvent<BookingSeatsPayload>,
        );
      });
      try {
        await reservations.announce(changed);
      } catch (err) {
        log.warn(
          { err, eventId: event.id },
          'seat change not announced yet; the catch-up job will announce it',
        );
      }
    },
    log,
  });
}

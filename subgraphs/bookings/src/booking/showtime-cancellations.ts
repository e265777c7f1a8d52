import type { DataSource } from 'typeorm';
import {
  CINEMAS_STREAM,
  type ShowtimeEventPayload,
} from '../../../../runtime/contracts/showtime-events';
import { startEventConsumer } from '../../../../runtime/events/projection';
import type { EventTransport } from '../../../../runtime/events/transport';
import type { Logger } from '../../../../runtime/logger';
import type { BookingLifecycle } from './booking-lifecycle.service';

/** The consumer group that cancels the bookings of cancelled showtimes. */
export const SHOWTIME_CANCELLATIONS_CONSUMER = 'bookings-showtime-cancellations';

/**
 * Follows the showtimes cinemas cancels: each `showtime.cancelled` event cancels that
 * showtime's PENDING and CONFIRMED bookings, the paid ones refunded in full
 * (`BookingLifecycle.cancelForShowtime`). The event is written in the cancellation's
 * transaction (cinemas' outbox) and delivered at least once, retried until it is done, and
 * the cancellation of bookings is idempotent, so one instance of the group is enough and a
 * crash anywhere loses nothing. A new group starts at the beginning of the stream: bookings of
 * showtimes cancelled before it existed are cancelled too. Returns how to stop it.
 */
export function startShowtimeCancellations(
  dataSource: DataSource,
  transport: EventTransport,
  consumer: string,
  lifecycle: BookingLifecycle,
  log: Logger,
): () => Promise<void> {
  return startEventConsumer({
    dataSource,
    transport,
    stream: CINEMAS_STREAM,
    group: SHOWTIME_CANCELLATIONS_CONSUMER,
    consumer,
    types: ['showtime.cancelled'],
    handle: async (event) => {
      const { showtimeId } = event.payload as ShowtimeEventPayload;
      const cancelled = await lifecycle.cancelForShowtime(showtimeId);
      if (cancelled > 0) {
        log.info({ showtimeId, cancelled }, 'bookings of a cancelled showtime cancelled');
      }
    },
    log,
  });
}

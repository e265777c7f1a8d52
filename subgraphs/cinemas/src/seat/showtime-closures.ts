import type { DataSource } from 'typeorm';
import {
  CINEMAS_STREAM,
  type ShowtimeEventPayload,
} from '../../../../runtime/contracts/showtime-events';
import { deadLetterRecorder } from '../../../../runtime/events/consumer';
import type { EventTransport } from '../../../../runtime/events/transport';
import type { Logger } from '../../../../runtime/logger';
import type { SeatService } from './seat.service';

/** The consumer group that closes cancelled showtimes to holds. */
export const SHOWTIME_CLOSURES_CONSUMER = 'cinemas-seat-holds';

/**
 * Closes every cancelled showtime to holds (`SeatService.showtimeCancelled`) from the
 * showtime events of this very subgraph. The cancellation does it at once, after its commit;
 * this makes it certain, since the event was written in the cancellation's transaction (the
 * outbox) and is retried until it is done: an instance that crashed right after the commit,
 * or a hold store that was down then, still ends with the showtime closed. Closing is
 * idempotent, and the store's state is shared, so one instance of the group is enough.
 * Returns how to stop it.
 */
export function startShowtimeClosures(
  dataSource: DataSource,
  transport: EventTransport,
  consumer: string,
  seats: SeatService,
  log: Logger,
): () => Promise<void> {
  const group = SHOWTIME_CLOSURES_CONSUMER;
  const recordDeadLetter = deadLetterRecorder(dataSource, group, CINEMAS_STREAM);
  const subscription = transport.subscribe({
    stream: CINEMAS_STREAM,
    group,
    consumer,
    handler: async (event) => {
      if (event.type !== 'showtime.cancelled') return;
      const { showtimeId, endsAt } = event.payload as ShowtimeEventPayload;
      await seats.showtimeCancelled({ id: showtimeId, endsAt: Date.parse(endsAt) });
    },
    onDeadLetter: async (event, error, attempts) => {
      log.error(
        { eventId: event.id, type: event.type, err: error, attempts },
        'event dead-lettered',
      );
      await recordDeadLetter(event, error, attempts);
    },
  });
  return () => subscription.stop();
}

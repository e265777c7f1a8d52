import type { DataSource } from 'typeorm';
import {
  CINEMAS_STREAM,
  type ShowtimeEventPayload,
} from '../../../../runtime/contracts/showtime-events';
import { startEventConsumer } from '../../../../runtime/events/projection';
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
  return startEventConsumer({
    dataSource,
    transport,
    stream: CINEMAS_STREAM,
    group: SHOWTIME_CLOSURES_CONSUMER,
    consumer,
    types: ['showtime.cancelled'],
    handle: async (event) => {
      const { showtimeId, endsAt } = event.payload as ShowtimeEventPayload;
      await seats.showtimeCancelled({ id: showtimeId, endsAt: Date.parse(endsAt) });
    },
    log,
  });
}

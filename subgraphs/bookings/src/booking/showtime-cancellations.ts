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
 * Follows the showtimes cinemas cancels. Each `showtime.cancelled` event (written in the
 * cancellation's transaction, cinemas' outbox, and delivered at least once) is recorded here
 * (`recordCancelledShowtime`, one idempotent INSERT: the handler stays short, so the event is
 * not redelivered to other instances while its bookings are being cancelled); then the
 * showtime's bookings are cancelled at once in the background (`cancelForShowtime`). Whatever
 * that pass leaves (a crash, a database outage, a booking that slipped past it) the
 * `settleCancelledShowtimes` job finishes, so nothing depends on the pass. A new group starts
 * at the beginning of the stream: showtimes cancelled before it existed are recorded too.
 * Returns how to stop it (waits for the passes in progress).
 */
export function startShowtimeCancellations(
  dataSource: DataSource,
  transport: EventTransport,
  consumer: string,
  lifecycle: BookingLifecycle,
  log: Logger,
): () => Promise<void> {
  // One pass at a time, each showtime queued once: a backlog of cancellations (a new group
  // reading the stream from its start, many showtimes cancelled at once) takes one database
  // connection, not one each.
  const queued = new Set<string>();
  let chain: Promise<void> = Promise.resolve();
  let stopped = false;
  const cancelSoon = (showtimeId: string) => {
    if (queued.has(showtimeId)) return;
    queued.add(showtimeId);
    chain = chain.then(async () => {
      queued.delete(showtimeId);
      // Stopping: what has not started is left to the job.
      if (stopped) return;
      try {
        const cancelled = await lifecycle.cancelForShowtime(showtimeId);
        if (cancelled > 0) {
          log.info({ showtimeId, cancelled }, 'bookings of a cancelled showtime cancelled');
        }
      } catch (err) {
        log.warn(
          { err, showtimeId },
          'cancelling the bookings of a cancelled showtime failed; the job will retry',
        );
      }
    });
  };
  const stop = startEventConsumer({
    dataSource,
    transport,
    stream: CINEMAS_STREAM,
    group: SHOWTIME_CANCELLATIONS_CONSUMER,
    consumer,
    types: ['showtime.cancelled'],
    handle: async (event) => {
      const { showtimeId } = event.payload as ShowtimeEventPayload;
      const at = new Date(event.occurredAt);
      await lifecycle.recordCancelledShowtime(
        showtimeId,
        Number.isNaN(at.getTime()) ? new Date() : at,
      );
      cancelSoon(showtimeId);
    },
    log,
  });
  return async () => {
    stopped = true;
    await stop();
    await chain;
  };
}

import type { DataSource, EntityManager } from 'typeorm';
import {
  CINEMAS_STREAM,
  SHOWTIME_EVENT_TYPES,
  type ShowtimeEventPayload,
} from '../../../../runtime/contracts/showtime-events';
import type { DomainEvent } from '../../../../runtime/events/event';
import { startProjection } from '../../../../runtime/events/projection';
import type { EventTransport } from '../../../../runtime/events/transport';
import type { Logger } from '../../../../runtime/logger';

export const SHOWINGS_CONSUMER = 'movies-showings';

/**
 * Applies one showtime event to the projection. Events may arrive twice or out of order
 * (retries): the newest `occurredAt` wins, so replays and stale deliveries change nothing.
 */
export async function projectShowtimeEvent(
  tx: EntityManager,
  event: DomainEvent<ShowtimeEventPayload>,
): Promise<void> {
  const p = event.payload;
  await tx.query(
    `INSERT INTO movie_showings (showtime_id, movie_id, city_key, starts_at, status, updated_at)
     VALUES ($1, $2, $3, $4, $5, $6)
     ON CONFLICT (showtime_id) DO UPDATE
     SET movie_id = EXCLUDED.movie_id, city_key = EXCLUDED.city_key,
         starts_at = EXCLUDED.starts_at, status = EXCLUDED.status, updated_at = EXCLUDED.updated_at
     WHERE movie_showings.updated_at <= EXCLUDED.updated_at`,
    [p.showtimeId, p.movieId, p.cityKey, p.startsAt, p.status, event.occurredAt],
  );
}

/** Subscribes the projection to the cinemas stream; returns how to stop it. */
export function startShowingsProjection(
  dataSource: DataSource,
  transport: EventTransport,
  consumer: string,
  log: Logger,
): () => Promise<void> {
  return startProjection<ShowtimeEventPayload>({
    dataSource,
    transport,
    stream: CINEMAS_STREAM,
    group: SHOWINGS_CONSUMER,
    consumer,
    types: SHOWTIME_EVENT_TYPES,
    apply: projectShowtimeEvent,
    log,
  });
}

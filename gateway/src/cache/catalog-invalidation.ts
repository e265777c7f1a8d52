import { MOVIE_EVENT_TYPES, MOVIES_STREAM } from '../../../runtime/contracts/movie-events';
import { CINEMAS_STREAM, SHOWTIME_EVENT_TYPES } from '../../../runtime/contracts/showtime-events';
import type { DomainEvent } from '../../../runtime/events/event';
import type { EventTransport, Subscription } from '../../../runtime/events/transport';
import type { Logger } from '../../../runtime/logger';
import type { CatalogCache, InvalidatedType } from './catalog-cache';

/** The consumer group of every gateway instance: one of them handles each event. */
export const CATALOG_CACHE_GROUP = 'gateway.catalog-cache';

/**
 * Read models other subgraphs derive from an event (the movies subgraph's showings by city,
 * from showtime events) change a little after the event: their types are invalidated again
 * this much later, so that an answer fetched in between is not kept for its whole max-age.
 */
export const DERIVED_INVALIDATION_DELAY_MS = 2_000;

/** Which types' answers an event makes stale, now and once its read models have caught up. */
export function typesChangedBy(event: Pick<DomainEvent, 'type'>): {
  now: InvalidatedType[];
  later: InvalidatedType[];
} {
  if ((MOVIE_EVENT_TYPES as readonly string[]).includes(event.type)) {
    return { now: ['Movie'], later: [] };
  }
  if ((SHOWTIME_EVENT_TYPES as readonly string[]).includes(event.type)) {
    // A movie's showtimes (cinemas), and the movies now showing per city (movies, derived).
    return { now: ['Showtime', 'Movie'], later: ['Movie'] };
  }
  return { now: [], later: [] };
}

/**
 * Invalidates the catalog cache from the subgraphs' events: the movies stream (a movie
 * created or updated) and the cinemas stream (a showtime scheduled, moved or cancelled).
 * One consumer group for all gateway instances: the instance that handles an event raises
 * the generations in Redis and announces them to the others (see `CatalogCache`). A failed
 * invalidation (Redis down) throws, and the event comes again.
 */
export function startCatalogInvalidation(options: {
  readonly cache: CatalogCache;
  readonly transport: EventTransport;
  readonly consumer: string;
  readonly log: Pick<Logger, 'warn' | 'error'>;
}): { stop(): Promise<void> } {
  const { cache, transport, consumer, log } = options;
  // One delayed invalidation per set of types, due DERIVED_INVALIDATION_DELAY_MS after the
  // latest event that asked for it: a burst of events (a schedule imported, a backlog read
  // after a restart) raises the generations once at its end, not once per event.
  const delayed = new Map<string, { timer: NodeJS.Timeout; dueAt: number }>();
  let stopped = false;
  const later = (types: InvalidatedType[]) => {
    const key = types.join(',');
    const dueAt = Date.now() + DERIVED_INVALIDATION_DELAY_MS;
    const pending = delayed.get(key);
    if (pending) {
      pending.dueAt = dueAt;
      return;
    }
    const fire = () => {
      const entry = delayed.get(key)!;
      const wait = entry.dueAt - Date.now();
      if (!stopped && wait > 0) {
        entry.timer = setTimeout(fire, wait);
        entry.timer.unref();
        return;
      }
      delayed.delete(key);
      if (stopped) return;
      cache
        .invalidate(types)
        .catch((err: unknown) =>
          log.warn({ err, types }, 'catalog cache: a delayed invalidation failed'),
        );
    };
    const timer = setTimeout(fire, DERIVED_INVALIDATION_DELAY_MS);
    timer.unref();
    delayed.set(key, { timer, dueAt });
  };
  const handler = async (event: DomainEvent) => {
    const changed = typesChangedBy(event);
    if (changed.now.length > 0) await cache.invalidate(changed.now);
    if (changed.later.length > 0) later(changed.later);
  };
  const subscriptions: Subscription[] = [MOVIES_STREAM, CINEMAS_STREAM].map((stream) =>
    transport.subscribe({
      stream,
      group: CATALOG_CACHE_GROUP,
      consumer,
      handler,
      // Invalidating again is harmless; an event given up on only leaves answers to their TTL.
      onDeadLetter: (event, error, attempts) => {
        log.error(
          { err: error, eventId: event.id, type: event.type, attempts },
          'catalog cache: gave up invalidating for an event',
        );
        return Promise.resolve();
      },
    }),
  );
  return {
    stop: async () => {
      stopped = true;
      for (const { timer } of delayed.values()) clearTimeout(timer);
      delayed.clear();
      await Promise.all(subscriptions.map((s) => s.stop()));
    },
  };
}

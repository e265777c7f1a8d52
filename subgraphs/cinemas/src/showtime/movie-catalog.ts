import type { DataSource, EntityManager } from 'typeorm';
import type { AppConfig } from '../../../../runtime/config';
import {
  MOVIE_EVENT_TYPES,
  MOVIES_STREAM,
  type MovieEventPayload,
} from '../../../../runtime/contracts/movie-events';
import { startProjection } from '../../../../runtime/events/projection';
import type { DomainEvent } from '../../../../runtime/events/event';
import type { EventTransport } from '../../../../runtime/events/transport';
import { callInternal } from '../../../../runtime/internal-client';
import type { Logger } from '../../../../runtime/logger';

export interface CatalogMovie {
  id: string;
  durationMinutes: number;
  status: 'COMING_SOON' | 'NOW_SHOWING' | 'ARCHIVED';
}

export const MOVIE_RUNTIMES_CONSUMER = 'cinemas-movie-runtimes';

/**
 * What scheduling needs to know of a movie. First the local projection (fed by the movies
 * subgraph's events, so scheduling works while movies is down); for a movie too new to have
 * arrived yet, a fresh signed read from the movies subgraph.
 */
export class MovieCatalog {
  constructor(
    private readonly dataSource: DataSource,
    private readonly config: AppConfig,
  ) {}

  async find(id: string, requestId?: string): Promise<CatalogMovie | null> {
    const rows: { movie_id: string; duration_minutes: number; status: CatalogMovie['status'] }[] =
      await this.dataSource.query(
        'SELECT movie_id, duration_minutes, status FROM movie_runtimes WHERE movie_id = $1',
        [id],
      );
    if (rows[0]) {
      return { id, durationMinutes: rows[0].duration_minutes, status: rows[0].status };
    }
    return this.fetch(id, requestId);
  }

  private async fetch(id: string, requestId?: string): Promise<CatalogMovie | null> {
    const { body } = await callInternal<{
      data?: { _entities: (CatalogMovie | null)[] };
      errors?: unknown[];
    }>(
      'movies',
      this.config.subgraphUrls.movies,
      {
        query:
          'query($r: [_Any!]!) { _entities(representations: $r) { ... on Movie { id durationMinutes status } } }',
        variables: { r: [{ __typename: 'Movie', id }] },
      },
      {
        identity: { userId: null, role: null, service: 'cinemas' },
        secret: this.config.internalSecret,
        requestId,
      },
    );
    if (!body.data) throw new Error(`movies subgraph answered ${JSON.stringify(body.errors)}`);
    return body.data._entities[0] ?? null;
  }
}

/** Newest event wins, so a replayed or late delivery changes nothing. */
export async function projectMovieEvent(
  tx: EntityManager,
  event: DomainEvent<MovieEventPayload>,
): Promise<void> {
  const p = event.payload;
  await tx.query(
    `INSERT INTO movie_runtimes (movie_id, title, duration_minutes, status, updated_at)
     VALUES ($1, $2, $3, $4, $5)
     ON CONFLICT (movie_id) DO UPDATE
     SET title = EXCLUDED.title, duration_minutes = EXCLUDED.duration_minutes,
         status = EXCLUDED.status, updated_at = EXCLUDED.updated_at
     WHERE movie_runtimes.updated_at <= EXCLUDED.updated_at`,
    [p.movieId, p.title, p.durationMinutes, p.status, event.occurredAt],
  );
}

/** Subscribes the projection to the movies stream; returns how to stop it. */
export function startMovieRuntimesProjection(
  dataSource: DataSource,
  transport: EventTransport,
  consumer: string,
  log: Logger,
): () => Promise<void> {
  return startProjection<MovieEventPayload>({
    dataSource,
    transport,
    stream: MOVIES_STREAM,
    group: MOVIE_RUNTIMES_CONSUMER,
    consumer,
    types: MOVIE_EVENT_TYPES,
    apply: projectMovieEvent,
    log,
  });
}

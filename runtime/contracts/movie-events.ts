/**
 * The movie events the movies subgraph publishes (stream `movies`): the cinemas subgraph keeps
 * each movie's running time and status from them, so scheduling works while movies is down.
 */
export const MOVIES_STREAM = 'movies';

export const MOVIE_EVENT_TYPES = ['movie.created', 'movie.updated'] as const;
export type MovieEventType = (typeof MOVIE_EVENT_TYPES)[number];

export interface MovieEventPayload {
  movieId: string;
  title: string;
  durationMinutes: number;
  status: 'COMING_SOON' | 'NOW_SHOWING' | 'ARCHIVED';
}

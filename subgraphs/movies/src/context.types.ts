// The movies subgraph's context and services as types only: resolvers and routes import
// these, never the wiring (`context.ts`).
import type DataLoader from 'dataloader';
import type { OutboxRelay } from '../../../runtime/events/outbox';
import type { RequestContext } from '../../../runtime/subgraph-definition';
import type { Movie } from './movie/movie.entity';
import type { MovieService } from './movie/movie.service';

export interface MoviesApp {
  readonly movies: MovieService;
  /** Movies by id, read once for the requests of one turn of the event loop. */
  readonly movieReads: DataLoader<string, Movie | null>;
  /** Publishes the outbox (movie events) to the event transport. */
  readonly relay: OutboxRelay;
}

export interface MoviesLoaders {
  readonly movieById: DataLoader<string, Movie | null>;
}

export interface MoviesContext extends RequestContext {
  readonly app: MoviesApp;
  readonly loaders: MoviesLoaders;
}

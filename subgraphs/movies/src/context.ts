import DataLoader from 'dataloader';
import type { RequestContext, SubgraphDeps } from '../../../runtime/subgraph-server';
import type { Movie } from './movie/movie.entity';
import { MovieService } from './movie/movie.service';
import { OutboxRelay } from '../../../runtime/events/outbox';

export interface MoviesApp {
  readonly movies: MovieService;
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

export function createMoviesApp({ dataSource, events, log }: SubgraphDeps): MoviesApp {
  const relay = new OutboxRelay({ dataSource, transport: events, log });
  return { movies: new MovieService(dataSource, () => relay.notify()), relay };
}

export function createMoviesContext(base: RequestContext, app: MoviesApp): MoviesContext {
  return {
    ...base,
    app,
    loaders: { movieById: new DataLoader((ids) => app.movies.findByIds(ids)) },
  };
}

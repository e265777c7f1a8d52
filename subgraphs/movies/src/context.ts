import DataLoader from 'dataloader';
import type { RequestContext, SubgraphDeps } from '../../../runtime/subgraph-definition';
import { MovieService } from './movie/movie.service';
import { OutboxRelay } from '../../../runtime/events/outbox';
import type { MoviesApp, MoviesContext } from './context.types';

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

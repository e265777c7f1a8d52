import DataLoader from 'dataloader';
import { batchPerTurn } from '../../../runtime/loaders';
import type { RequestContext, SubgraphDeps } from '../../../runtime/subgraph-definition';
import { MovieService } from './movie/movie.service';
import { OutboxRelay } from '../../../runtime/events/outbox';
import type { MoviesApp, MoviesContext } from './context.types';

export function createMoviesApp({ dataSource, events, log }: SubgraphDeps): MoviesApp {
  const relay = new OutboxRelay({ dataSource, transport: events, log });
  const movies = new MovieService(dataSource, () => relay.notify());
  // The requests of one turn of the event loop share one read of the movies they ask for
  // (a thousand seat maps opened at once each ask for their showtime's movie): nothing is
  // cached, each load is answered by a read that started after it (see `batchPerTurn`).
  const movieReads = batchPerTurn((ids: readonly string[]) => movies.findByIds(ids));
  return { movies, movieReads, relay };
}

export function createMoviesContext(base: RequestContext, app: MoviesApp): MoviesContext {
  return {
    ...base,
    app,
    loaders: { movieById: new DataLoader((ids) => app.movieReads.loadMany(ids)) },
  };
}

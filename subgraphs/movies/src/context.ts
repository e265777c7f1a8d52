import DataLoader from 'dataloader';
import type { RequestContext, SubgraphDeps } from '../../../runtime/subgraph-server';
import type { Movie } from './movie/movie.entity';
import { MovieService } from './movie/movie.service';

export interface MoviesApp {
  readonly movies: MovieService;
}

export interface MoviesLoaders {
  readonly movieById: DataLoader<string, Movie | null>;
}

export interface MoviesContext extends RequestContext {
  readonly app: MoviesApp;
  readonly loaders: MoviesLoaders;
}

export function createMoviesApp({ dataSource }: SubgraphDeps): MoviesApp {
  return { movies: new MovieService(dataSource) };
}

export function createMoviesContext(base: RequestContext, app: MoviesApp): MoviesContext {
  return {
    ...base,
    app,
    loaders: { movieById: new DataLoader((ids) => app.movies.findByIds(ids)) },
  };
}

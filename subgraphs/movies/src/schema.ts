import type { SubgraphDefinition } from '../../../runtime/subgraph-server';
import {
  createMoviesApp,
  createMoviesContext,
  type MoviesApp,
  type MoviesContext,
} from './context';
import { CreateMovies1732500000000 } from './migrations/1732500000000-create-movies';
import { Movie } from './movie/movie.entity';
import { MovieResolver } from './movie/movie.resolver';

/** The movies subgraph: the catalog of films. */
export const moviesSubgraph: SubgraphDefinition<MoviesContext, MoviesApp> = {
  name: 'movies',
  schema: {
    resolvers: [MovieResolver],
    references: {
      Movie: (ref, ctx) => ctx.loaders.movieById.load(String(ref.id)),
    },
  },
  entities: [Movie],
  migrations: [CreateMovies1732500000000],
  createApp: createMoviesApp,
  createContext: createMoviesContext,
};

import type { SubgraphDefinition } from '../../../runtime/subgraph-definition';
import { createMoviesApp, createMoviesContext } from './context';
import type { MoviesApp, MoviesContext } from './context.types';
import { CreateMovies1732500000000 } from './migrations/1732500000000-create-movies';
import { MovieSearch1732700000000 } from './migrations/1732700000000-movie-search';
import { MovieShowings1732700000001 } from './migrations/1732700000001-movie-showings';
import { EventConsumers1732700000002 } from './migrations/1732700000002-event-consumers';
import { MovieOutbox1732700000003 } from './migrations/1732700000003-movie-outbox';
import { EventRetention1733100000000 } from './migrations/1733100000000-event-retention';
import { DeadLetterRetention1733500000000 } from '../../../runtime/events/migrations';
import { eventConsumerName } from '../../../runtime/events/consumer-name';
import {
  DEAD_LETTERS_RETENTION,
  OUTBOX_RETENTION,
  PROCESSED_EVENTS_RETENTION,
  startEventRetention,
} from '../../../runtime/events/retention';
import { startShowingsProjection } from './showings/showings.projection';
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
  migrations: [
    CreateMovies1732500000000,
    MovieSearch1732700000000,
    MovieShowings1732700000001,
    EventConsumers1732700000002,
    MovieOutbox1732700000003,
    EventRetention1733100000000,
    DeadLetterRetention1733500000000,
  ],
  createApp: createMoviesApp,
  createContext: createMoviesContext,
  startWorkers: (app, { dataSource, events, log, config }) => {
    app.relay.start();
    return [
      () => app.relay.stop(),
      startShowingsProjection(dataSource, events, eventConsumerName('movies'), log),
      startEventRetention({
        dataSource,
        log,
        retentionHours: config.events.retentionHours,
        targets: [OUTBOX_RETENTION, PROCESSED_EVENTS_RETENTION, DEAD_LETTERS_RETENTION],
      }),
    ];
  },
};

import type { SubgraphDefinition } from '../../../runtime/subgraph-server';
import { Cinema, Hall, Seat } from './cinema/cinema.entity';
import { CinemaResolver, HallResolver } from './cinema/cinema.resolver';
import {
  createCinemasApp,
  createCinemasContext,
  type CinemasApp,
  type CinemasContext,
} from './context';
import { CreateCinemas1732500000000 } from './migrations/1732500000000-create-cinemas';
import { Showtime } from './showtime/showtime.entity';
import { MovieShowtimesResolver, ShowtimeResolver } from './showtime/showtime.resolver';

/** The cinemas subgraph: cinemas, halls and their seats, showtimes, prices. */
export const cinemasSubgraph: SubgraphDefinition<CinemasContext, CinemasApp> = {
  name: 'cinemas',
  schema: {
    resolvers: [CinemaResolver, HallResolver, ShowtimeResolver, MovieShowtimesResolver],
    references: {
      Showtime: (ref, ctx) => ctx.loaders.showtimeById.load(String(ref.id)),
      Movie: (ref) => ({ id: String(ref.id) }),
    },
  },
  entities: [Cinema, Hall, Seat, Showtime],
  migrations: [CreateCinemas1732500000000],
  createApp: createCinemasApp,
  createContext: createCinemasContext,
};

import DataLoader from 'dataloader';
import type { RequestContext, SubgraphDeps } from '../../../runtime/subgraph-server';
import type { Cinema, Hall, Seat } from './cinema/cinema.entity';
import { CinemaAdminService } from './cinema/cinema-admin.service';
import { CinemaService } from './cinema/cinema.service';
import { OutboxRelay } from '../../../runtime/events/outbox';
import { MovieCatalog } from './showtime/movie-catalog';
import { ShowtimeAdminService } from './showtime/showtime-admin.service';
import type { Showtime } from './showtime/showtime.entity';
import { ShowtimeService, type ShowtimeWindow } from './showtime/showtime.service';

export interface CinemasApp {
  readonly cinemas: CinemaService;
  readonly showtimes: ShowtimeService;
  readonly cinemaAdmin: CinemaAdminService;
  readonly showtimeAdmin: ShowtimeAdminService;
  /** Publishes the outbox (showtime events) to the event transport. */
  readonly relay: OutboxRelay;
}

export interface CinemasLoaders {
  readonly cinemaById: DataLoader<string, Cinema | null>;
  readonly hallById: DataLoader<string, Hall | null>;
  readonly hallsByCinemaId: DataLoader<string, Hall[]>;
  readonly seatsByHallId: DataLoader<string, Seat[]>;
  readonly sellableSeatsByHallId: DataLoader<string, number>;
  readonly showtimeById: DataLoader<string, Showtime | null>;
  /** One loader per distinct window, so a list of movies costs one query per window. */
  showtimesByMovieId(window: ShowtimeWindow): DataLoader<string, Showtime[]>;
}

export interface CinemasContext extends RequestContext {
  readonly app: CinemasApp;
  readonly loaders: CinemasLoaders;
}

export function createCinemasApp({ dataSource, config, events, log }: SubgraphDeps): CinemasApp {
  const relay = new OutboxRelay({ dataSource, transport: events, log });
  return {
    cinemas: new CinemaService(dataSource),
    showtimes: new ShowtimeService(dataSource),
    cinemaAdmin: new CinemaAdminService(dataSource),
    showtimeAdmin: new ShowtimeAdminService(dataSource, new MovieCatalog(dataSource, config), () =>
      relay.notify(),
    ),
    relay,
  };
}

export function createCinemasContext(base: RequestContext, app: CinemasApp): CinemasContext {
  const byWindow = new Map<string, DataLoader<string, Showtime[]>>();
  return {
    ...base,
    app,
    loaders: {
      cinemaById: new DataLoader((ids) => app.cinemas.cinemasByIds(ids)),
      hallById: new DataLoader((ids) => app.cinemas.hallsByIds(ids)),
      hallsByCinemaId: new DataLoader((ids) => app.cinemas.hallsByCinemaIds(ids)),
      seatsByHallId: new DataLoader((ids) => app.cinemas.seatsByHallIds(ids)),
      sellableSeatsByHallId: new DataLoader((ids) => app.cinemas.sellableSeatCounts(ids)),
      showtimeById: new DataLoader((ids) => app.showtimes.byIds(ids)),
      showtimesByMovieId(window) {
        const key = JSON.stringify([window.from, window.to, window.city]);
        let loader = byWindow.get(key);
        if (!loader) {
          loader = new DataLoader((ids) => app.showtimes.byMovieIds(ids, window));
          byWindow.set(key, loader);
        }
        return loader;
      },
    },
  };
}

import DataLoader from 'dataloader';
import type { RequestContext, SubgraphDeps } from '../../../runtime/subgraph-server';
import type { Cinema, Hall, Seat } from './cinema/cinema.entity';
import { CinemaAdminService } from './cinema/cinema-admin.service';
import { CinemaService } from './cinema/cinema.service';
import { MemorySeatHoldStore } from './seat/hold/memory-seat-hold.store';
import { RedisSeatHoldStore } from './seat/hold/redis-seat-hold.store';
import type { SeatHoldStore } from './seat/hold/seat-hold.store';
import { seatTopic, SeatService } from './seat/seat.service';
import { OutboxRelay } from '../../../runtime/events/outbox';
import { MovieCatalog } from './showtime/movie-catalog';
import { ShowtimeAdminService } from './showtime/showtime-admin.service';
import type { Showtime } from './showtime/showtime.entity';
import { ShowtimeService, type ShowtimeWindow } from './showtime/showtime.service';

/** DESIGN.md invariant 3: at most 8 seats per user per showtime. */
export const MAX_SEATS_PER_HOLDER = 8;

export interface CinemasApp {
  readonly cinemas: CinemaService;
  readonly seats: SeatService;
  readonly holds: SeatHoldStore;
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
  readonly seatById: DataLoader<string, Seat | null>;
  /** Sold seats (ACTIVE reservations), per showtime. */
  readonly bookedSeatIds: DataLoader<string, Set<string>>;
  /** Current holds and version, per showtime. */
  readonly holdSnapshot: DataLoader<string, { version: number; holds: Map<string, string> }>;
  /** Seats free to book now (sellable − sold − held), per showtime. */
  readonly availableSeats: DataLoader<Showtime, number, string>;
  readonly showtimeById: DataLoader<string, Showtime | null>;
  /** One loader per distinct window, so a list of movies costs one query per window. */
  showtimesByMovieId(window: ShowtimeWindow): DataLoader<string, Showtime[]>;
}

export interface CinemasContext extends RequestContext {
  readonly app: CinemasApp;
  readonly loaders: CinemasLoaders;
}

/** Holds live in Redis when there is one (any instance sees them), else in this process. */
function createHoldStore({ config, redis, pubSub }: SubgraphDeps): SeatHoldStore {
  const rules = { ttlSeconds: config.seatHoldTtlSeconds, maxSeatsPerHolder: MAX_SEATS_PER_HOLDER };
  if (redis) {
    return new RedisSeatHoldStore({
      ...rules,
      redis,
      keyPrefix: config.redis.keyPrefix,
      channel: (showtimeId) => config.redis.keyPrefix + seatTopic(showtimeId),
    });
  }
  return new MemorySeatHoldStore({
    ...rules,
    publish: (showtimeId, event) => pubSub.publish(seatTopic(showtimeId), event),
  });
}

export function createCinemasApp(deps: SubgraphDeps): CinemasApp {
  const { dataSource, config, events, log, pubSub } = deps;
  const relay = new OutboxRelay({ dataSource, transport: events, log });
  const holds = createHoldStore(deps);
  return {
    holds,
    seats: new SeatService(dataSource, holds, pubSub, config.internalSecret),
    cinemas: new CinemaService(dataSource),
    showtimes: new ShowtimeService(dataSource),
    cinemaAdmin: new CinemaAdminService(dataSource, () => relay.notify()),
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
      seatById: new DataLoader((ids) => app.cinemas.seatsByIds(ids)),
      bookedSeatIds: new DataLoader(async (ids) => {
        const booked = await app.seats.bookedSeatIds(ids);
        return ids.map((id) => booked.get(id)!);
      }),
      holdSnapshot: new DataLoader((ids) => app.seats.snapshots(ids)),
      availableSeats: new DataLoader(
        async (showtimes) => {
          const sellable = await app.cinemas.sellableSeatCounts(showtimes.map((s) => s.hallId));
          return app.seats.availableCounts(showtimes, sellable);
        },
        { cacheKeyFn: (s) => s.id },
      ),
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

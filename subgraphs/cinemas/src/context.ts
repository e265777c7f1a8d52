import DataLoader from 'dataloader';
import type { RequestContext, SubgraphDeps } from '../../../runtime/subgraph-server';
import type { Cinema, Hall, Seat } from './cinema/cinema.entity';
import { CinemaAdminService } from './cinema/cinema-admin.service';
import { CinemaService } from './cinema/cinema.service';
import { MemorySeatHoldStore } from './seat/hold/memory-seat-hold.store';
import { PostgresSeatVersionLedger } from './seat/hold/postgres-seat-version.ledger';
import { RedisSeatHoldStore } from './seat/hold/redis-seat-hold.store';
import type { SeatHoldStore } from './seat/hold/seat-hold.store';
import { seatTopic, SeatService, type ShowtimeReservations } from './seat/seat.service';
import { ReservationService } from './reservation/reservation.service';
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
  /** Seat reservations of bookings (PENDING, ACTIVE, RELEASED). */
  readonly reservations: ReservationService;
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
  /** Live reservations per showtime: sold seats (ACTIVE) and PENDING bookings' seats. */
  readonly reservedSeats: DataLoader<string, ShowtimeReservations>;
  /** Current holds and version, per showtime. */
  readonly holdSnapshot: DataLoader<string, { version: number; holds: Map<string, string> }>;
  /** Seats free to book now (sellable − sold − pending − held), per showtime. */
  readonly availableSeats: DataLoader<Showtime, number, string>;
  readonly showtimeById: DataLoader<string, Showtime | null>;
  /** One loader per distinct window, so a list of movies costs one query per window. */
  showtimesByMovieId(window: ShowtimeWindow): DataLoader<string, Showtime[]>;
}

export interface CinemasContext extends RequestContext {
  readonly app: CinemasApp;
  /**
   * Per request. A subscription's context lives as long as the subscription, so each event
   * replaces them (`useEventLoaders`): cached reads never outlive the event they served.
   */
  loaders: CinemasLoaders;
}

/**
 * Holds live in Redis when there is one (any instance sees them), else in this process, with
 * the seat-map versions reserved in PostgreSQL so that they survive a restart.
 */
function createHoldStore({ config, redis, pubSub, dataSource }: SubgraphDeps): SeatHoldStore {
  const rules = {
    ttlSeconds: config.seatHoldTtlSeconds,
    maxSeatsPerHolder: MAX_SEATS_PER_HOLDER,
    cooldownSeconds: config.seatHolds.cooldownSeconds,
    maxShowtimesPerHolder: config.seatHolds.maxShowtimesPerUser,
    ratePerMinute: config.seatHolds.ratePerMinute,
  };
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
    // The in-process transport delivers synchronously and cannot fail.
    publish: (showtimeId, event) => void pubSub.publish(seatTopic(showtimeId), event),
    versions: new PostgresSeatVersionLedger(dataSource),
  });
}

export function createCinemasApp(deps: SubgraphDeps): CinemasApp {
  const { dataSource, config, events, log, pubSub } = deps;
  const relay = new OutboxRelay({ dataSource, transport: events, log });
  const holds = createHoldStore(deps);
  const seats = new SeatService(
    dataSource,
    holds,
    pubSub,
    config.internalSecret,
    MAX_SEATS_PER_HOLDER,
  );
  return {
    holds,
    seats,
    reservations: new ReservationService({
      dataSource,
      store: holds,
      holderTag: (userId) => seats.holderTag(userId),
      log,
    }),
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
  return { ...base, app, loaders: createLoaders(app) };
}

/** One set of loaders per event, shared by every subscription of this process it reaches. */
const loadersByEvent = new WeakMap<object, CinemasLoaders>();

/**
 * Gives a subscription's context fresh loaders for `event` (issue 8 item 6: the seat map in
 * events 1, 2, 3 all said version 1, read once for the life of the subscription). Safe
 * because graphql-js executes one subscription's events one after another. The loaders hold
 * nothing about the viewer (`heldByMe` is computed outside them), so all subscriptions that
 * receive the same event object share one read of each showtime, seat map and snapshot.
 */
export function useEventLoaders(ctx: CinemasContext, event: object): void {
  let loaders = loadersByEvent.get(event);
  if (!loaders) {
    loaders = createLoaders(ctx.app);
    loadersByEvent.set(event, loaders);
  }
  ctx.loaders = loaders;
}

function createLoaders(app: CinemasApp): CinemasLoaders {
  const byWindow = new Map<string, DataLoader<string, Showtime[]>>();
  return {
    cinemaById: new DataLoader((ids) => app.cinemas.cinemasByIds(ids)),
    hallById: new DataLoader((ids) => app.cinemas.hallsByIds(ids)),
    hallsByCinemaId: new DataLoader((ids) => app.cinemas.hallsByCinemaIds(ids)),
    seatsByHallId: new DataLoader((ids) => app.cinemas.seatsByHallIds(ids)),
    seatById: new DataLoader((ids) => app.cinemas.seatsByIds(ids)),
    reservedSeats: new DataLoader(async (ids) => {
      const reserved = await app.seats.liveReservations(ids);
      return ids.map((id) => reserved.get(id)!);
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
      const key = JSON.stringify([window.from, window.to, window.city, window.limit]);
      let loader = byWindow.get(key);
      if (!loader) {
        loader = new DataLoader((ids) => app.showtimes.byMovieIds(ids, window));
        byWindow.set(key, loader);
      }
      return loader;
    },
  };
}

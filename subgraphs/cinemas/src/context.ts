import type { RequestContext, SubgraphDeps } from '../../../runtime/subgraph-definition';
import { CinemaAdminService } from './cinema/cinema-admin.service';
import { CinemaService } from './cinema/cinema.service';
import { MemorySeatHoldStore } from './seat/hold/memory-seat-hold.store';
import { PostgresSeatVersionLedger } from './seat/hold/postgres-seat-version.ledger';
import { RedisSeatHoldStore } from './seat/hold/redis-seat-hold.store';
import type { SeatHoldStore } from './seat/hold/seat-hold.store';
import { SeatService } from './seat/seat.service';
import { seatChannel, seatTopic } from './seat/seat-topic';
import { RESERVATION_GRACE_MS, ReservationService } from './reservation/reservation.service';
import { reservationRecords } from './seat/reservation-records';
import { SeatFactsCache } from './seat/seat-facts.cache';
import { OutboxRelay } from '../../../runtime/events/outbox';
import { MovieCatalog } from './showtime/movie-catalog';
import { ShowtimeAdminService } from './showtime/showtime-admin.service';
import { ShowtimeService } from './showtime/showtime.service';
import type { CinemasApp, CinemasContext } from './context.types';
import { createLoaders, sharedReads } from './loaders';
import { MAX_SEATS_PER_HOLDER } from './seat/seat-rules';

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
    // Sold seats and PENDING bookings come from the table once per showtime, then the store
    // refuses them itself: a hold reads no table.
    records: reservationRecords(dataSource, RESERVATION_GRACE_MS),
  };
  if (redis) {
    return new RedisSeatHoldStore({
      ...rules,
      redis,
      keyPrefix: config.redis.keyPrefix,
      channel: (showtimeId) => seatChannel(config.redis.keyPrefix, showtimeId),
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
    new SeatFactsCache(dataSource),
  );
  const cinemas = new CinemaService(dataSource);
  const showtimes = new ShowtimeService(dataSource);
  return {
    holds,
    seats,
    reservations: new ReservationService({
      dataSource,
      store: holds,
      holderTag: (userId) => seats.holderTag(userId),
      log,
    }),
    cinemas,
    showtimes,
    cinemaAdmin: new CinemaAdminService(dataSource, () => relay.notify()),
    showtimeAdmin: new ShowtimeAdminService(
      dataSource,
      new MovieCatalog(dataSource, config),
      () => relay.notify(),
      (showtime) => seats.showtimeCancelled({ id: showtime.id, endsAt: showtime.endsAt.getTime() }),
    ),
    relay,
    reads: sharedReads({ cinemas, showtimes, seats }),
  };
}

export function createCinemasContext(base: RequestContext, app: CinemasApp): CinemasContext {
  return { ...base, app, loaders: createLoaders(app) };
}

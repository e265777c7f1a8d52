import type { SubgraphDefinition } from '../../../runtime/subgraph-definition';
import { Cinema, Hall, Seat } from './cinema/cinema.entity';
import { CinemaAdminResolver } from './cinema/cinema-admin.resolver';
import { CinemaResolver, HallResolver } from './cinema/cinema.resolver';
import { createCinemasApp, createCinemasContext } from './context';
import type { CinemasApp, CinemasContext } from './context.types';
import { CreateCinemas1732500000000 } from './migrations/1732500000000-create-cinemas';
import { Showtime } from './showtime/showtime.entity';
import { MovieShowtimesResolver, ShowtimeResolver } from './showtime/showtime.resolver';
import { ShowtimeAdminResolver } from './showtime/showtime-admin.resolver';
import { ScheduleIntegrity1732700000000 } from './migrations/1732700000000-schedule-integrity';
import { MovieRuntimes1732700000001 } from './migrations/1732700000001-movie-runtimes';
import { startMovieRuntimesProjection } from './showtime/movie-catalog';
import { SeatReservations1732800000000 } from './migrations/1732800000000-seat-reservations';
import { SeatMapVersions1733000000300 } from './migrations/1733000000300-seat-map-versions';
import { EventRetention1733100000000 } from './migrations/1733100000000-event-retention';
import { DeadLetterRetention1733500000000 } from '../../../runtime/events/migrations';
import { PendingReservations1733200000000 } from './migrations/1733200000000-pending-reservations';
import { startSeatReservationsProjection } from './reservation/booking-events.projection';
import { mountReservationRoutes } from './reservation/reservation.route';
import { eventConsumerName } from '../../../runtime/events/consumer-name';
import {
  DEAD_LETTERS_RETENTION,
  OUTBOX_RETENTION,
  PROCESSED_EVENTS_RETENTION,
  startEventRetention,
} from '../../../runtime/events/retention';
import { startSweeper } from './seat/hold/seat-hold.sweeper';
import { startShowtimeClosures } from './seat/showtime-closures';
import {
  SeatHoldResolver,
  SeatUpdateResolver,
  ShowtimeSeatMapResolver,
} from './seat/seat.resolver';

/**
 * How often the seat-reservation upkeep runs: PENDING reservations past their expiry plus
 * the grace are released (and broadcast within about a second), and seat changes a crash or
 * an outage kept from seat maps are announced. Two cheap indexed queries.
 */
const RESERVATION_UPKEEP_INTERVAL_MS = 1000;

/**
 * The cinemas subgraph: cinemas, halls and their seats, showtimes, prices, seat holds and
 * the seat reservations of bookings.
 */
export const cinemasSubgraph: SubgraphDefinition<CinemasContext, CinemasApp> = {
  name: 'cinemas',
  schema: {
    resolvers: [
      CinemaResolver,
      HallResolver,
      ShowtimeResolver,
      MovieShowtimesResolver,
      CinemaAdminResolver,
      ShowtimeAdminResolver,
      ShowtimeSeatMapResolver,
      SeatUpdateResolver,
      SeatHoldResolver,
    ],
    references: {
      Showtime: (ref, ctx) => ctx.loaders.showtimeById.load(String(ref.id)),
      Movie: (ref) => ({ id: String(ref.id) }),
    },
  },
  entities: [Cinema, Hall, Seat, Showtime],
  migrations: [
    CreateCinemas1732500000000,
    ScheduleIntegrity1732700000000,
    MovieRuntimes1732700000001,
    SeatReservations1732800000000,
    SeatMapVersions1733000000300,
    EventRetention1733100000000,
    PendingReservations1733200000000,
    DeadLetterRetention1733500000000,
  ],
  createApp: createCinemasApp,
  createContext: createCinemasContext,
  mountInternalRoutes: mountReservationRoutes,
  startWorkers: (app, { dataSource, events, log, config }) => {
    app.relay.start();
    const sweeper = startSweeper(app.holds, { log });
    const reservationUpkeep = startSweeper(
      {
        sweep: async () =>
          (await app.reservations.expireOverdue()) + (await app.reservations.announceOverdue()),
      },
      { log, intervalMs: RESERVATION_UPKEEP_INTERVAL_MS, label: 'seat-reservation upkeep' },
    );
    const consumer = eventConsumerName('cinemas');
    return [
      () => sweeper.stop(),
      // Before the hold store closes: a run in flight still publishes through it.
      () => reservationUpkeep.stop(),
      startSeatReservationsProjection(dataSource, events, consumer, app.reservations, log),
      startShowtimeClosures(dataSource, events, consumer, app.seats, log),
      () => app.holds.close(),
      () => app.relay.stop(),
      startMovieRuntimesProjection(dataSource, events, consumer, log),
      startEventRetention({
        dataSource,
        log,
        retentionHours: config.events.retentionHours,
        targets: [OUTBOX_RETENTION, PROCESSED_EVENTS_RETENTION, DEAD_LETTERS_RETENTION],
      }),
    ];
  },
};

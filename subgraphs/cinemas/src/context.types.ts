// The cinemas subgraph's context and services as types only: resolvers and routes import
// these, never the wiring (`context.ts`), which imports every service and store.
import type DataLoader from 'dataloader';
import type { RequestContext } from '../../../runtime/subgraph-definition';
import type { OutboxRelay } from '../../../runtime/events/outbox';
import type { Cinema, Hall, Seat } from './cinema/cinema.entity';
import type { CinemaAdminService } from './cinema/cinema-admin.service';
import type { CinemaService } from './cinema/cinema.service';
import type { ReservationService } from './reservation/reservation.service';
import type { SeatHoldStore } from './seat/hold/seat-hold.store';
import type { SeatService, ShowtimeReservations } from './seat/seat.service';
import type { ShowtimeAdminService } from './showtime/showtime-admin.service';
import type { Showtime } from './showtime/showtime.entity';
import type { ShowtimeService, ShowtimeWindow } from './showtime/showtime.service';

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
  /** The process-wide reads every request's loaders go through (`loaders.ts`). */
  readonly reads: SharedReads;
}

/**
 * Reads shared by every request of one turn of the event loop (`sharedReads`): the
 * showtimes, halls, cinemas, live reservations and hold snapshots that the requests of that
 * turn ask for, one query (or script) each.
 */
export interface SharedReads {
  readonly showtimes: DataLoader<string, Showtime | null>;
  readonly halls: DataLoader<string, Hall | null>;
  readonly cinemas: DataLoader<string, Cinema | null>;
  readonly reservations: DataLoader<string, ShowtimeReservations>;
  readonly snapshots: DataLoader<string, { version: number; holds: Map<string, string> }>;
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

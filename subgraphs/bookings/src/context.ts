import DataLoader from 'dataloader';
import { OutboxRelay } from '../../../runtime/events/outbox';
import type { RequestContext, SubgraphDeps } from '../../../runtime/subgraph-server';
import { createBookingEngine, type BookingEngine } from './booking-engine';
import type { BookingTransition } from './booking/booking-transition.entity';
import type { Booking } from './booking/booking.entity';
import type { BookingConcession, Concession } from './concession/concession.entity';
import type { LoyaltyAccount } from './loyalty/loyalty.entity';
import type { Refund } from './refund/refund.entity';
import type { Ticket } from './ticket/ticket.entity';

export interface BookingsApp extends BookingEngine {
  /** Publishes the outbox (booking events) to the event transport. */
  readonly relay: OutboxRelay;
}

export interface BookingsLoaders {
  readonly bookingById: DataLoader<string, Booking | null>;
  readonly loyaltyByUserId: DataLoader<string, LoyaltyAccount>;
  readonly ticketsByBookingId: DataLoader<string, Ticket[]>;
  readonly concessionLinesByBookingId: DataLoader<string, BookingConcession[]>;
  readonly concessionById: DataLoader<string, Concession | null>;
  readonly transitionsByBookingId: DataLoader<string, BookingTransition[]>;
  readonly refundByBookingId: DataLoader<string, Refund | null>;
}

export interface BookingsContext extends RequestContext {
  readonly app: BookingsApp;
  readonly loaders: BookingsLoaders;
  /**
   * The client's `Idempotency-Key` header, which the gateway forwards; the runtime puts it in
   * the request context (null when absent).
   */
  readonly idempotencyKey: string | null;
}

export function createBookingsApp({ dataSource, events, log, config }: SubgraphDeps): BookingsApp {
  const relay = new OutboxRelay({ dataSource, transport: events, log });
  const engine = createBookingEngine({ dataSource, config, notify: () => relay.notify(), log });
  return { ...engine, relay };
}

export function createBookingsContext(base: RequestContext, app: BookingsApp): BookingsContext {
  const key = (base as RequestContext & { idempotencyKey?: string | null }).idempotencyKey;
  return {
    ...base,
    app,
    idempotencyKey: key ?? null,
    loaders: {
      bookingById: new DataLoader((ids) => app.bookings.byIds(ids)),
      loyaltyByUserId: new DataLoader((ids) => app.loyalty.accountsFor(ids)),
      ticketsByBookingId: new DataLoader((ids) => app.tickets.ofBookings(ids)),
      concessionLinesByBookingId: new DataLoader((ids) => app.concessions.linesOf(ids)),
      concessionById: new DataLoader((ids) => app.concessions.byIds(ids)),
      transitionsByBookingId: new DataLoader((ids) => app.bookings.transitionsOf(ids)),
      refundByBookingId: new DataLoader((ids) => app.bookings.refundsOf(ids)),
    },
  };
}

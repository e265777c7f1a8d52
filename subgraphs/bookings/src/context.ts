import DataLoader from 'dataloader';
import { OutboxRelay } from '../../../runtime/events/outbox';
import type { RequestContext, SubgraphDeps } from '../../../runtime/subgraph-definition';
import { createBookingEngine } from './booking-engine';
import type { BookingsApp, BookingsContext } from './context.types';

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

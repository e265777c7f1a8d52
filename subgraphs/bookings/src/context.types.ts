// The bookings subgraph's context and services as types only: resolvers and routes import
// these, never the wiring (`context.ts`).
import type DataLoader from 'dataloader';
import type { OutboxRelay } from '../../../runtime/events/outbox';
import type { RequestContext } from '../../../runtime/subgraph-definition';
import type { BookingEngine } from './booking-engine';
import type { BookingTransition } from './booking/booking-transition.entity';
import type { Booking } from './booking/booking.entity';
import type { BookingConcession, Concession } from './concession/concession.entity';
import type { LoyaltyAccount } from './loyalty/loyalty.entity';
import type { Payment } from './payment/payment.entity';
import type { Refund } from './refund/refund.entity';
import type { Ticket } from './ticket/ticket.entity';

export interface BookingsApp extends BookingEngine {
  /** Publishes the outbox (booking events) to the event transport. */
  readonly relay: OutboxRelay;
  /** Starts sending the mail outbox (a worker); returns how to stop it. */
  startMail(): () => Promise<void>;
  /** Asks the mail worker for a pass now (after a commit that wrote mail). */
  notifyMail(): void;
  /** Where mail goes: the SMTP server, or the mailbox folder. */
  readonly mailDestination: string;
}

export interface BookingsLoaders {
  readonly bookingById: DataLoader<string, Booking | null>;
  readonly loyaltyByUserId: DataLoader<string, LoyaltyAccount>;
  readonly ticketsByBookingId: DataLoader<string, Ticket[]>;
  readonly concessionLinesByBookingId: DataLoader<string, BookingConcession[]>;
  readonly concessionById: DataLoader<string, Concession | null>;
  readonly transitionsByBookingId: DataLoader<string, BookingTransition[]>;
  readonly refundByBookingId: DataLoader<string, Refund | null>;
  readonly paymentByBookingId: DataLoader<string, Payment | null>;
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

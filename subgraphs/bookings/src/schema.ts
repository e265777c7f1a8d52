import {
  DEAD_LETTERS_RETENTION,
  OUTBOX_RETENTION,
  startEventRetention,
  type RetentionTarget,
} from '../../../runtime/events/retention';
import type { SubgraphDefinition } from '../../../runtime/subgraph-definition';
import { eventConsumerName } from '../../../runtime/events/consumer-name';
import { BookingTransition } from './booking/booking-transition.entity';
import { startShowtimeCancellations } from './booking/showtime-cancellations';
import { sampleOutboxes } from './bookings-metrics';
import { Booking } from './booking/booking.entity';
import { BookingResolver, canReadBooking, UserBookingsResolver } from './booking/booking.resolver';
import { BookingConcession, Concession } from './concession/concession.entity';
import { BookingConcessionResolver, ConcessionResolver } from './concession/concession.resolver';
import { createBookingsApp, createBookingsContext } from './context';
import type { BookingsApp, BookingsContext } from './context.types';
import { IDEMPOTENCY_TTL_HOURS } from './idempotency/idempotency.service';
import { startBookingJobs } from './jobs/booking.jobs';
import { LoyaltyAccount, LoyaltyTransaction } from './loyalty/loyalty.entity';
import { LoyaltyAccountResolver } from './loyalty/loyalty.resolver';
import { CreateBookings1732500000000 } from './migrations/1732500000000-create-bookings';
import { CreateLoyalty1732600000000 } from './migrations/1732600000000-create-loyalty';
import { MillisecondTimestamps1732900000000 } from './migrations/1732900000000-millisecond-timestamps';
import { BookingEngine1733200000000 } from './migrations/1733200000000-booking-engine';
import { BookingOutbox1733200000001 } from './migrations/1733200000001-booking-outbox';
import { Payments1733300000000 } from './migrations/1733300000000-payments';
import { MailOutbox1733300000001 } from './migrations/1733300000001-mail-outbox';
import { RefundInDoubt1733400000000 } from './migrations/1733400000000-refund-in-doubt';
import { ShowtimeCancellations1733500000000 } from './migrations/1733500000000-showtime-cancellations';
import { Payment } from './payment/payment.entity';
import { PaymentResolver } from './payment/payment.resolver';
import { mountPaymentRoutes } from './payment/payment.route';
import { Promotion } from './promotion/promotion.entity';
import { PromotionResolver } from './promotion/promotion.resolver';
import { Refund } from './refund/refund.entity';
import { ShowtimeSalesResolver } from './sales/showtime-sales.resolver';
import { Ticket } from './ticket/ticket.entity';
import { TicketResolver } from './ticket/ticket.resolver';

/** Idempotency keys answer for 24 hours; then they are pruned like published events. */
const IDEMPOTENCY_RETENTION: RetentionTarget = { table: 'idempotency_keys', column: 'created_at' };

/**
 * The bookings subgraph: bookings and their state machine, tickets, promotions, concessions,
 * loyalty, payments (VNPay) and refunds, email; the booking events for cinemas (outbox); the
 * expiry, completion, refund and reconciliation jobs.
 */
export const bookingsSubgraph: SubgraphDefinition<BookingsContext, BookingsApp> = {
  name: 'bookings',
  schema: {
    resolvers: [
      BookingResolver,
      UserBookingsResolver,
      TicketResolver,
      ConcessionResolver,
      BookingConcessionResolver,
      PromotionResolver,
      LoyaltyAccountResolver,
      ShowtimeSalesResolver,
      PaymentResolver,
    ],
    references: {
      // Someone else's booking resolves to null, as an unknown id does.
      Booking: async (ref, ctx) => {
        const booking = await ctx.loaders.bookingById.load(String(ref.id));
        return booking && canReadBooking(ctx, booking.userId) ? booking : null;
      },
      User: (ref) => ({ id: String(ref.id) }),
    },
  },
  entities: [
    Booking,
    BookingTransition,
    Ticket,
    Concession,
    BookingConcession,
    Promotion,
    Refund,
    Payment,
    LoyaltyAccount,
    LoyaltyTransaction,
  ],
  migrations: [
    CreateBookings1732500000000,
    CreateLoyalty1732600000000,
    MillisecondTimestamps1732900000000,
    BookingEngine1733200000000,
    BookingOutbox1733200000001,
    Payments1733300000000,
    MailOutbox1733300000001,
    RefundInDoubt1733400000000,
    ShowtimeCancellations1733500000000,
  ],
  createApp: createBookingsApp,
  createContext: createBookingsContext,
  mountInternalRoutes: mountPaymentRoutes,
  startWorkers: (app, { dataSource, events, log, config }) => {
    app.relay.start();
    log.info({ mail: app.mailDestination }, 'mail goes to the ' + app.mailDestination);
    return [
      startBookingJobs(app.lifecycle, log, undefined, undefined, [
        { name: 'send-refunds', intervalMs: 2_000, pass: () => app.refunds.processDue() },
        // What a cancelled showtime's event did not cancel at once (showtime-cancellations.ts).
        {
          name: 'settle-cancelled-showtimes',
          intervalMs: 30_000,
          pass: () => app.lifecycle.settleCancelledShowtimes(),
        },
        { name: 'reconcile-payments', intervalMs: 30_000, pass: () => app.payments.reconcile() },
        // Refunds whose answer from VNPay was lost: settled by querydr, never sent twice.
        { name: 'reconcile-refunds', intervalMs: 30_000, pass: () => app.refunds.reconcile() },
      ]),
      app.startMail(),
      startShowtimeCancellations(
        dataSource,
        events,
        eventConsumerName('bookings'),
        app.lifecycle,
        log,
      ),
      sampleOutboxes(dataSource),
      () => app.relay.stop(),
      startEventRetention({
        dataSource,
        log,
        retentionHours: config.events.retentionHours,
        targets: [OUTBOX_RETENTION, DEAD_LETTERS_RETENTION],
      }),
      startEventRetention({
        dataSource,
        log,
        retentionHours: IDEMPOTENCY_TTL_HOURS,
        targets: [IDEMPOTENCY_RETENTION],
      }),
    ];
  },
};

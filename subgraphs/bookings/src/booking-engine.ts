import type { DataSource } from 'typeorm';
import type { AppConfig } from '../../../runtime/config';
import { deriveKey } from '../../../runtime/identity';
import type { Logger } from '../../../runtime/logger';
import { BookingCreation } from './booking/booking-creation.service';
import { BookingLifecycle, type Clock } from './booking/booking-lifecycle.service';
import { BookingService } from './booking/booking.service';
import { HttpCinemasClient, type CinemasClient } from './cinemas/cinemas.client';
import { ConcessionService } from './concession/concession.service';
import { IdempotencyService } from './idempotency/idempotency.service';
import { LoyaltyService } from './loyalty/loyalty.service';
import { PaymentService, type VnpayQueries } from './payment/payment.service';
import { RefundService, type VnpayRefunds } from './payment/refund.service';
import { VnpayApi } from './payment/vnpay/vnpay-protocol';
import { PromotionService } from './promotion/promotion.service';
import { ShowtimeSalesService } from './sales/showtime-sales.service';
import { TicketService } from './ticket/ticket.service';

/** The booking engine's services, over one database. */
export interface BookingEngine {
  readonly bookings: BookingService;
  readonly creation: BookingCreation;
  /** Confirmation (for the payment flow), cancellation and the jobs' passes. */
  readonly lifecycle: BookingLifecycle;
  readonly tickets: TicketService;
  readonly promotions: PromotionService;
  readonly concessions: ConcessionService;
  readonly loyalty: LoyaltyService;
  readonly sales: ShowtimeSalesService;
  readonly idempotency: IdempotencyService;
  /** StartPayment, the IPN, the return URL, reconciliation (querydr). */
  readonly payments: PaymentService;
  /** The refunds job: refunds paid back through VNPay's refund API. */
  readonly refunds: RefundService;
  readonly clock: Clock;
}

export interface BookingEngineOptions {
  dataSource: DataSource;
  config: Pick<AppConfig, 'internalSecret' | 'bookingPendingTtlSeconds' | 'subgraphUrls' | 'vnpay'>;
  /** Default: the cinemas subgraph at `config.subgraphUrls.cinemas`. */
  cinemas?: CinemasClient;
  /** VNPay's API (refund, querydr). Default: `config.vnpay.apiUrl`. */
  vnpayApi?: VnpayQueries & VnpayRefunds;
  /** Called after a commit that wrote mail (the mail worker's `notify`). */
  notifyMail?: () => void;
  /** Default: the real time. Tests pass a clock they move. */
  clock?: Clock;
  /** Called after a commit that wrote events (the outbox relay's `notify`). */
  notify?: () => void;
  log?: Logger;
}

/**
 * Builds the engine: the subgraph builds one per process; tests, benchmarks and the demo
 * data build their own over the same database (with their own clock, say) to call what no
 * resolver exposes (the internal confirmation, the jobs' passes).
 */
export function createBookingEngine(options: BookingEngineOptions): BookingEngine {
  const { dataSource, config, log } = options;
  const clock = options.clock ?? (() => new Date());
  const notify = options.notify ?? (() => {});
  const cinemas =
    options.cinemas ?? new HttpCinemasClient(config.subgraphUrls.cinemas, config.internalSecret);
  const tickets = new TicketService(dataSource, deriveKey(config.internalSecret, 'ticket'));
  const promotions = new PromotionService(dataSource);
  const concessions = new ConcessionService(dataSource);
  const loyalty = new LoyaltyService(dataSource);
  const vnpayApi =
    options.vnpayApi ??
    new VnpayApi({
      apiUrl: config.vnpay.apiUrl,
      tmnCode: config.vnpay.tmnCode,
      hashSecret: config.vnpay.hashSecret,
    });
  const notifyMail = options.notifyMail ?? (() => {});
  const shared = {
    dataSource,
    cinemas,
    tickets,
    promotions,
    concessions,
    loyalty,
    clock,
    notify,
    log,
  };
  const lifecycle = new BookingLifecycle(shared);
  return {
    bookings: new BookingService(dataSource),
    creation: new BookingCreation({
      ...shared,
      pendingTtlSeconds: config.bookingPendingTtlSeconds,
    }),
    lifecycle,
    tickets,
    promotions,
    concessions,
    loyalty,
    sales: new ShowtimeSalesService(dataSource, cinemas),
    idempotency: new IdempotencyService(dataSource, clock),
    payments: new PaymentService({
      dataSource,
      lifecycle,
      vnpay: config.vnpay,
      api: vnpayApi,
      clock,
      log,
      wake: notifyMail,
    }),
    refunds: new RefundService({
      dataSource,
      vnpay: vnpayApi,
      serverIp: config.vnpay.serverIp,
      clock,
      log,
      notifyMail,
    }),
    clock,
  };
}

import DataLoader from 'dataloader';
import { OutboxRelay } from '../../../runtime/events/outbox';
import type { RequestContext, SubgraphDeps } from '../../../runtime/subgraph-definition';
import { createBookingEngine } from './booking-engine';
import type { BookingsApp, BookingsContext } from './context.types';
import { createMailTransport } from './mail/mail-transport';
import { startMailWorker, type MailWorker } from './mail/mail.worker';
import { HttpUsersClient } from './users/users.client';

export function createBookingsApp({ dataSource, events, log, config }: SubgraphDeps): BookingsApp {
  const relay = new OutboxRelay({ dataSource, transport: events, log });
  const mail = createMailTransport({ smtpUrl: config.mail.smtpUrl, mailDir: config.mail.dir });
  let worker: MailWorker | undefined;
  const notifyMail = () => worker?.notify();
  const engine = createBookingEngine({
    dataSource,
    config,
    notify: () => relay.notify(),
    notifyMail,
    log,
  });
  return {
    ...engine,
    relay,
    notifyMail,
    mailDestination: mail.describe,
    startMail: () => {
      const started = startMailWorker({
        dataSource,
        transport: mail.transport,
        users: new HttpUsersClient(config.subgraphUrls.users, config.internalSecret),
        tickets: engine.tickets,
        from: config.mail.from,
        frontendUrl: config.frontendUrl,
        log,
      });
      worker = started;
      return async () => {
        worker = undefined;
        await started.stop();
        mail.transport.close();
      };
    },
  };
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
      paymentByBookingId: new DataLoader((ids) => app.payments.latestOf(ids)),
    },
  };
}

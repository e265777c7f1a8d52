import type { DataSource } from 'typeorm';
import { serviceMetrics } from '../../../runtime/metrics';

/**
 * The bookings subgraph's own metrics (its `/metrics`). Changes are counted once their
 * transaction committed, where the code that committed it learns what it did: a change
 * rolled back is never counted.
 */
const metrics = serviceMetrics('bookings');

const bookingChanges = metrics.counter(
  'moviehub_bookings_total',
  'Booking changes, counted once committed: created (PENDING), confirmed (paid, on time or late), cancelled, expired (not paid in time), completed (showtime over)',
  ['event'],
);
export const bookingsCounter = {
  created: bookingChanges.bind('created'),
  confirmed: bookingChanges.bind('confirmed'),
  cancelled: bookingChanges.bind('cancelled'),
  expired: bookingChanges.bind('expired'),
  completed: bookingChanges.bind('completed'),
};

const paymentChanges = metrics.counter(
  'moviehub_payments_total',
  'Payment attempts, counted once committed: started (a pay URL made), completed (paid), failed (VNPay declined), expired (never paid: found by reconciliation)',
  ['event'],
);
export const paymentsCounter = {
  started: paymentChanges.bind('started'),
  completed: paymentChanges.bind('completed'),
  failed: paymentChanges.bind('failed'),
  expired: paymentChanges.bind('expired'),
};

const ipnAnswers = metrics.counter(
  'moviehub_payment_ipn_total',
  'VNPay payment notifications, by the answer given: 00 processed, 01 unknown order, 02 already settled, 04 wrong amount, 97 bad signature, 99 error (VNPay retries)',
  ['code'],
);
/** Counts one IPN by its answer (a fixed set of codes). */
export function countIpn<A extends { readonly RspCode: string }>(answer: A): A {
  ipnAnswers.bind(answer.RspCode).inc();
  return answer;
}

const pending = metrics.sampled(
  'moviehub_outbox_pending',
  'Rows of an outbox not sent yet: events not yet published to the stream, emails not yet sent (retries included)',
  ['outbox'],
);
const oldest = metrics.sampled(
  'moviehub_outbox_oldest_pending_seconds',
  'Age of the oldest row of an outbox not sent yet (0: none): how far publishing or mail lags',
  ['outbox'],
);

/** Both outboxes in one round trip: what waits, and since when (the database's clock). */
const BACKLOG_SQL = `
  SELECT
    (SELECT count(*) FROM outbox WHERE published_at IS NULL)::int AS events,
    (SELECT coalesce(extract(epoch FROM now() - min(occurred_at)), 0)
       FROM outbox WHERE published_at IS NULL)::float8 AS events_age,
    (SELECT count(*) FROM mail_outbox WHERE status = 'PENDING')::int AS mail,
    (SELECT coalesce(extract(epoch FROM now() - min(created_at)), 0)
       FROM mail_outbox WHERE status = 'PENDING')::float8 AS mail_age`;

interface Backlog {
  events: number;
  events_age: number;
  mail: number;
  mail_age: number;
}

/**
 * Reads the backlog of the event outbox (published by the relay) and of the mail outbox (sent
 * by the mail worker) at every scrape, from this instance's database; returns how to stop.
 */
export function sampleOutboxes(dataSource: DataSource): () => Promise<void> {
  // Both gauges are read in the same scrape: they share one query.
  let reading: Promise<Backlog> | undefined;
  const read = () =>
    (reading ??= dataSource
      .query<Backlog[]>(BACKLOG_SQL)
      .then(([backlog]) => backlog)
      .finally(() => (reading = undefined)));
  const removePending = pending.add(async () => {
    const backlog = await read();
    return [
      { labels: { outbox: 'events' }, value: backlog.events },
      { labels: { outbox: 'mail' }, value: backlog.mail },
    ];
  });
  const removeOldest = oldest.add(async () => {
    const backlog = await read();
    return [
      { labels: { outbox: 'events' }, value: backlog.events_age },
      { labels: { outbox: 'mail' }, value: backlog.mail_age },
    ];
  });
  return () => {
    removePending();
    removeOldest();
    return Promise.resolve();
  };
}

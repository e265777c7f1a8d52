import type { MigrationInterface, QueryRunner } from 'typeorm';
import {
  createConsumerTables,
  createDeadLettersRetentionIndex,
  dropConsumerTables,
} from '../../../../runtime/events/migrations';

const REFUND_KINDS = ['POLICY', 'LATE_PAYMENT', 'DUPLICATE_PAYMENT'];
const MAIL_KINDS = [
  'booking-confirmed',
  'booking-cancelled',
  'refund-completed',
  'late-payment-refunded',
  'duplicate-payment-refunded',
];

const list = (values: string[]) => values.map((v) => `'${v}'`).join(', ');

/**
 * Bookings follow the showtimes cinemas cancels (`booking/showtime-cancellations.ts`): the
 * consumer tables (`dead_letters` keeps a cancellation it could not record), the showtimes
 * cancelled, the refund kind SHOWTIME_CANCELLED (all of it back) and the `showtime-cancelled`
 * email.
 */
export class ShowtimeCancellations1733500000000 implements MigrationInterface {
  name = 'ShowtimeCancellations1733500000000';

  async up(q: QueryRunner): Promise<void> {
    await createConsumerTables(q);
    await createDeadLettersRetentionIndex(q);
    // The showtimes cinemas cancelled, as their events said: their bookings are cancelled
    // and never completed.
    await q.query(`
      CREATE TABLE cancelled_showtimes (
        showtime_id uuid PRIMARY KEY,
        -- When cinemas cancelled it (its event's time): a customer's own cancellation after
        -- this gets the rest of the amount paid too.
        cancelled_at timestamptz(3) NOT NULL,
        recorded_at timestamptz NOT NULL DEFAULT now()
      )`);
    await q.query(`
      ALTER TABLE refunds DROP CONSTRAINT refunds_kind_check,
        ADD CONSTRAINT refunds_kind_check CHECK (kind IN (${list([...REFUND_KINDS, 'SHOWTIME_CANCELLED'])}))`);
    await q.query(`
      ALTER TABLE mail_outbox DROP CONSTRAINT mail_outbox_kind_check,
        ADD CONSTRAINT mail_outbox_kind_check CHECK (kind IN (${list([...MAIL_KINDS, 'showtime-cancelled'])}))`);
  }

  /** The old checks hold for new rows only: refunds and emails already made stay. */
  async down(q: QueryRunner): Promise<void> {
    await q.query(`
      ALTER TABLE mail_outbox DROP CONSTRAINT mail_outbox_kind_check,
        ADD CONSTRAINT mail_outbox_kind_check CHECK (kind IN (${list(MAIL_KINDS)})) NOT VALID`);
    await q.query(`
      ALTER TABLE refunds DROP CONSTRAINT refunds_kind_check,
        ADD CONSTRAINT refunds_kind_check CHECK (kind IN (${list(REFUND_KINDS)})) NOT VALID`);
    await q.query('DROP TABLE cancelled_showtimes');
    await dropConsumerTables(q);
  }
}

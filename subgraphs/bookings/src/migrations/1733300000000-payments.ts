import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Payments (one row per VNPay attempt) and refunds that are paid back through VNPay's refund
 * API.
 *
 * - `payments.txn_ref` is unique: VNPay identifies an attempt by it, and the IPN finds the
 *   payment by it alone.
 * - A refund belongs to a payment (the money to give back) and has a kind: POLICY (a
 *   cancellation by the refund policy: at most one per booking), LATE_PAYMENT (the payment came
 *   after the booking expired and its seats were gone) or DUPLICATE_PAYMENT (a second attempt
 *   paid for a booking already paid): at most one per payment and kind. The refunds job sends
 *   PENDING ones, retrying with backoff; VNPay's answer is kept on the row.
 */
export class Payments1733300000000 implements MigrationInterface {
  name = 'Payments1733300000000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`
      CREATE TABLE payments (
        id uuid PRIMARY KEY,
        booking_id uuid NOT NULL REFERENCES bookings (id),
        user_id text NOT NULL,
        method text NOT NULL CHECK (method IN ('VNPAY')),
        txn_ref text NOT NULL UNIQUE,
        amount int NOT NULL CHECK (amount >= 0),
        status text NOT NULL CHECK (status IN ('PENDING', 'COMPLETED', 'FAILED', 'EXPIRED')),
        outcome text CHECK (outcome IN
          ('CONFIRMED', 'LATE_CONFIRMED', 'REFUNDED_LATE', 'REFUNDED_DUPLICATE', 'BOOKING_CANCELLED')),
        payment_url text NOT NULL,
        ip_addr text NOT NULL,
        expires_at timestamptz(3) NOT NULL,
        created_at timestamptz(3) NOT NULL,
        paid_at timestamptz(3),
        settled_at timestamptz(3),
        settled_by text CHECK (settled_by IN ('IPN', 'QUERYDR')),
        vnp_transaction_no text,
        vnp_response_code text,
        vnp_transaction_status text,
        vnp_bank_code text,
        vnp_pay_date text,
        query_attempts int NOT NULL DEFAULT 0,
        next_query_at timestamptz(3)
      )`);
    await q.query('CREATE INDEX payments_booking_idx ON payments (booking_id, created_at)');
    await q.query(
      `CREATE INDEX payments_unsettled_idx ON payments (next_query_at) WHERE status = 'PENDING'`,
    );

    await q.query('ALTER TABLE refunds DROP CONSTRAINT refunds_booking_id_key');
    await q.query(`
      ALTER TABLE refunds
        ADD COLUMN payment_id uuid REFERENCES payments (id),
        ADD COLUMN kind text NOT NULL DEFAULT 'POLICY'
          CHECK (kind IN ('POLICY', 'LATE_PAYMENT', 'DUPLICATE_PAYMENT')),
        ADD COLUMN transaction_type text CHECK (transaction_type IN ('02', '03')),
        ADD COLUMN request_id text UNIQUE,
        ADD COLUMN attempts int NOT NULL DEFAULT 0,
        ADD COLUMN next_attempt_at timestamptz(3),
        ADD COLUMN last_error text,
        ADD COLUMN vnp_response_code text,
        ADD COLUMN vnp_message text,
        ADD COLUMN vnp_transaction_no text`);
    await q.query(
      `CREATE UNIQUE INDEX refunds_policy_once ON refunds (booking_id) WHERE kind = 'POLICY'`,
    );
    await q.query(
      `CREATE UNIQUE INDEX refunds_payment_kind_once ON refunds (payment_id, kind)
        WHERE payment_id IS NOT NULL`,
    );
    await q.query(
      `CREATE INDEX refunds_due_idx ON refunds (next_attempt_at) WHERE status = 'PENDING'`,
    );
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query('DROP INDEX refunds_due_idx');
    await q.query('DROP INDEX refunds_payment_kind_once');
    await q.query('DROP INDEX refunds_policy_once');
    await q.query(`
      ALTER TABLE refunds
        DROP COLUMN payment_id, DROP COLUMN kind, DROP COLUMN transaction_type,
        DROP COLUMN request_id, DROP COLUMN attempts, DROP COLUMN next_attempt_at,
        DROP COLUMN last_error, DROP COLUMN vnp_response_code, DROP COLUMN vnp_message,
        DROP COLUMN vnp_transaction_no`);
    await q.query('ALTER TABLE refunds ADD CONSTRAINT refunds_booking_id_key UNIQUE (booking_id)');
    await q.query('DROP TABLE payments');
  }
}

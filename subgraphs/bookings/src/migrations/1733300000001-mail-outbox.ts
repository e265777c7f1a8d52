import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * The mail outbox: one row per email to send, written in the transaction of the change that
 * causes it (mail/mail-outbox.ts), sent by the mail worker (mail/mail.worker.ts).
 *
 * `dedupe_key` is what makes an email happen once per cause whatever retries the caller
 * makes; `message_id` is fixed at insert so that a resend after a crash carries the same
 * Message-ID and the receiving side can recognise the duplicate.
 */
export class MailOutbox1733300000001 implements MigrationInterface {
  name = 'MailOutbox1733300000001';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`
      CREATE TABLE mail_outbox (
        id uuid PRIMARY KEY,
        kind text NOT NULL CHECK (kind IN ('booking-confirmed', 'booking-cancelled',
          'refund-completed', 'late-payment-refunded', 'duplicate-payment-refunded')),
        user_id text NOT NULL,
        booking_id uuid,
        refund_id uuid,
        dedupe_key text NOT NULL UNIQUE,
        status text NOT NULL DEFAULT 'PENDING'
          CHECK (status IN ('PENDING', 'SENT', 'SKIPPED', 'DEAD')),
        -- Sends started (counted when a worker claims the row).
        attempts int NOT NULL DEFAULT 0 CHECK (attempts >= 0),
        -- When a PENDING row is due; while a worker holds it, the end of its lease.
        next_attempt_at timestamptz NOT NULL DEFAULT now(),
        last_error text,
        message_id text NOT NULL UNIQUE,
        created_at timestamptz NOT NULL DEFAULT now(),
        sent_at timestamptz
      )`);
    // The worker's one question: which PENDING rows are due.
    await q.query('CREATE INDEX mail_outbox_due_idx ON mail_outbox (status, next_attempt_at)');
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query('DROP TABLE mail_outbox');
  }
}

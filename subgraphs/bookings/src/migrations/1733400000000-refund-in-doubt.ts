import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Refunds whose fate at VNPay is unknown (the refund call timed out, the connection reset, the
 * answer was unreadable, or VNPay answered "being processed" / "unknown error"). Such a refund
 * stays PENDING but is marked in doubt: the refunds job never sends it again; the refund
 * reconciliation asks VNPay (`querydr`) what became of it and only then completes it, fails
 * it, or, once VNPay shows no refund for a while, hands it back to the job to send again.
 *
 * - `in_doubt_since`: when the unanswered request went out (null: not in doubt). While it is
 *   set, `next_attempt_at` is when to ask VNPay next.
 * - `queries`: querydr calls made about it (each needs its own `vnp_RequestId`).
 */
export class RefundInDoubt1733400000000 implements MigrationInterface {
  name = 'RefundInDoubt1733400000000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`
      ALTER TABLE refunds
        ADD COLUMN in_doubt_since timestamptz(3),
        ADD COLUMN queries int NOT NULL DEFAULT 0,
        ADD CONSTRAINT refunds_in_doubt_pending CHECK (in_doubt_since IS NULL OR status <> 'FAILED')`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`
      ALTER TABLE refunds
        DROP CONSTRAINT refunds_in_doubt_pending,
        DROP COLUMN queries,
        DROP COLUMN in_doubt_since`);
  }
}

import { randomUUID } from 'node:crypto';
import type { EntityManager } from 'typeorm';

/** The emails the bookings subgraph sends (the migration's CHECK lists the same). */
export const MAIL_KINDS = [
  'booking-confirmed',
  'booking-cancelled',
  'refund-completed',
  /** The payment came after the booking expired and its seats were gone: all of it back. */
  'late-payment-refunded',
  /** A second payment for a booking already paid: all of it back. */
  'duplicate-payment-refunded',
  /** The cinema cancelled the showtime: the booking is cancelled, a paid one refunded whole. */
  'showtime-cancelled',
] as const;

export type MailKind = (typeof MAIL_KINDS)[number];

/** The kinds that tell about one refund in particular: they must name it. */
export const REFUND_REQUIRED: ReadonlySet<MailKind> = new Set<MailKind>([
  'refund-completed',
  'duplicate-payment-refunded',
]);

/** One email to send, as the change that causes it describes it. */
export interface MailRequest {
  kind: MailKind;
  /** Whom to write to; the address and language come from the users subgraph at send time. */
  userId: string;
  bookingId: string;
  /**
   * The refund the email tells about: required for `refund-completed` and
   * `duplicate-payment-refunded`; when a cancellation or a late payment names none, the
   * booking's refund of that kind (POLICY, LATE_PAYMENT) is told, if any.
   */
  refundId?: string | null;
  /**
   * One email per key, ever: a retried payment notification or cancellation enqueues the
   * same key again and nothing more is sent. E.g. `booking-confirmed:{bookingId}`.
   */
  dedupeKey: string;
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
const MAX_KEY_LENGTH = 200;

/** The Message-ID an outbox row's email carries, on every attempt. */
export const messageIdFor = (mailId: string): string => `<mail-${mailId}@moviehub>`;

/**
 * Records an email to send within the caller's transaction, so that it exists if and only if
 * the change that causes it commits; the mail worker sends it after the commit (call its
 * `notify()` then to send without waiting for its next poll). A second request with the
 * same `dedupeKey` is ignored (`ON CONFLICT DO NOTHING`, which leaves the transaction
 * usable).
 *
 * Throws unless `manager` is inside a transaction, since an email recorded on its own could
 * announce a change that then rolled back; throws on a malformed request (a programming
 * error: better to refuse than to abort the caller's transaction with an SQL error).
 */
export async function enqueueMail(manager: EntityManager, mail: MailRequest): Promise<void> {
  if (!manager.queryRunner?.isTransactionActive) {
    throw new Error('enqueueMail must run in the transaction that makes the change');
  }
  assertRequest(mail);
  const id = randomUUID();
  await manager.query(
    `INSERT INTO mail_outbox (id, kind, user_id, booking_id, refund_id, dedupe_key, message_id)
     VALUES ($1, $2, $3, $4, $5, $6, $7)
     ON CONFLICT (dedupe_key) DO NOTHING`,
    [
      id,
      mail.kind,
      mail.userId,
      mail.bookingId,
      mail.refundId ?? null,
      mail.dedupeKey,
      messageIdFor(id),
    ],
  );
}

function assertRequest(mail: MailRequest): void {
  if (!(MAIL_KINDS as readonly string[]).includes(mail.kind))
    throw new Error(`Unknown mail kind "${String(mail.kind)}"`);
  if (typeof mail.userId !== 'string' || mail.userId.length === 0) {
    throw new Error('A mail needs a user id');
  }
  if (!UUID.test(mail.bookingId)) throw new Error(`Not a booking id: "${mail.bookingId}"`);
  if (mail.refundId != null && !UUID.test(mail.refundId)) {
    throw new Error(`Not a refund id: "${mail.refundId}"`);
  }
  if (REFUND_REQUIRED.has(mail.kind) && mail.refundId == null) {
    throw new Error(`A ${mail.kind} mail needs its refund id`);
  }
  if (
    typeof mail.dedupeKey !== 'string' ||
    mail.dedupeKey.length === 0 ||
    mail.dedupeKey.length > MAX_KEY_LENGTH
  ) {
    throw new Error(`A mail's dedupe key must be 1 to ${MAX_KEY_LENGTH} characters`);
  }
}

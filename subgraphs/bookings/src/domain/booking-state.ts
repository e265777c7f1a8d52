import { DomainError } from './errors';

/**
 * The states of a booking (DESIGN.md §3). The string values equal the `BookingStatus` enum of
 * `booking.entity.ts`, so an entity's status is assignable to this type as it is.
 */
export type BookingState = 'PENDING' | 'CONFIRMED' | 'COMPLETED' | 'CANCELLED' | 'EXPIRED';

export const BOOKING_STATES: readonly BookingState[] = [
  'PENDING',
  'CONFIRMED',
  'COMPLETED',
  'CANCELLED',
  'EXPIRED',
];

/**
 * Every legal transition, and nothing else: the one place the state machine lives.
 *
 * - PENDING → CONFIRMED: the payment succeeded (only the internal confirmation function).
 * - PENDING → EXPIRED: 10 minutes passed unpaid (the expiry job).
 * - PENDING → CANCELLED: the customer (or STAFF/ADMIN) gave up; nothing to refund.
 * - CONFIRMED → COMPLETED: the showtime ended (the completion job; points are earned).
 * - CONFIRMED → CANCELLED: cancelled by the refund policy.
 * - EXPIRED → CONFIRMED: a payment arrived after the booking expired and everything it held
 *   (its seats first) could be taken again (DESIGN.md invariant 7; only the payment flow).
 *
 * COMPLETED and CANCELLED are terminal; EXPIRED is, except for a late payment. A state never "transitions" to itself: a
 * replayed confirmation must be recognised by the caller (payments answer "already
 * confirmed"), not silently accepted here.
 */
export const BOOKING_TRANSITIONS: Readonly<Record<BookingState, readonly BookingState[]>> = {
  PENDING: ['CONFIRMED', 'EXPIRED', 'CANCELLED'],
  CONFIRMED: ['COMPLETED', 'CANCELLED'],
  COMPLETED: [],
  CANCELLED: [],
  EXPIRED: ['CONFIRMED'],
};

/**
 * Who caused a transition: a signed-in user (customer, STAFF or ADMIN) or a part of the
 * system (`'payments'`, `'expiry-job'`, `'completion-job'` ...).
 */
export type TransitionActor =
  { kind: 'user'; userId: string } | { kind: 'service'; service: string };

/**
 * The transitions a user may cause by a request. Everything else happens only through the
 * system (payment confirmation, the expiry and completion jobs): no client can confirm,
 * complete or expire a booking, whatever the resolvers look like.
 */
const USER_TARGETS: ReadonlySet<BookingState> = new Set<BookingState>(['CANCELLED']);

/** One row of the audit trail: who moved which booking from what to what, when and why. */
export interface TransitionRecord {
  bookingId: string;
  from: BookingState;
  to: BookingState;
  actor: TransitionActor;
  /** Free text (the customer's cancellation reason, "payment 123 succeeded", ...), or null. */
  reason: string | null;
  at: Date;
}

/** Whether `from → to` is in the table. */
export function canTransition(from: BookingState, to: BookingState): boolean {
  return BOOKING_TRANSITIONS[from].includes(to);
}

/** Whether no transition leaves `state`. */
export function isTerminal(state: BookingState): boolean {
  return BOOKING_TRANSITIONS[state].length === 0;
}

/**
 * Throws `INVALID_STATE_TRANSITION` unless `from → to` is legal. `extensions.reason` says
 * which transition was refused (`EXPIRED_TO_CONFIRMED`), so a client can tell "already
 * cancelled" from "already paid" without parsing the message.
 */
export function assertTransition(from: BookingState, to: BookingState): void {
  if (canTransition(from, to)) return;
  throw new DomainError(
    'INVALID_STATE_TRANSITION',
    from === to ? `The booking is already ${from}` : `A ${from} booking cannot become ${to}`,
    { reason: `${from}_TO_${to}`, from, to },
  );
}

/**
 * Checks a transition (the table, and that a user asks only for what a user may) and returns
 * the audit record to store in the same transaction as the status change.
 *
 * The status change itself must be a conditional write, `UPDATE bookings SET status = :to
 * WHERE id = :id AND status = :from`, with the record written only when one row changed: two
 * instances racing (the expiry job and a late payment) then cannot both win.
 */
export function recordTransition(input: {
  bookingId: string;
  from: BookingState;
  to: BookingState;
  actor: TransitionActor;
  reason?: string | null;
  at: Date;
}): TransitionRecord {
  assertTransition(input.from, input.to);
  if (input.actor.kind === 'user' && !USER_TARGETS.has(input.to)) {
    throw new DomainError(
      'INVALID_STATE_TRANSITION',
      `A booking becomes ${input.to} only through the system, not by a request`,
      { reason: `${input.from}_TO_${input.to}`, from: input.from, to: input.to },
    );
  }
  return {
    bookingId: input.bookingId,
    from: input.from,
    to: input.to,
    actor: input.actor,
    reason: input.reason ?? null,
    at: input.at,
  };
}

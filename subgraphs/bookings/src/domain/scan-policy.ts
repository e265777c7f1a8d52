/** The state of a ticket; VALID until scanned (USED) or its booking is cancelled. */
export type TicketStatus = 'VALID' | 'USED' | 'CANCELLED';

/** Why a scan is refused (FORGED is decided earlier, by the payload's verification). */
export type ScanRefusal = 'CANCELLED' | 'ALREADY_USED' | 'NOT_YET_OPEN' | 'SHOWTIME_ENDED';

export type ScanDecision =
  | { accepted: true }
  | { accepted: false; reason: 'ALREADY_USED'; usedAt: Date | null }
  | { accepted: false; reason: Exclude<ScanRefusal, 'ALREADY_USED'> };

/** Doors open this long before the showtime starts. */
export const DOORS_OPEN_BEFORE_MS = 30 * 60_000;

/**
 * Whether a genuine ticket may enter now.
 *
 * The ticket's own state first (a cancelled ticket is refused whatever the time; a used one
 * says when it was first used, even after the end, which is what the person at the door needs
 * to know); then the time: before the doors open (30 minutes before the start: exactly then
 * is open) NOT_YET_OPEN; from the end on (exactly at `endsAt` is ended) SHOWTIME_ENDED.
 *
 * An accepted decision is only permission: the scan itself must be one conditional write,
 * `UPDATE tickets SET status = 'USED', used_at = now() WHERE id = :id AND status = 'VALID'
 * RETURNING used_at`; when it changes no row, read the ticket again and answer ALREADY_USED
 * with its `used_at` (another door won the race).
 */
export function scanDecision(input: {
  ticketStatus: TicketStatus;
  usedAt: Date | null;
  showtime: { startsAt: Date; endsAt: Date };
  now: Date;
}): ScanDecision {
  if (input.ticketStatus === 'CANCELLED') return { accepted: false, reason: 'CANCELLED' };
  if (input.ticketStatus === 'USED') {
    return { accepted: false, reason: 'ALREADY_USED', usedAt: input.usedAt };
  }
  const now = input.now.getTime();
  if (now < input.showtime.startsAt.getTime() - DOORS_OPEN_BEFORE_MS) {
    return { accepted: false, reason: 'NOT_YET_OPEN' };
  }
  if (now >= input.showtime.endsAt.getTime()) return { accepted: false, reason: 'SHOWTIME_ENDED' };
  return { accepted: true };
}

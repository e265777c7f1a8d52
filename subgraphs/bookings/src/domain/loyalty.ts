import { DomainError } from './errors';

/** 1 point is worth 1,000 VND of discount. */
export const VND_PER_POINT = 1_000;
/** One point is earned per 10,000 VND paid: 10% of the amount paid comes back as points. */
export const VND_PER_EARNED_POINT = 10_000;
/** The fewest points one booking may redeem. */
export const MIN_REDEEM_POINTS = 100;
/** Points pay at most this share (in percent) of the amount they apply to. */
export const MAX_REDEEM_PERCENT = 50;
/** Earned points expire this many calendar months after they were earned. */
export const POINTS_VALIDITY_MONTHS = 12;

/** The tiers; the string values equal the `LoyaltyTier` enum of `loyalty.entity.ts`. */
export type LoyaltyTierName = 'BRONZE' | 'SILVER' | 'GOLD' | 'PLATINUM';

/** The least total spent (VND) for each tier above BRONZE, highest first. */
export const TIER_THRESHOLDS: readonly { tier: LoyaltyTierName; minSpent: number }[] = [
  { tier: 'PLATINUM', minSpent: 50_000_000 },
  { tier: 'GOLD', minSpent: 15_000_000 },
  { tier: 'SILVER', minSpent: 5_000_000 },
];

/**
 * The tier for a total spent in VND (the final amounts of completed bookings):
 * BRONZE < 5,000,000 ≤ SILVER < 15,000,000 ≤ GOLD < 50,000,000 ≤ PLATINUM.
 */
export function tierFor(totalSpent: number): LoyaltyTierName {
  return TIER_THRESHOLDS.find((t) => totalSpent >= t.minSpent)?.tier ?? 'BRONZE';
}

/**
 * Points earned when a booking completes: `floor(finalAmount / 10,000)` (rounded down: a
 * fraction of a point is never owed), plus a POINTS promotion's bonus.
 */
export function pointsEarned(finalAmount: number, bonusPoints = 0): number {
  assertNonNegativeInt(finalAmount, 'finalAmount');
  assertNonNegativeInt(bonusPoints, 'bonusPoints');
  return Math.floor(finalAmount / VND_PER_EARNED_POINT) + bonusPoints;
}

/**
 * The most points one booking may redeem: 50% of `amountBeforePoints` in points, rounded down
 * (`floor(amount × 50 / 100 / 1,000)`), and no more than the customer has.
 */
export function maxRedeemablePoints(amountBeforePoints: number, available: number): number {
  const byAmount = Math.floor((amountBeforePoints * MAX_REDEEM_PERCENT) / 100 / VND_PER_POINT);
  return Math.max(0, Math.min(byAmount, available));
}

/** Which redemption rule was broken; in `extensions.reason` of `INSUFFICIENT_POINTS`. */
export type InsufficientPointsReason = 'BELOW_MINIMUM' | 'OVER_BALANCE' | 'OVER_HALF_AMOUNT';

/** Points applied to one booking. */
export interface Redemption {
  pointsUsed: number;
  /** `pointsUsed × 1,000` VND. */
  pointsDiscount: number;
}

/**
 * Checks a request to redeem points and says what it takes off.
 *
 * `amountBeforePoints` is the amount after the promotion's discount (`subtotal − discount`):
 * points pay part of what is left to pay. Taking 50% of the subtotal instead would let a large
 * promotion plus points go below zero, and the customer would lose points for nothing.
 *
 * 0 (or nothing) redeems nothing. Otherwise `INSUFFICIENT_POINTS` with a message naming the
 * rule broken: under 100 points, more than the customer has (`available`: the balance less
 * points already due to expire), or more than 50% of the amount. A negative or fractional
 * request is BAD_USER_INPUT on `pointsToRedeem`.
 */
export function redeemPoints(input: {
  requested: number | null | undefined;
  available: number;
  amountBeforePoints: number;
}): Redemption {
  const requested = input.requested ?? 0;
  if (!Number.isSafeInteger(requested) || requested < 0) {
    throw new DomainError('BAD_USER_INPUT', 'pointsToRedeem must be a whole number of points', {
      field: 'pointsToRedeem',
    });
  }
  if (requested === 0) return { pointsUsed: 0, pointsDiscount: 0 };
  if (requested < MIN_REDEEM_POINTS) {
    throw insufficient(
      'BELOW_MINIMUM',
      `At least ${MIN_REDEEM_POINTS} points must be redeemed at once (asked for ${requested})`,
    );
  }
  if (requested > input.available) {
    throw insufficient(
      'OVER_BALANCE',
      `Only ${input.available} points are available (asked for ${requested})`,
    );
  }
  const max = Math.floor((input.amountBeforePoints * MAX_REDEEM_PERCENT) / 100 / VND_PER_POINT);
  if (requested > max) {
    throw insufficient(
      'OVER_HALF_AMOUNT',
      `Points may pay at most ${MAX_REDEEM_PERCENT}% of ${input.amountBeforePoints} VND: ` +
        `${max} points (asked for ${requested})`,
    );
  }
  return { pointsUsed: requested, pointsDiscount: requested * VND_PER_POINT };
}

const insufficient = (reason: InsufficientPointsReason, message: string) =>
  new DomainError('INSUFFICIENT_POINTS', message, { reason });

// ---- The ledger ---------------------------------------------------------------------------

/**
 * - EARN: points earned by a completed booking (positive); each is a lot that expires
 *   12 months later.
 * - REDEEM: points spent on a booking (negative).
 * - RETURN: redeemed points given back when that booking is cancelled or expires (positive).
 * - EXPIRE: earned points that reached their expiry (negative).
 */
export type LedgerEntryType = 'EARN' | 'REDEEM' | 'RETURN' | 'EXPIRE';

/**
 * One row of a customer's points ledger. `points` is signed (EARN and RETURN positive,
 * REDEEM and EXPIRE negative), so the balance is the plain sum, as `SUM(points)` in SQL.
 */
export interface LedgerEntry {
  type: LedgerEntryType;
  points: number;
  at: Date;
  /** The booking an EARN, REDEEM or RETURN belongs to: a RETURN restores its REDEEM. */
  bookingId?: string | null;
}

const SIGN: Readonly<Record<LedgerEntryType, 1 | -1>> = {
  EARN: 1,
  REDEEM: -1,
  RETURN: 1,
  EXPIRE: -1,
};

/** A ledger entry with the sign its type requires, from a positive number of points. */
export function ledgerEntry(
  type: LedgerEntryType,
  points: number,
  at: Date,
  bookingId: string | null = null,
): LedgerEntry {
  if (!Number.isSafeInteger(points) || points <= 0) {
    throw new Error(`A ${type} entry needs a positive whole number of points, not ${points}`);
  }
  return { type, points: SIGN[type] * points, at, bookingId };
}

/** The balance: the sum of the ledger. */
export function balance(ledger: readonly LedgerEntry[]): number {
  return ledger.reduce((sum, e) => sum + e.points, 0);
}

const VIETNAM_OFFSET_MS = 7 * 3_600_000;

/**
 * When points earned at `earnedAt` expire: 12 calendar months later, counted on the calendar
 * of Vietnam (GMT+7, no daylight saving) at the same time of day; a day that does not exist
 * in the target month is clamped to its last day (earned 29 Feb 2024 → expire 28 Feb 2025).
 */
export function pointsExpireAt(earnedAt: Date): Date {
  const local = new Date(earnedAt.getTime() + VIETNAM_OFFSET_MS);
  const year = local.getUTCFullYear();
  const month = local.getUTCMonth() + POINTS_VALIDITY_MONTHS;
  const lastDay = new Date(Date.UTC(year, month + 1, 0)).getUTCDate();
  const shifted = Date.UTC(
    year,
    month,
    Math.min(local.getUTCDate(), lastDay),
    local.getUTCHours(),
    local.getUTCMinutes(),
    local.getUTCSeconds(),
    local.getUTCMilliseconds(),
  );
  return new Date(shifted - VIETNAM_OFFSET_MS);
}

/** Points earned together, and how many of them are still in the balance. */
export interface PointsLot {
  earnedAt: Date;
  expiresAt: Date;
  earned: number;
  remaining: number;
}

/**
 * Replays a ledger (in time order; entries at the same instant in the order given) into lots
 * of earned points, each with what is left of it. The sum of `remaining` always equals
 * {@link balance}.
 *
 * - REDEEM consumes first-in first-out: the oldest lots that have not expired at that moment,
 *   so the points nearest their expiry are used first. Points past their expiry that no
 *   EXPIRE entry has removed yet are used only after every unexpired one.
 * - RETURN gives a cancelled booking's points back to the lots its REDEEM took them from
 *   (newest first when only part comes back), with their original expiry: cancelling does not
 *   make old points young again. If that expiry has passed, the next sweep expires them.
 *   Points returned beyond what the booking redeemed (or without a booking) form a new lot.
 * - EXPIRE removes points from lots already past their expiry, oldest first.
 *
 * Throws on a ledger that goes below zero or has an entry of the wrong sign: that is corrupt
 * data, and no answer would be right.
 */
export function replayLedger(ledger: readonly LedgerEntry[]): PointsLot[] {
  const entries = ledger
    .map((entry, index) => ({ entry, index }))
    .sort((a, b) => a.entry.at.getTime() - b.entry.at.getTime() || a.index - b.index);
  const lots: PointsLot[] = [];
  const taken = new Map<string, { lot: PointsLot; points: number }[]>();
  const newLot = (at: Date, points: number) => {
    const lot: PointsLot = {
      earnedAt: at,
      expiresAt: pointsExpireAt(at),
      earned: points,
      remaining: points,
    };
    // Kept in earning order: a RETURN lot may come after later EARNs in time but not in `at`.
    const i = lots.findIndex((l) => l.earnedAt.getTime() > at.getTime());
    lots.splice(i === -1 ? lots.length : i, 0, lot);
  };
  for (const { entry } of entries) {
    if (!Number.isSafeInteger(entry.points) || Math.sign(entry.points) !== SIGN[entry.type]) {
      throw new Error(`Ledger entry ${entry.type} with ${entry.points} points has the wrong sign`);
    }
    const amount = Math.abs(entry.points);
    const at = entry.at.getTime();
    switch (entry.type) {
      case 'EARN':
        newLot(entry.at, amount);
        break;
      case 'REDEEM': {
        const live = lots.filter((l) => l.expiresAt.getTime() > at);
        const stale = lots.filter((l) => l.expiresAt.getTime() <= at);
        const took = consume([...live, ...stale], amount, entry);
        if (entry.bookingId)
          taken.set(entry.bookingId, [...(taken.get(entry.bookingId) ?? []), ...took]);
        break;
      }
      case 'RETURN': {
        let left = amount;
        const took = entry.bookingId ? (taken.get(entry.bookingId) ?? []) : [];
        for (let i = took.length - 1; i >= 0 && left > 0; i--) {
          const back = Math.min(left, took[i].points);
          took[i].lot.remaining += back;
          took[i].points -= back;
          left -= back;
        }
        if (left > 0) newLot(entry.at, left);
        break;
      }
      case 'EXPIRE': {
        const due = lots.filter((l) => l.expiresAt.getTime() <= at);
        const rest = lots.filter((l) => l.expiresAt.getTime() > at);
        // Only lots past expiry should be touched; the rest is a fallback that keeps the lots
        // equal to the balance if an EXPIRE was ever recorded by other means.
        consume([...due, ...rest], amount, entry);
        break;
      }
    }
  }
  return lots;
}

function consume(
  lots: readonly PointsLot[],
  amount: number,
  entry: LedgerEntry,
): { lot: PointsLot; points: number }[] {
  const took: { lot: PointsLot; points: number }[] = [];
  let left = amount;
  for (const lot of lots) {
    if (left === 0) break;
    const n = Math.min(left, lot.remaining);
    if (n === 0) continue;
    lot.remaining -= n;
    left -= n;
    took.push({ lot, points: n });
  }
  if (left > 0) {
    throw new Error(
      `Ledger goes below zero: ${entry.type} of ${amount} points at ${entry.at.toISOString()}`,
    );
  }
  return took;
}

/** Earned points due to expire, and the lots they come from. */
export interface ExpiringPoints {
  points: number;
  lots: { earnedAt: Date; expiresAt: Date; points: number }[];
}

/**
 * The earned points that have expired at `now` and are still in the balance (lots whose
 * expiry is at or before `now`, less what FIFO redemptions and earlier EXPIRE entries took).
 * The expiry job appends one EXPIRE entry of `points` at `now`; run again at the same `now`,
 * this then answers 0, so a job that runs twice (two instances, a restart) expires nothing
 * twice, provided it appends under the account's row lock (see the module notes).
 */
export function pointsToExpire(ledger: readonly LedgerEntry[], now: Date): ExpiringPoints {
  const lots = replayLedger(ledger)
    .filter((l) => l.expiresAt.getTime() <= now.getTime() && l.remaining > 0)
    .map((l) => ({ earnedAt: l.earnedAt, expiresAt: l.expiresAt, points: l.remaining }));
  return { points: lots.reduce((s, l) => s + l.points, 0), lots };
}

/**
 * The points a customer may spend at `now`: the balance less the points already past their
 * expiry that the job has not removed yet (so a redemption never spends expired points).
 */
export function availablePoints(ledger: readonly LedgerEntry[], now: Date): number {
  return balance(ledger) - pointsToExpire(ledger, now).points;
}

/**
 * The next time any point of this ledger expires (the earliest expiry among lots with points
 * left), or null. Lets the expiry job schedule per account instead of rescanning everyone.
 */
export function nextExpiry(ledger: readonly LedgerEntry[]): Date | null {
  const times = replayLedger(ledger)
    .filter((l) => l.remaining > 0)
    .map((l) => l.expiresAt.getTime());
  return times.length === 0 ? null : new Date(Math.min(...times));
}

function assertNonNegativeInt(value: number, name: string): void {
  if (!Number.isSafeInteger(value) || value < 0) {
    throw new Error(`${name} must be a non-negative integer, not ${value}`);
  }
}

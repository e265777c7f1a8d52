import { DomainError } from './errors';

const HOUR_MS = 3_600_000;

/**
 * The refund tiers, most generous first: cancelled at least `minHoursBefore` hours before the
 * showtime starts, the customer gets `percent` of what they paid back.
 */
export const REFUND_TIERS: readonly { minHoursBefore: number; percent: number }[] = [
  { minHoursBefore: 24, percent: 90 },
  { minHoursBefore: 12, percent: 70 },
  { minHoursBefore: 6, percent: 50 },
];

/** A refund the policy grants. */
export interface RefundQuote {
  /** 90, 70 or 50. */
  percent: number;
  /** `floor(amountPaid × percent / 100)` VND: rounded down, never a fraction of a dong. */
  amount: number;
  /** How long before the start the cancellation happened, ms. */
  msBeforeStart: number;
}

/**
 * The refund for cancelling a CONFIRMED booking at `now`, by time left before the showtime
 * starts: ≥ 24 h → 90%, ≥ 12 h → 70%, ≥ 6 h → 50% (each boundary belongs to the better tier:
 * exactly 24 h before is 90%); under 6 h, or after the start, `CANCELLATION_WINDOW_CLOSED`.
 *
 * `amountPaid` is the booking's `finalAmount`. Redeemed points come back whole, outside this
 * percentage (loyalty RETURN entry), and the promotion use is given back.
 */
export function refundFor(input: { amountPaid: number; startsAt: Date; now: Date }): RefundQuote {
  if (!Number.isSafeInteger(input.amountPaid) || input.amountPaid < 0) {
    throw new Error(`amountPaid must be an integer VND, not ${input.amountPaid}`);
  }
  const msBeforeStart = input.startsAt.getTime() - input.now.getTime();
  const tier = REFUND_TIERS.find((t) => msBeforeStart >= t.minHoursBefore * HOUR_MS);
  if (!tier) {
    const last = REFUND_TIERS[REFUND_TIERS.length - 1].minHoursBefore;
    throw new DomainError(
      'CANCELLATION_WINDOW_CLOSED',
      `A paid booking can be cancelled only until ${last} hours before the showtime starts`,
    );
  }
  return {
    percent: tier.percent,
    amount: Math.floor((input.amountPaid * tier.percent) / 100),
    msBeforeStart,
  };
}

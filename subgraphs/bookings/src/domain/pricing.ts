import { DomainError, invalidInput } from './errors';
import { redeemPoints } from './loyalty';
import {
  applyPromotion,
  MAX_AMOUNT,
  type FreeItem,
  type PromotionContext,
  type PromotionRule,
} from './promotion';

/** A seat to price, with its type in the hall (STANDARD, VIP, COUPLE ...). */
export interface SeatToPrice {
  seatId: string;
  seatType: string;
}

/** A concession the customer orders, with its current price (snapshotted on the booking). */
export interface ConcessionOrder {
  concessionId: string;
  quantity: number;
  /** VND, the concession's price now; the booking keeps this even if the price changes. */
  unitPrice: number;
}

/** The most of one concession on one booking: beyond this it is a typo, not an order. */
export const MAX_CONCESSION_QUANTITY = 20;

export interface PricingInput {
  seats: readonly SeatToPrice[];
  /** The showtime's price per seat type, VND. */
  prices: Readonly<Record<string, number>>;
  concessions?: readonly ConcessionOrder[] | null;
  /**
   * The promotion the customer entered, if any: `rule` null when no promotion has that code
   * (answered `PROMOTION_INVALID` / UNKNOWN), with its uses so far.
   */
  promotion?: {
    rule: PromotionRule | null;
    usage: PromotionContext['usage'];
    isOfferedAtCinema?: PromotionContext['isOfferedAtCinema'];
  } | null;
  pointsToRedeem?: number | null;
  /** Points the customer may spend now: `availablePoints(ledger, now)` (loyalty.ts). */
  pointsAvailable: number;
  now: Date;
  showtime: PromotionContext['showtime'];
}

/** One line of the price. */
export type PriceLine =
  | { kind: 'SEAT'; seatId: string; seatType: string; price: number }
  | {
      kind: 'CONCESSION';
      concessionId: string;
      quantity: number;
      unitPrice: number;
      totalPrice: number;
      /** Added at 0 VND by a FREE_ITEM promotion. */
      free: boolean;
    };

/** The price of a booking; every amount is integer VND. */
export interface PriceQuote {
  /** Seats + paid concessions, before any discount. */
  subtotal: number;
  /** The promotion's discount, 0 ≤ discount ≤ subtotal. */
  discount: number;
  pointsUsed: number;
  /** `pointsUsed × 1,000`. */
  pointsDiscount: number;
  /** `subtotal − discount − pointsDiscount`, never below 0. */
  finalAmount: number;
  /** Seat lines in the order given, then paid concession lines, then free ones. */
  lines: PriceLine[];
  /** What a FREE_ITEM promotion adds (also among `lines`, at 0 VND); counts against stock. */
  freeItems: FreeItem[];
  /** POINTS promotion bonus, granted when the booking completes. */
  bonusPoints: number;
  /** The promotion applied (canonical code), or null. */
  promotionCode: string | null;
}

const isAmount = (v: unknown): v is number =>
  typeof v === 'number' && Number.isSafeInteger(v) && v >= 0;

/**
 * Prices a booking: the showtime's price per seat type for each seat, plus concessions, less
 * at most one promotion, less points.
 *
 * Order: subtotal; the promotion is checked against the subtotal (`minPurchase`) and takes
 * its discount; points apply to what is left (`subtotal − discount`, at most 50% of it);
 * `finalAmount = subtotal − discount − pointsDiscount`, clamped at 0 (the 50% rule already
 * keeps it above, the clamp is the invariant's last guard). Integer VND throughout.
 *
 * Errors: BAD_USER_INPUT (no seat, a seat twice, a seat type without a price — naming the
 * seat —, a concession twice or with a bad quantity, a total beyond what fits);
 * PROMOTION_INVALID with `extensions.reason`; INSUFFICIENT_POINTS.
 */
export function priceBooking(input: PricingInput): PriceQuote {
  if (input.seats.length === 0) throw invalidInput('seatIds', 'Choose at least one seat');
  const lines: PriceLine[] = [];
  const seen = new Set<string>();
  for (const { seatId, seatType } of input.seats) {
    if (seen.has(seatId)) throw invalidInput('seatIds', `Seat ${seatId} is listed twice`);
    seen.add(seatId);
    const price = Object.prototype.hasOwnProperty.call(input.prices, seatType)
      ? input.prices[seatType]
      : undefined;
    if (price === undefined) {
      throw new DomainError(
        'BAD_USER_INPUT',
        `Seat ${seatId} (${seatType}) has no price for this showtime`,
        { field: 'seatIds', seatIds: [seatId] },
      );
    }
    // Prices come from our own data: a bad one is a bug, not the customer's input.
    if (!isAmount(price))
      throw new Error(`Price of ${seatType} is not an integer VND: ${String(price)}`);
    lines.push({ kind: 'SEAT', seatId, seatType, price });
  }

  const ordered = new Set<string>();
  for (const c of input.concessions ?? []) {
    if (ordered.has(c.concessionId)) {
      throw invalidInput('concessions', `Concession ${c.concessionId} is listed twice`);
    }
    ordered.add(c.concessionId);
    if (
      !Number.isSafeInteger(c.quantity) ||
      c.quantity < 1 ||
      c.quantity > MAX_CONCESSION_QUANTITY
    ) {
      throw invalidInput(
        'concessions',
        `The quantity of ${c.concessionId} must be from 1 to ${MAX_CONCESSION_QUANTITY}`,
      );
    }
    if (!isAmount(c.unitPrice)) {
      throw new Error(
        `Price of concession ${c.concessionId} is not an integer VND: ${String(c.unitPrice)}`,
      );
    }
    lines.push({
      kind: 'CONCESSION',
      concessionId: c.concessionId,
      quantity: c.quantity,
      unitPrice: c.unitPrice,
      totalPrice: c.unitPrice * c.quantity,
      free: false,
    });
  }

  const subtotal = lines.reduce((sum, l) => sum + (l.kind === 'SEAT' ? l.price : l.totalPrice), 0);
  if (subtotal > MAX_AMOUNT) {
    throw invalidInput('concessions', 'This order is too large for one booking');
  }

  let discount = 0;
  let bonusPoints = 0;
  let freeItems: FreeItem[] = [];
  let promotionCode: string | null = null;
  if (input.promotion) {
    const effect = applyPromotion(input.promotion.rule, {
      now: input.now,
      subtotal,
      showtime: input.showtime,
      usage: input.promotion.usage,
      isOfferedAtCinema: input.promotion.isOfferedAtCinema,
    });
    discount = effect.discount;
    bonusPoints = effect.bonusPoints;
    freeItems = effect.freeItems;
    promotionCode = effect.code;
    for (const item of freeItems) {
      lines.push({
        kind: 'CONCESSION',
        concessionId: item.concessionId,
        quantity: item.quantity,
        unitPrice: 0,
        totalPrice: 0,
        free: true,
      });
    }
  }

  const amountBeforePoints = subtotal - discount;
  const { pointsUsed, pointsDiscount } = redeemPoints({
    requested: input.pointsToRedeem,
    available: input.pointsAvailable,
    amountBeforePoints,
  });
  return {
    subtotal,
    discount,
    pointsUsed,
    pointsDiscount,
    finalAmount: Math.max(0, amountBeforePoints - pointsDiscount),
    lines,
    freeItems,
    bonusPoints,
    promotionCode,
  };
}

import { DomainError } from './errors';
import { maxRedeemablePoints } from './loyalty';
import { priceBooking, type PricingInput } from './pricing';
import type { PromotionRule } from './promotion';

const NOW = new Date('2025-03-10T05:00:00.000Z');
const SHOWTIME = {
  movieId: 'movie-1',
  cinemaId: 'cinema-1',
  startsAt: new Date('2025-03-10T12:00:00.000Z'),
};
const PRICES = { STANDARD: 90_000, VIP: 120_000, COUPLE: 200_000 };

const promo = (over: Partial<PromotionRule> = {}): PromotionRule => ({
  code: 'SAVE',
  type: 'PERCENTAGE',
  value: 10,
  maxDiscount: null,
  minPurchase: 0,
  validFrom: new Date('2025-03-01T00:00:00.000Z'),
  validTo: new Date('2025-03-31T00:00:00.000Z'),
  active: true,
  usageLimit: null,
  usagePerUser: null,
  movieIds: null,
  cinemaIds: null,
  daysOfWeek: null,
  freeConcessionId: null,
  ...over,
});

const input = (over: Partial<PricingInput> = {}): PricingInput => ({
  seats: [
    { seatId: 'A1', seatType: 'STANDARD' },
    { seatId: 'A2', seatType: 'VIP' },
  ],
  prices: PRICES,
  pointsAvailable: 0,
  now: NOW,
  showtime: SHOWTIME,
  ...over,
});

const withPromo = (rule: PromotionRule | null, usage = { total: 0, byUser: 0 }) => ({
  promotion: { rule, usage },
});

function refusal(fn: () => unknown): DomainError {
  try {
    fn();
  } catch (error) {
    expect(error).toBeInstanceOf(DomainError);
    return error as DomainError;
  }
  throw new Error('expected a DomainError');
}

describe('pricing a booking', () => {
  it('prices each seat by its type', () => {
    expect(priceBooking(input())).toEqual({
      subtotal: 210_000,
      discount: 0,
      pointsUsed: 0,
      pointsDiscount: 0,
      finalAmount: 210_000,
      lines: [
        { kind: 'SEAT', seatId: 'A1', seatType: 'STANDARD', price: 90_000 },
        { kind: 'SEAT', seatId: 'A2', seatType: 'VIP', price: 120_000 },
      ],
      freeItems: [],
      bonusPoints: 0,
      promotionCode: null,
    });
  });

  it('adds concessions at their price now', () => {
    const quote = priceBooking(
      input({
        concessions: [
          { concessionId: 'popcorn', quantity: 2, unitPrice: 55_000 },
          { concessionId: 'cola', quantity: 1, unitPrice: 35_000 },
        ],
      }),
    );
    expect(quote.subtotal).toBe(210_000 + 110_000 + 35_000);
    expect(quote.lines.slice(2)).toEqual([
      {
        kind: 'CONCESSION',
        concessionId: 'popcorn',
        quantity: 2,
        unitPrice: 55_000,
        totalPrice: 110_000,
        free: false,
      },
      {
        kind: 'CONCESSION',
        concessionId: 'cola',
        quantity: 1,
        unitPrice: 35_000,
        totalPrice: 35_000,
        free: false,
      },
    ]);
  });

  it('names the seat whose type has no price', () => {
    const error = refusal(() =>
      priceBooking(input({ seats: [{ seatId: 'D4', seatType: 'RECLINER' }] })),
    );
    expect(error.extensions).toMatchObject({
      code: 'BAD_USER_INPUT',
      field: 'seatIds',
      seatIds: ['D4'],
    });
    expect(error.message).toMatch(/D4/);
  });

  it('does not take a price from the object prototype', () => {
    expect(() =>
      priceBooking(input({ seats: [{ seatId: 'D4', seatType: 'constructor' }] })),
    ).toThrow(DomainError);
  });

  it('refuses no seat, a seat twice, a concession twice, a bad quantity', () => {
    expect(refusal(() => priceBooking(input({ seats: [] }))).extensions.field).toBe('seatIds');
    expect(
      refusal(() =>
        priceBooking(
          input({
            seats: [
              { seatId: 'A1', seatType: 'STANDARD' },
              { seatId: 'A1', seatType: 'STANDARD' },
            ],
          }),
        ),
      ).extensions.field,
    ).toBe('seatIds');
    const concession = (quantity: number) => ({ concessionId: 'cola', quantity, unitPrice: 1 });
    for (const concessions of [
      [concession(1), concession(1)],
      [concession(0)],
      [concession(21)],
      [concession(1.5)],
    ]) {
      expect(refusal(() => priceBooking(input({ concessions }))).extensions.field).toBe(
        'concessions',
      );
    }
    expect(priceBooking(input({ concessions: [concession(20)] })).subtotal).toBe(210_020);
  });

  it('treats a non-integer price in our data as a bug, not bad input', () => {
    expect(() => priceBooking(input({ prices: { ...PRICES, VIP: 1.5 } }))).toThrow(
      /not an integer/,
    );
    expect(() =>
      priceBooking(input({ concessions: [{ concessionId: 'c', quantity: 1, unitPrice: -1 }] })),
    ).toThrow(/not an integer/);
  });

  it('refuses a total that does not fit the amount columns', () => {
    expect(
      refusal(() =>
        priceBooking(
          input({
            concessions: [{ concessionId: 'gold', quantity: 20, unitPrice: 200_000_000 }],
          }),
        ),
      ).extensions.code,
    ).toBe('BAD_USER_INPUT');
  });

  it('takes a percentage promotion off the subtotal, rounded down', () => {
    const quote = priceBooking(
      input({
        concessions: [{ concessionId: 'cola', quantity: 1, unitPrice: 35_555 }],
        ...withPromo(promo({ value: 15 })),
      }),
    );
    // 15% of 245,555 = 36,833.25 → 36,833.
    expect(quote).toMatchObject({
      subtotal: 245_555,
      discount: 36_833,
      finalAmount: 208_722,
      promotionCode: 'SAVE',
    });
  });

  it('caps a fixed amount at the subtotal: the final amount is never below zero', () => {
    const quote = priceBooking(input(withPromo(promo({ type: 'FIXED_AMOUNT', value: 500_000 }))));
    expect(quote).toMatchObject({ subtotal: 210_000, discount: 210_000, finalAmount: 0 });
  });

  it('adds a FREE_ITEM as a concession line at 0 VND', () => {
    const quote = priceBooking(
      input({
        concessions: [{ concessionId: 'popcorn', quantity: 1, unitPrice: 55_000 }],
        ...withPromo(promo({ type: 'FREE_ITEM', value: 1, freeConcessionId: 'popcorn' })),
      }),
    );
    expect(quote.subtotal).toBe(265_000);
    expect(quote.finalAmount).toBe(265_000);
    expect(quote.freeItems).toEqual([{ concessionId: 'popcorn', quantity: 1 }]);
    expect(quote.lines[quote.lines.length - 1]).toEqual({
      kind: 'CONCESSION',
      concessionId: 'popcorn',
      quantity: 1,
      unitPrice: 0,
      totalPrice: 0,
      free: true,
    });
  });

  it('carries a POINTS bonus for completion and takes nothing off', () => {
    const quote = priceBooking(input(withPromo(promo({ type: 'POINTS', value: 40 }))));
    expect(quote).toMatchObject({ discount: 0, finalAmount: 210_000, bonusPoints: 40 });
  });

  it('checks minPurchase against the subtotal with concessions', () => {
    const rule = promo({ minPurchase: 250_000 });
    expect(refusal(() => priceBooking(input(withPromo(rule)))).extensions).toMatchObject({
      code: 'PROMOTION_INVALID',
      reason: 'MIN_PURCHASE_NOT_MET',
    });
    expect(
      priceBooking(
        input({
          concessions: [{ concessionId: 'cola', quantity: 1, unitPrice: 40_000 }],
          ...withPromo(rule),
        }),
      ).discount,
    ).toBe(25_000);
  });

  it('answers UNKNOWN for a code without a promotion, and the usage reasons', () => {
    expect(refusal(() => priceBooking(input(withPromo(null)))).extensions.reason).toBe('UNKNOWN');
    expect(
      refusal(() =>
        priceBooking(input(withPromo(promo({ usageLimit: 10 }), { total: 10, byUser: 0 }))),
      ).extensions.reason,
    ).toBe('USAGE_LIMIT_REACHED');
  });

  it('takes points off the amount after the promotion, at most half of it', () => {
    // 210,000 + 300,000 = 510,000; less 10% = 459,000; half is 229,500 VND: at most 229 points.
    const base = {
      concessions: [{ concessionId: 'combo', quantity: 2, unitPrice: 150_000 }],
      pointsAvailable: 1_000,
      ...withPromo(promo()),
    };
    expect(priceBooking(input({ ...base, pointsToRedeem: 229 }))).toMatchObject({
      subtotal: 510_000,
      discount: 51_000,
      pointsUsed: 229,
      pointsDiscount: 229_000,
      finalAmount: 230_000,
    });
    const error = refusal(() => priceBooking(input({ ...base, pointsToRedeem: 230 })));
    expect(error.extensions).toMatchObject({
      code: 'INSUFFICIENT_POINTS',
      reason: 'OVER_HALF_AMOUNT',
    });
    // Half of the subtotal (255 points) would have been allowed: the promotion counts first.
    expect(error.message).toMatch(/459000 VND: 229 points/);
  });

  it('checks the points against what the customer has, and the 100-point minimum', () => {
    expect(
      refusal(() => priceBooking(input({ pointsAvailable: 99, pointsToRedeem: 100 }))).extensions
        .reason,
    ).toBe('OVER_BALANCE');
    expect(
      refusal(() => priceBooking(input({ pointsAvailable: 500, pointsToRedeem: 50 }))).extensions
        .reason,
    ).toBe('BELOW_MINIMUM');
    expect(priceBooking(input({ pointsAvailable: 500, pointsToRedeem: 100 })).finalAmount).toBe(
      110_000,
    );
  });

  it('keeps finalAmount = subtotal − discount − pointsDiscount, in integers', () => {
    for (const value of [1, 7, 13, 33, 50, 99, 100]) {
      for (const redeem of [false, true]) {
        const base = input({
          concessions: [{ concessionId: 'c', quantity: 3, unitPrice: 33_333 }],
          pointsAvailable: 1_000,
          ...withPromo(promo({ value })),
        });
        const most = maxRedeemablePoints(priceBooking(base).finalAmount, 1_000);
        const quote = priceBooking({ ...base, pointsToRedeem: redeem && most >= 100 ? most : 0 });
        expect(quote.finalAmount).toBe(quote.subtotal - quote.discount - quote.pointsDiscount);
        for (const n of [quote.subtotal, quote.discount, quote.pointsDiscount, quote.finalAmount]) {
          expect(Number.isSafeInteger(n) && n >= 0).toBe(true);
        }
        expect(quote.pointsUsed).toBe(redeem && most >= 100 ? most : 0);
      }
    }
  });
});

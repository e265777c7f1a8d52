import { DomainError } from './errors';
import {
  applyPromotion,
  applyPromotionPatch,
  canReserveUse,
  checkPromotion,
  dayOfWeekInVietnam,
  parsePromotionInput,
  promotionDiscount,
  validatePromotionInput,
  type PromotionContext,
  type PromotionInput,
  type PromotionRule,
} from './promotion';

const FROM = new Date('2025-03-01T00:00:00.000Z');
const TO = new Date('2025-03-31T00:00:00.000Z');
const NOW = new Date('2025-03-10T12:00:00.000Z');
/** Monday 3 March 2025, 19:00 in Vietnam. */
const MONDAY_EVENING = new Date('2025-03-03T12:00:00.000Z');

const rule = (over: Partial<PromotionRule> = {}): PromotionRule => ({
  code: 'SPRING10',
  type: 'PERCENTAGE',
  value: 10,
  maxDiscount: null,
  minPurchase: 0,
  validFrom: FROM,
  validTo: TO,
  active: true,
  usageLimit: null,
  usagePerUser: null,
  movieIds: null,
  cinemaIds: null,
  daysOfWeek: null,
  freeConcessionId: null,
  ...over,
});

const ctx = (over: Partial<PromotionContext> = {}): PromotionContext => ({
  now: NOW,
  subtotal: 200_000,
  showtime: { movieId: 'movie-1', cinemaId: 'cinema-1', startsAt: MONDAY_EVENING },
  usage: { total: 0, byUser: 0 },
  ...over,
});

const reasonOf = (r: PromotionRule | null, c: PromotionContext = ctx()) => {
  const check = checkPromotion(r, c);
  return check.ok ? 'OK' : check.reason;
};

describe('day of week in Vietnam', () => {
  it('turns at midnight GMT+7, not at midnight UTC', () => {
    // Sunday 2 March 2025 23:59:59.999 in Vietnam, then Monday 00:00.
    expect(dayOfWeekInVietnam(new Date('2025-03-02T16:59:59.999Z'))).toBe('SUNDAY');
    expect(dayOfWeekInVietnam(new Date('2025-03-02T17:00:00.000Z'))).toBe('MONDAY');
  });

  it('does not depend on the server time zone', () => {
    const saved = process.env.TZ;
    try {
      for (const tz of ['UTC', 'America/Los_Angeles', 'Pacific/Kiritimati']) {
        process.env.TZ = tz;
        expect(dayOfWeekInVietnam(new Date('2025-03-02T17:00:00.000Z'))).toBe('MONDAY');
        expect(dayOfWeekInVietnam(new Date('2025-03-02T16:59:59.999Z'))).toBe('SUNDAY');
      }
    } finally {
      if (saved === undefined) delete process.env.TZ;
      else process.env.TZ = saved;
    }
  });
});

describe('checking a promotion', () => {
  it('answers UNKNOWN for a code that does not exist', () => {
    expect(reasonOf(null)).toBe('UNKNOWN');
  });

  it('checks in a fixed order: state, window, conditions, minimum, limits', () => {
    const failing = rule({
      active: false,
      validFrom: new Date(NOW.getTime() + 1),
      movieIds: ['other-movie'],
      minPurchase: 1_000_000,
      usageLimit: 1,
      usagePerUser: 1,
    });
    const usage = { total: 1, byUser: 1 };
    const c = ctx({ usage });
    const steps: [Partial<PromotionRule>, string][] = [
      [{}, 'INACTIVE'],
      [{ active: true }, 'NOT_STARTED'],
      [{ validFrom: FROM, validTo: new Date(NOW.getTime() - 1) }, 'EXPIRED'],
      [{ validTo: TO }, 'NOT_APPLICABLE'],
      [{ movieIds: null }, 'MIN_PURCHASE_NOT_MET'],
      [{ minPurchase: 0 }, 'USAGE_LIMIT_REACHED'],
      [{ usageLimit: null }, 'PER_USER_LIMIT_REACHED'],
      [{ usagePerUser: null }, 'OK'],
    ];
    let current = failing;
    for (const [change, expected] of steps) {
      current = { ...current, ...change };
      expect(reasonOf(current, c)).toBe(expected);
    }
  });

  it('is valid from validFrom to validTo, both included', () => {
    const r = rule();
    expect(reasonOf(r, ctx({ now: FROM }))).toBe('OK');
    expect(reasonOf(r, ctx({ now: new Date(FROM.getTime() - 1) }))).toBe('NOT_STARTED');
    expect(reasonOf(r, ctx({ now: TO }))).toBe('OK');
    expect(reasonOf(r, ctx({ now: new Date(TO.getTime() + 1) }))).toBe('EXPIRED');
  });

  it('needs the subtotal to reach minPurchase (reaching it is enough)', () => {
    const r = rule({ minPurchase: 150_000 });
    expect(reasonOf(r, ctx({ subtotal: 150_000 }))).toBe('OK');
    expect(reasonOf(r, ctx({ subtotal: 149_999 }))).toBe('MIN_PURCHASE_NOT_MET');
  });

  it('applies to the listed movies and cinemas only; no list or an empty one means all', () => {
    expect(reasonOf(rule({ movieIds: ['movie-1', 'movie-2'] }))).toBe('OK');
    expect(reasonOf(rule({ movieIds: ['movie-2'] }))).toBe('NOT_APPLICABLE');
    expect(reasonOf(rule({ movieIds: [] }))).toBe('OK');
    expect(reasonOf(rule({ cinemaIds: ['cinema-1'] }))).toBe('OK');
    expect(reasonOf(rule({ cinemaIds: ['cinema-2'] }))).toBe('NOT_APPLICABLE');
    expect(reasonOf(rule({ cinemaIds: [] }))).toBe('OK');
  });

  it("takes the day of week from the showtime's start in Vietnam, not from now", () => {
    const weekdays = rule({ daysOfWeek: ['MONDAY', 'TUESDAY'] });
    expect(reasonOf(weekdays)).toBe('OK');
    // Sunday 23:30 in Vietnam is still Sunday although it is Sunday 16:30 UTC as well;
    // Monday 00:30 in Vietnam is Sunday 17:30 UTC.
    const sundayLate = new Date('2025-03-02T16:30:00.000Z');
    const mondayEarly = new Date('2025-03-02T17:30:00.000Z');
    const at = (startsAt: Date) =>
      ctx({ showtime: { movieId: 'movie-1', cinemaId: 'cinema-1', startsAt } });
    expect(reasonOf(weekdays, at(sundayLate))).toBe('NOT_APPLICABLE');
    expect(reasonOf(weekdays, at(mondayEarly))).toBe('OK');
    const check = checkPromotion(weekdays, at(sundayLate));
    expect(!check.ok && check.message).toMatch(/MONDAY, TUESDAY, not SUNDAY/);
  });

  it('counts uses against the limits: the last use fits, one more does not', () => {
    const r = rule({ usageLimit: 10, usagePerUser: 2 });
    expect(reasonOf(r, ctx({ usage: { total: 9, byUser: 1 } }))).toBe('OK');
    expect(reasonOf(r, ctx({ usage: { total: 10, byUser: 0 } }))).toBe('USAGE_LIMIT_REACHED');
    expect(reasonOf(r, ctx({ usage: { total: 0, byUser: 2 } }))).toBe('PER_USER_LIMIT_REACHED');
  });

  it('refuses a FREE_ITEM whose item is not sold at the cinema, when told', () => {
    const r = rule({ type: 'FREE_ITEM', value: 1, freeConcessionId: 'popcorn-c1' });
    expect(reasonOf(r, ctx({ isOfferedAtCinema: (id) => id === 'popcorn-c1' }))).toBe('OK');
    expect(reasonOf(r, ctx({ isOfferedAtCinema: () => false }))).toBe('NOT_APPLICABLE');
    expect(reasonOf(r)).toBe('OK');
  });

  it('throws PROMOTION_INVALID with the reason through applyPromotion', () => {
    try {
      applyPromotion(rule({ active: false }), ctx());
      throw new Error('expected a refusal');
    } catch (error) {
      expect(error).toBeInstanceOf(DomainError);
      expect((error as DomainError).extensions).toMatchObject({
        code: 'PROMOTION_INVALID',
        reason: 'INACTIVE',
      });
    }
  });
});

describe('what a promotion does', () => {
  it('PERCENTAGE rounds down to a whole dong', () => {
    expect(promotionDiscount(rule({ value: 10 }), 99_999)).toBe(9_999);
    expect(promotionDiscount(rule({ value: 15 }), 123_457)).toBe(18_518);
    expect(promotionDiscount(rule({ value: 100 }), 123_457)).toBe(123_457);
    expect(promotionDiscount(rule({ value: 1 }), 99)).toBe(0);
  });

  it('PERCENTAGE is capped by maxDiscount', () => {
    const r = rule({ value: 50, maxDiscount: 60_000 });
    expect(promotionDiscount(r, 100_000)).toBe(50_000);
    expect(promotionDiscount(r, 120_000)).toBe(60_000);
    expect(promotionDiscount(r, 500_000)).toBe(60_000);
    expect(promotionDiscount(rule({ value: 50, maxDiscount: 0 }), 500_000)).toBe(0);
  });

  it('FIXED_AMOUNT is capped at the amount', () => {
    const r = rule({ type: 'FIXED_AMOUNT', value: 50_000 });
    expect(promotionDiscount(r, 200_000)).toBe(50_000);
    expect(promotionDiscount(r, 50_000)).toBe(50_000);
    expect(promotionDiscount(r, 30_000)).toBe(30_000);
  });

  it('FREE_ITEM adds the item and takes nothing off', () => {
    expect(
      applyPromotion(rule({ type: 'FREE_ITEM', value: 2, freeConcessionId: 'popcorn' }), ctx()),
    ).toEqual({
      code: 'SPRING10',
      type: 'FREE_ITEM',
      discount: 0,
      freeItems: [{ concessionId: 'popcorn', quantity: 2 }],
      bonusPoints: 0,
    });
  });

  it('POINTS grants bonus points and takes nothing off', () => {
    expect(applyPromotion(rule({ type: 'POINTS', value: 50 }), ctx())).toMatchObject({
      discount: 0,
      freeItems: [],
      bonusPoints: 50,
    });
  });
});

describe('reserving a use', () => {
  it('fits while used < limit; no limit always fits', () => {
    expect(canReserveUse(0, 1)).toBe(true);
    expect(canReserveUse(9, 10)).toBe(true);
    expect(canReserveUse(10, 10)).toBe(false);
    expect(canReserveUse(11, 10)).toBe(false);
    expect(canReserveUse(1_000_000, null)).toBe(true);
  });
});

describe('ADMIN input', () => {
  const input = (over: Partial<PromotionInput> = {}): PromotionInput => ({
    code: 'spring10',
    type: 'PERCENTAGE',
    value: 10,
    validFrom: FROM,
    validTo: TO,
    ...over,
  });
  const fieldsOf = (i: PromotionInput) => validatePromotionInput(i).map((x) => x.field);

  it('accepts a valid input and fills the defaults', () => {
    expect(parsePromotionInput(input({ maxDiscount: 50_000 }))).toEqual({
      code: 'SPRING10',
      type: 'PERCENTAGE',
      value: 10,
      maxDiscount: 50_000,
      minPurchase: 0,
      validFrom: FROM,
      validTo: TO,
      active: true,
      usageLimit: null,
      usagePerUser: null,
      movieIds: null,
      cinemaIds: null,
      daysOfWeek: null,
      freeConcessionId: null,
    });
  });

  it.each([
    ['', 'code'],
    ['AB', 'code'],
    ['A'.repeat(33), 'code'],
    ['HELLO WORLD', 'code'],
    ['-DASH', 'code'],
    ['GIẢM10', 'code'],
  ])('refuses the code %j', (code, field) => {
    expect(fieldsOf(input({ code }))).toEqual([field]);
  });

  it('accepts codes of 3 and 32 characters with - and _', () => {
    expect(fieldsOf(input({ code: 'A-1' }))).toEqual([]);
    expect(fieldsOf(input({ code: 'X_' + 'Y'.repeat(30) }))).toEqual([]);
  });

  it.each([
    ['PERCENTAGE', 0, false],
    ['PERCENTAGE', 1, true],
    ['PERCENTAGE', 100, true],
    ['PERCENTAGE', 101, false],
    ['PERCENTAGE', 12.5, false],
    ['FIXED_AMOUNT', 0, false],
    ['FIXED_AMOUNT', 1, true],
    ['FIXED_AMOUNT', 2_147_483_647, true],
    ['FIXED_AMOUNT', 2_147_483_648, false],
    ['FIXED_AMOUNT', 1000.5, false],
    ['FREE_ITEM', 0, false],
    ['FREE_ITEM', 10, true],
    ['FREE_ITEM', 11, false],
    ['POINTS', 0, false],
    ['POINTS', 100_000, true],
    ['POINTS', 100_001, false],
  ] as const)('%s with value %d is valid: %s', (type, value, valid) => {
    const extra = type === 'FREE_ITEM' ? { freeConcessionId: 'popcorn' } : {};
    expect(fieldsOf(input({ type, value, ...extra }))).toEqual(valid ? [] : ['value']);
  });

  it('checks amounts as integers from 0', () => {
    expect(fieldsOf(input({ minPurchase: 0, maxDiscount: 0 }))).toEqual([]);
    expect(fieldsOf(input({ minPurchase: -1 }))).toEqual(['minPurchase']);
    expect(fieldsOf(input({ minPurchase: 0.5 }))).toEqual(['minPurchase']);
    expect(fieldsOf(input({ maxDiscount: -1 }))).toEqual(['maxDiscount']);
    expect(fieldsOf(input({ minPurchase: Number.NaN }))).toEqual(['minPurchase']);
  });

  it('ties maxDiscount to PERCENTAGE and freeConcessionId to FREE_ITEM', () => {
    expect(fieldsOf(input({ type: 'FIXED_AMOUNT', value: 1000, maxDiscount: 10 }))).toEqual([
      'maxDiscount',
    ]);
    expect(fieldsOf(input({ type: 'FREE_ITEM', value: 1 }))).toEqual(['freeConcessionId']);
    expect(fieldsOf(input({ type: 'FREE_ITEM', value: 1, freeConcessionId: ' ' }))).toEqual([
      'freeConcessionId',
    ]);
    expect(fieldsOf(input({ freeConcessionId: 'popcorn' }))).toEqual(['freeConcessionId']);
  });

  it('needs validFrom before validTo', () => {
    expect(fieldsOf(input({ validTo: FROM }))).toEqual(['validTo']);
    expect(fieldsOf(input({ validTo: new Date(FROM.getTime() - 1) }))).toEqual(['validTo']);
    expect(fieldsOf(input({ validTo: new Date(FROM.getTime() + 1) }))).toEqual([]);
    expect(fieldsOf(input({ validFrom: new Date('nope') }))).toEqual(['validFrom']);
  });

  it('needs limits of at least 1 when set', () => {
    expect(fieldsOf(input({ usageLimit: 1, usagePerUser: 1 }))).toEqual([]);
    expect(fieldsOf(input({ usageLimit: null, usagePerUser: null }))).toEqual([]);
    expect(fieldsOf(input({ usageLimit: 0 }))).toEqual(['usageLimit']);
    expect(fieldsOf(input({ usagePerUser: -2 }))).toEqual(['usagePerUser']);
    expect(fieldsOf(input({ usagePerUser: 1.5 }))).toEqual(['usagePerUser']);
  });

  it('checks the condition lists', () => {
    expect(
      fieldsOf(input({ movieIds: ['m1'], cinemaIds: ['c1'], daysOfWeek: ['FRIDAY'] })),
    ).toEqual([]);
    expect(fieldsOf(input({ movieIds: [] }))).toEqual(['movieIds']);
    expect(fieldsOf(input({ cinemaIds: ['c1', 'c1'] }))).toEqual(['cinemaIds']);
    expect(fieldsOf(input({ movieIds: [''] }))).toEqual(['movieIds']);
    expect(fieldsOf(input({ daysOfWeek: [] }))).toEqual(['daysOfWeek']);
    expect(fieldsOf(input({ daysOfWeek: ['FRIDAY', 'FRIDAY'] }))).toEqual(['daysOfWeek']);
    expect(fieldsOf(input({ daysOfWeek: ['FUNDAY' as never] }))).toEqual(['daysOfWeek']);
    expect(fieldsOf(input({ movieIds: Array.from({ length: 201 }, (_, i) => `m${i}`) }))).toEqual([
      'movieIds',
    ]);
  });

  it('names the field when one is at fault, and lists every problem at once', () => {
    const one = (() => {
      try {
        parsePromotionInput(input({ value: 0 }));
      } catch (error) {
        return error as DomainError;
      }
    })();
    expect(one?.extensions).toEqual({ code: 'BAD_USER_INPUT', field: 'value' });

    const many = (() => {
      try {
        parsePromotionInput(input({ code: 'x', value: 0, usageLimit: 0 }));
      } catch (error) {
        return error as DomainError;
      }
    })();
    expect(many?.extensions).toEqual({ code: 'BAD_USER_INPUT' });
    expect(many?.message).toMatch(/^code: .*; value: .*; usageLimit: /);
  });

  it('validates an update against the whole merged promotion', () => {
    const existing = parsePromotionInput(
      input({ type: 'FIXED_AMOUNT', value: 50_000, usageLimit: 100 }),
    );
    expect(applyPromotionPatch(existing, { value: 40_000 })).toMatchObject({
      code: 'SPRING10',
      value: 40_000,
      usageLimit: 100,
    });
    expect(applyPromotionPatch(existing, { usageLimit: null }).usageLimit).toBeNull();
    expect(applyPromotionPatch(existing, { usageLimit: undefined }).usageLimit).toBe(100);
    expect(() => applyPromotionPatch(existing, { type: 'PERCENTAGE' })).toThrow(/value/);
    expect(applyPromotionPatch(existing, { type: 'PERCENTAGE', value: 20 }).type).toBe(
      'PERCENTAGE',
    );
    expect(() => applyPromotionPatch(existing, { validFrom: TO })).toThrow(/validTo/);
    expect(applyPromotionPatch(existing, { active: false }).active).toBe(false);
  });
});

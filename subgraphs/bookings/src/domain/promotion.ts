import { DomainError, issuesError, type FieldIssue } from './errors';

/** How a promotion rewards the customer (DESIGN.md §3). */
export type PromotionType = 'PERCENTAGE' | 'FIXED_AMOUNT' | 'FREE_ITEM' | 'POINTS';

export const PROMOTION_TYPES: readonly PromotionType[] = [
  'PERCENTAGE',
  'FIXED_AMOUNT',
  'FREE_ITEM',
  'POINTS',
];

/** Days of the week, as a GraphQL enum would name them. */
export type DayOfWeek =
  'MONDAY' | 'TUESDAY' | 'WEDNESDAY' | 'THURSDAY' | 'FRIDAY' | 'SATURDAY' | 'SUNDAY';

/** Indexed like `Date#getUTCDay()`: 0 is Sunday. */
const DAYS_BY_INDEX: readonly DayOfWeek[] = [
  'SUNDAY',
  'MONDAY',
  'TUESDAY',
  'WEDNESDAY',
  'THURSDAY',
  'FRIDAY',
  'SATURDAY',
];

/** `extensions.reason` of `PROMOTION_INVALID`, exactly the contract's list. */
export type PromotionInvalidReason =
  | 'UNKNOWN'
  | 'INACTIVE'
  | 'NOT_STARTED'
  | 'EXPIRED'
  | 'NOT_APPLICABLE'
  | 'MIN_PURCHASE_NOT_MET'
  | 'USAGE_LIMIT_REACHED'
  | 'PER_USER_LIMIT_REACHED';

/**
 * A promotion as the rules need it (the entity maps onto this). Amounts are integer VND.
 * A null or empty condition list means "no restriction".
 */
export interface PromotionRule {
  /** Canonical form: upper case (see {@link normalizePromotionCode}). */
  code: string;
  type: PromotionType;
  /**
   * PERCENTAGE: the percent (integer 1..100); FIXED_AMOUNT: VND off; FREE_ITEM: how many of
   * the free item; POINTS: bonus points granted when the booking completes.
   */
  value: number;
  /** PERCENTAGE only: the largest discount in VND; null for no cap. */
  maxDiscount: number | null;
  /** The subtotal (seats + concessions, before any discount) must reach this, VND. */
  minPurchase: number;
  /** Inclusive at both ends: `validFrom ≤ now ≤ validTo`. */
  validFrom: Date;
  validTo: Date;
  active: boolean;
  /** Uses over all customers; null for unlimited. */
  usageLimit: number | null;
  /** Uses per customer; null for unlimited. */
  usagePerUser: number | null;
  movieIds: readonly string[] | null;
  cinemaIds: readonly string[] | null;
  /** Days of the showtime's start in Vietnam (GMT+7), whatever the server's time zone. */
  daysOfWeek: readonly DayOfWeek[] | null;
  /** FREE_ITEM only: the concession given free. */
  freeConcessionId: string | null;
}

/** What a booking looks like to the promotion checks. */
export interface PromotionContext {
  now: Date;
  /** Seats + concessions before any discount, VND. */
  subtotal: number;
  showtime: { movieId: string; cinemaId: string; startsAt: Date };
  /**
   * Uses so far, counting PENDING bookings (a PENDING booking reserves its use, as a cart
   * counts against a quota) and confirmed ones; cancelled and expired ones gave theirs back.
   * These counts make the answer early and precise; the atomic guard is the reservation in the
   * database (see {@link canReserveUse}).
   */
  usage: { total: number; byUser: number };
  /**
   * FREE_ITEM: whether the free concession is sold at the showtime's cinema (concessions are
   * per cinema). Omitted: not checked.
   */
  isOfferedAtCinema?: (concessionId: string) => boolean;
}

/** A concession line added at 0 VND by a FREE_ITEM promotion. */
export interface FreeItem {
  concessionId: string;
  quantity: number;
}

/** What an applicable promotion does to a booking. */
export interface PromotionEffect {
  code: string;
  type: PromotionType;
  /** VND off the subtotal, 0 ≤ discount ≤ subtotal. */
  discount: number;
  freeItems: FreeItem[];
  /** Points granted on completion, on top of the points earned by the amount paid. */
  bonusPoints: number;
}

export type PromotionCheck =
  | { ok: true; effect: PromotionEffect }
  | { ok: false; reason: PromotionInvalidReason; message: string };

const HOUR_MS = 3_600_000;
/** Vietnam has had no daylight saving time since 1975: a fixed offset is exact. */
const VIETNAM_OFFSET_MS = 7 * HOUR_MS;

/** The day of the week of an instant in Vietnam (GMT+7), independent of the server's zone. */
export function dayOfWeekInVietnam(instant: Date): DayOfWeek {
  return DAYS_BY_INDEX[new Date(instant.getTime() + VIETNAM_OFFSET_MS).getUTCDay()];
}

/** A promotion code as typed, in canonical form: trimmed, upper case. */
export function normalizePromotionCode(code: string): string {
  return code.trim().toUpperCase();
}

/**
 * Whether one more use fits a limit: `used < limit`, or always when there is no limit.
 *
 * This is the rule; atomicity is the database's. Reserve with one conditional statement in
 * the booking's transaction, e.g.
 * `UPDATE promotions SET used_count = used_count + 1 WHERE id = :id AND active
 *  AND (usage_limit IS NULL OR used_count < usage_limit) RETURNING used_count`
 * (no row: USAGE_LIMIT_REACHED), and the per-user count likewise on a
 * `promotion_user_usage (promotion_id, user_id)` row upserted then updated under the same
 * condition, so 50 concurrent bookings against a limit of 10 give exactly 10 uses.
 */
export function canReserveUse(used: number, limit: number | null): boolean {
  return limit === null || used < limit;
}

/**
 * The discount in VND a promotion gives on a subtotal, with integer arithmetic only:
 * PERCENTAGE is `floor(subtotal × percent / 100)` (rounded down, in the customer's disfavour
 * by under 1 VND, never to a fraction) then capped by `maxDiscount`; FIXED_AMOUNT is its value
 * capped at the subtotal; FREE_ITEM and POINTS take nothing off the amount.
 */
export function promotionDiscount(rule: PromotionRule, subtotal: number): number {
  switch (rule.type) {
    case 'PERCENTAGE': {
      const raw = Math.floor((subtotal * rule.value) / 100);
      return Math.min(raw, rule.maxDiscount ?? raw, subtotal);
    }
    case 'FIXED_AMOUNT':
      return Math.min(rule.value, subtotal);
    case 'FREE_ITEM':
    case 'POINTS':
      return 0;
  }
}

const refuse = (reason: PromotionInvalidReason, message: string): PromotionCheck => ({
  ok: false,
  reason,
  message,
});

const restricts = <T>(list: readonly T[] | null): list is readonly T[] =>
  list !== null && list.length > 0;

/**
 * Checks one promotion against a booking, in a fixed order, and says the first reason it
 * fails, or what it does.
 *
 * The order: UNKNOWN (no such code), INACTIVE, NOT_STARTED, EXPIRED, NOT_APPLICABLE (movie,
 * cinema, day of week, free item not sold here), MIN_PURCHASE_NOT_MET, USAGE_LIMIT_REACHED,
 * PER_USER_LIMIT_REACHED. The promotion's own state first; then the conditions the customer
 * cannot change before the one they can (telling them to buy more for a promotion that can
 * never apply to this showtime would mislead); the usage limits last, because they change
 * with other people's bookings and the database has the final word on them.
 */
export function checkPromotion(rule: PromotionRule | null, ctx: PromotionContext): PromotionCheck {
  if (rule === null) return refuse('UNKNOWN', 'There is no promotion with this code');
  if (!rule.active) return refuse('INACTIVE', `Promotion ${rule.code} is not active`);
  const now = ctx.now.getTime();
  if (now < rule.validFrom.getTime()) {
    return refuse(
      'NOT_STARTED',
      `Promotion ${rule.code} starts at ${rule.validFrom.toISOString()}`,
    );
  }
  if (now > rule.validTo.getTime()) {
    return refuse('EXPIRED', `Promotion ${rule.code} ended at ${rule.validTo.toISOString()}`);
  }
  if (restricts(rule.movieIds) && !rule.movieIds.includes(ctx.showtime.movieId)) {
    return refuse('NOT_APPLICABLE', `Promotion ${rule.code} does not apply to this movie`);
  }
  if (restricts(rule.cinemaIds) && !rule.cinemaIds.includes(ctx.showtime.cinemaId)) {
    return refuse('NOT_APPLICABLE', `Promotion ${rule.code} does not apply at this cinema`);
  }
  if (restricts(rule.daysOfWeek)) {
    const day = dayOfWeekInVietnam(ctx.showtime.startsAt);
    if (!rule.daysOfWeek.includes(day)) {
      return refuse(
        'NOT_APPLICABLE',
        `Promotion ${rule.code} applies on ${rule.daysOfWeek.join(', ')}, not ${day}`,
      );
    }
  }
  if (
    rule.type === 'FREE_ITEM' &&
    rule.freeConcessionId !== null &&
    ctx.isOfferedAtCinema &&
    !ctx.isOfferedAtCinema(rule.freeConcessionId)
  ) {
    return refuse('NOT_APPLICABLE', `The free item of ${rule.code} is not sold at this cinema`);
  }
  if (ctx.subtotal < rule.minPurchase) {
    return refuse(
      'MIN_PURCHASE_NOT_MET',
      `Promotion ${rule.code} needs a purchase of at least ${rule.minPurchase} VND`,
    );
  }
  if (!canReserveUse(ctx.usage.total, rule.usageLimit)) {
    return refuse('USAGE_LIMIT_REACHED', `Promotion ${rule.code} has been used up`);
  }
  if (!canReserveUse(ctx.usage.byUser, rule.usagePerUser)) {
    return refuse(
      'PER_USER_LIMIT_REACHED',
      `You have already used promotion ${rule.code} the most times allowed`,
    );
  }
  return {
    ok: true,
    effect: {
      code: rule.code,
      type: rule.type,
      discount: promotionDiscount(rule, ctx.subtotal),
      freeItems:
        rule.type === 'FREE_ITEM' && rule.freeConcessionId !== null
          ? [{ concessionId: rule.freeConcessionId, quantity: rule.value }]
          : [],
      bonusPoints: rule.type === 'POINTS' ? rule.value : 0,
    },
  };
}

/** The `PROMOTION_INVALID` error for a reason, with `extensions.reason`. */
export function promotionInvalid(reason: PromotionInvalidReason, message: string): DomainError {
  return new DomainError('PROMOTION_INVALID', message, { reason });
}

/** {@link checkPromotion}, throwing `PROMOTION_INVALID` (with `extensions.reason`) on refusal. */
export function applyPromotion(rule: PromotionRule | null, ctx: PromotionContext): PromotionEffect {
  const check = checkPromotion(rule, ctx);
  if (!check.ok) throw promotionInvalid(check.reason, check.message);
  return check.effect;
}

// ---- ADMIN input -------------------------------------------------------------------------

/** What ADMIN sends to create a promotion. */
export interface PromotionInput {
  code: string;
  type: PromotionType;
  value: number;
  maxDiscount?: number | null;
  minPurchase?: number | null;
  validFrom: Date;
  validTo: Date;
  active?: boolean | null;
  usageLimit?: number | null;
  usagePerUser?: number | null;
  movieIds?: readonly string[] | null;
  cinemaIds?: readonly string[] | null;
  daysOfWeek?: readonly DayOfWeek[] | null;
  freeConcessionId?: string | null;
}

/**
 * What ADMIN sends to update one: any field but the code (the code is what customers have
 * been given; a new code is a new promotion). An absent field keeps its value; `null` clears
 * an optional one.
 */
export type PromotionPatch = Partial<Omit<PromotionInput, 'code'>>;

/** Upper case letters, digits, `-` and `_`; 3 to 32 characters; starts with a letter or digit. */
export const PROMOTION_CODE_PATTERN = /^[A-Z0-9][A-Z0-9_-]{2,31}$/;
/** Amounts are stored in `int` columns: nothing above 2^31 − 1 VND fits. */
export const MAX_AMOUNT = 2_147_483_647;
/** FREE_ITEM gives at most this many items: more is surely a typo for a price. */
export const MAX_FREE_ITEMS = 10;
/** POINTS gives at most this many bonus points (100,000,000 VND of discount). */
export const MAX_BONUS_POINTS = 100_000;
/** At most this many movie or cinema ids in a condition. */
export const MAX_CONDITION_IDS = 200;

const isInt = (v: unknown): v is number => typeof v === 'number' && Number.isSafeInteger(v);

const isValidDate = (v: unknown): v is Date => v instanceof Date && !Number.isNaN(v.getTime());

function checkAmount(
  issues: FieldIssue[],
  field: string,
  value: number | null | undefined,
  min: number,
): void {
  if (value === null || value === undefined) return;
  if (!isInt(value) || value < min || value > MAX_AMOUNT) {
    issues.push({ field, message: `must be an integer from ${min} to ${MAX_AMOUNT} VND` });
  }
}

function checkIds(issues: FieldIssue[], field: string, ids: readonly string[] | null | undefined) {
  if (ids === null || ids === undefined) return;
  if (ids.length === 0) {
    issues.push({ field, message: 'must not be empty (leave it out, or null, for "all")' });
  } else if (ids.length > MAX_CONDITION_IDS) {
    issues.push({ field, message: `must list at most ${MAX_CONDITION_IDS} ids` });
  } else if (ids.some((id) => typeof id !== 'string' || id.trim() === '')) {
    issues.push({ field, message: 'must not contain empty ids' });
  } else if (new Set(ids).size !== ids.length) {
    issues.push({ field, message: 'must not repeat an id' });
  }
}

/**
 * Every problem with a promotion input (one issue per rule broken); empty when it is valid. Ranges: PERCENTAGE value 1..100 with an optional `maxDiscount` ≥ 0;
 * FIXED_AMOUNT value ≥ 1 VND (a zero discount is a mistake); FREE_ITEM value 1..10 items and a
 * `freeConcessionId`; POINTS value 1..100,000; `minPurchase` ≥ 0; every amount an integer that
 * fits the `int` columns; `validFrom < validTo`; limits ≥ 1 when set; condition lists
 * non-empty, without repeats.
 */
export function validatePromotionInput(input: PromotionInput): FieldIssue[] {
  const issues: FieldIssue[] = [];
  if (
    typeof input.code !== 'string' ||
    !PROMOTION_CODE_PATTERN.test(normalizePromotionCode(input.code))
  ) {
    issues.push({
      field: 'code',
      message: 'must be 3 to 32 letters, digits, "-" or "_", starting with a letter or digit',
    });
  }
  if (!PROMOTION_TYPES.includes(input.type)) {
    issues.push({ field: 'type', message: `must be one of ${PROMOTION_TYPES.join(', ')}` });
  } else {
    const v = input.value;
    const range = (min: number, max: number, unit: string) => {
      if (!isInt(v) || v < min || v > max) {
        issues.push({
          field: 'value',
          message: `must be an integer from ${min} to ${max} ${unit}`,
        });
      }
    };
    switch (input.type) {
      case 'PERCENTAGE':
        range(1, 100, 'percent');
        break;
      case 'FIXED_AMOUNT':
        range(1, MAX_AMOUNT, 'VND');
        break;
      case 'FREE_ITEM':
        range(1, MAX_FREE_ITEMS, 'items');
        break;
      case 'POINTS':
        range(1, MAX_BONUS_POINTS, 'points');
        break;
    }
    if (input.type !== 'PERCENTAGE' && input.maxDiscount != null) {
      issues.push({ field: 'maxDiscount', message: 'applies to PERCENTAGE promotions only' });
    }
    if (input.type === 'FREE_ITEM') {
      if (typeof input.freeConcessionId !== 'string' || input.freeConcessionId.trim() === '') {
        issues.push({
          field: 'freeConcessionId',
          message: 'is required for a FREE_ITEM promotion',
        });
      }
    } else if (input.freeConcessionId != null) {
      issues.push({ field: 'freeConcessionId', message: 'applies to FREE_ITEM promotions only' });
    }
  }
  checkAmount(issues, 'maxDiscount', input.maxDiscount, 0);
  checkAmount(issues, 'minPurchase', input.minPurchase, 0);
  if (!isValidDate(input.validFrom)) {
    issues.push({ field: 'validFrom', message: 'must be a date-time' });
  }
  if (!isValidDate(input.validTo)) {
    issues.push({ field: 'validTo', message: 'must be a date-time' });
  } else if (isValidDate(input.validFrom) && input.validFrom.getTime() >= input.validTo.getTime()) {
    issues.push({ field: 'validTo', message: 'must be after validFrom' });
  }
  for (const field of ['usageLimit', 'usagePerUser'] as const) {
    const limit = input[field];
    if (limit != null && (!isInt(limit) || limit < 1 || limit > MAX_AMOUNT)) {
      issues.push({ field, message: 'must be an integer of at least 1 (or null for no limit)' });
    }
  }
  checkIds(issues, 'movieIds', input.movieIds);
  checkIds(issues, 'cinemaIds', input.cinemaIds);
  const days = input.daysOfWeek;
  if (days != null) {
    if (days.length === 0) {
      issues.push({
        field: 'daysOfWeek',
        message: 'must not be empty (leave it out, or null, for every day)',
      });
    } else if (days.some((d) => !DAYS_BY_INDEX.includes(d))) {
      issues.push({ field: 'daysOfWeek', message: `must be among ${DAYS_BY_INDEX.join(', ')}` });
    } else if (new Set(days).size !== days.length) {
      issues.push({ field: 'daysOfWeek', message: 'must not repeat a day' });
    }
  }
  return issues;
}

/**
 * A valid input as the rule to store (code normalised, defaults filled: active, no minimum
 * purchase, no limits, no conditions), or BAD_USER_INPUT listing every problem.
 */
export function parsePromotionInput(input: PromotionInput): PromotionRule {
  const issues = validatePromotionInput(input);
  if (issues.length > 0) throw issuesError(issues);
  return {
    code: normalizePromotionCode(input.code),
    type: input.type,
    value: input.value,
    maxDiscount: input.maxDiscount ?? null,
    minPurchase: input.minPurchase ?? 0,
    validFrom: input.validFrom,
    validTo: input.validTo,
    active: input.active ?? true,
    usageLimit: input.usageLimit ?? null,
    usagePerUser: input.usagePerUser ?? null,
    movieIds: input.movieIds ?? null,
    cinemaIds: input.cinemaIds ?? null,
    daysOfWeek: input.daysOfWeek ?? null,
    freeConcessionId: input.freeConcessionId ?? null,
  };
}

/**
 * An existing promotion with an ADMIN update applied, validated as a whole (changing the type
 * re-checks the value, moving `validFrom` re-checks it against `validTo`), or BAD_USER_INPUT.
 * Lowering `usageLimit` under the uses so far is allowed: it only stops new uses.
 */
export function applyPromotionPatch(existing: PromotionRule, patch: PromotionPatch): PromotionRule {
  const merged: PromotionInput = { ...existing };
  for (const [key, value] of Object.entries(patch) as [keyof PromotionPatch, unknown][]) {
    if (value !== undefined) (merged as unknown as Record<string, unknown>)[key] = value;
  }
  return parsePromotionInput(merged);
}

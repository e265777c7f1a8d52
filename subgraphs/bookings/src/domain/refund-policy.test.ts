import { DomainError } from './errors';
import { refundFor } from './refund-policy';

const HOUR = 3_600_000;
const START = new Date('2025-06-01T12:00:00.000Z');
const before = (ms: number) => new Date(START.getTime() - ms);
const refund = (now: Date, amountPaid = 250_000) => refundFor({ amountPaid, startsAt: START, now });

describe('refund policy', () => {
  it.each([
    ['a week', 7 * 24 * HOUR, 90],
    ['exactly 24 h', 24 * HOUR, 90],
    ['1 ms under 24 h', 24 * HOUR - 1, 70],
    ['exactly 12 h', 12 * HOUR, 70],
    ['1 ms under 12 h', 12 * HOUR - 1, 50],
    ['exactly 6 h', 6 * HOUR, 50],
  ])('refunds %s before the start at that tier', (_, ms, percent) => {
    expect(refund(before(ms))).toEqual({
      percent,
      amount: (250_000 * percent) / 100,
      msBeforeStart: ms,
    });
  });

  it.each([
    ['1 ms under 6 h', 6 * HOUR - 1],
    ['at the start', 0],
    ['after the start', -HOUR],
  ])('refuses to cancel %s', (_, ms) => {
    try {
      refund(before(ms));
      throw new Error('expected a refusal');
    } catch (error) {
      expect(error).toBeInstanceOf(DomainError);
      expect((error as DomainError).extensions.code).toBe('CANCELLATION_WINDOW_CLOSED');
      expect((error as DomainError).message).toMatch(/6 hours/);
    }
  });

  it('rounds down to a whole dong', () => {
    expect(refund(before(24 * HOUR), 99_999).amount).toBe(89_999);
    expect(refund(before(12 * HOUR), 99_999).amount).toBe(69_999);
    expect(refund(before(6 * HOUR), 99_999).amount).toBe(49_999);
    expect(refund(before(6 * HOUR), 1).amount).toBe(0);
    expect(refund(before(24 * HOUR), 0).amount).toBe(0);
  });

  it('refuses an amount that is not integer VND', () => {
    expect(() => refund(before(24 * HOUR), 100.5)).toThrow(/integer/);
    expect(() => refund(before(24 * HOUR), -1)).toThrow(/integer/);
  });
});

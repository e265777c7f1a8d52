import { BookingStatus } from '../booking/booking.entity';
import {
  assertTransition,
  BOOKING_STATES,
  canTransition,
  isTerminal,
  recordTransition,
  type BookingState,
} from './booking-state';
import { DomainError } from './errors';

const LEGAL: readonly [BookingState, BookingState][] = [
  ['PENDING', 'CONFIRMED'],
  ['PENDING', 'EXPIRED'],
  ['PENDING', 'CANCELLED'],
  ['CONFIRMED', 'COMPLETED'],
  ['CONFIRMED', 'CANCELLED'],
  ['EXPIRED', 'CONFIRMED'],
];
const isLegal = (from: BookingState, to: BookingState) =>
  LEGAL.some(([f, t]) => f === from && t === to);
const ALL_PAIRS = BOOKING_STATES.flatMap((from) =>
  BOOKING_STATES.map((to) => [from, to] as [BookingState, BookingState]),
);

const at = new Date('2025-03-01T10:00:00.000Z');
const system = { kind: 'service', service: 'payments' } as const;
const customer = { kind: 'user', userId: 'user-1' } as const;

function thrown(fn: () => unknown): DomainError {
  try {
    fn();
  } catch (error) {
    expect(error).toBeInstanceOf(DomainError);
    return error as DomainError;
  }
  throw new Error('expected a DomainError');
}

describe('booking state machine', () => {
  it('has the same states as the entity enum', () => {
    expect([...BOOKING_STATES].sort()).toEqual(Object.values(BookingStatus).sort());
  });

  it.each(ALL_PAIRS)('%s → %s is legal exactly when DESIGN §3 says so', (from, to) => {
    expect(canTransition(from, to)).toBe(isLegal(from, to));
    if (isLegal(from, to)) {
      expect(() => assertTransition(from, to)).not.toThrow();
    } else {
      const error = thrown(() => assertTransition(from, to));
      expect(error.code).toBe('INVALID_STATE_TRANSITION');
      expect(error.extensions).toMatchObject({
        code: 'INVALID_STATE_TRANSITION',
        reason: `${from}_TO_${to}`,
        from,
        to,
      });
    }
  });

  it('never lets a state transition to itself (a replayed confirmation is refused)', () => {
    const error = thrown(() => assertTransition('CONFIRMED', 'CONFIRMED'));
    expect(error.message).toBe('The booking is already CONFIRMED');
  });

  it('says which states are terminal', () => {
    expect(BOOKING_STATES.filter(isTerminal).sort()).toEqual(['CANCELLED', 'COMPLETED']);
  });

  it('records who, when, from, to and why', () => {
    expect(
      recordTransition({
        bookingId: 'b1',
        from: 'PENDING',
        to: 'CANCELLED',
        actor: customer,
        reason: 'changed my mind',
        at,
      }),
    ).toEqual({
      bookingId: 'b1',
      from: 'PENDING',
      to: 'CANCELLED',
      actor: customer,
      reason: 'changed my mind',
      at,
    });
    expect(
      recordTransition({ bookingId: 'b1', from: 'PENDING', to: 'EXPIRED', actor: system, at })
        .reason,
    ).toBeNull();
  });

  it.each(LEGAL)('lets the system make %s → %s', (from, to) => {
    expect(recordTransition({ bookingId: 'b', from, to, actor: system, at }).to).toBe(to);
  });

  it.each([
    ['PENDING', 'CONFIRMED'],
    ['PENDING', 'EXPIRED'],
    ['CONFIRMED', 'COMPLETED'],
    ['EXPIRED', 'CONFIRMED'],
  ] as const)('refuses %s → %s when a user asks for it', (from, to) => {
    const error = thrown(() => recordTransition({ bookingId: 'b', from, to, actor: customer, at }));
    expect(error.code).toBe('INVALID_STATE_TRANSITION');
  });

  it('lets a user cancel a PENDING or a CONFIRMED booking', () => {
    for (const from of ['PENDING', 'CONFIRMED'] as const) {
      expect(
        recordTransition({ bookingId: 'b', from, to: 'CANCELLED', actor: customer, at }).to,
      ).toBe('CANCELLED');
    }
  });

  it('refuses an illegal transition even from the system', () => {
    const error = thrown(() =>
      recordTransition({ bookingId: 'b', from: 'CANCELLED', to: 'CONFIRMED', actor: system, at }),
    );
    expect(error.extensions.reason).toBe('CANCELLED_TO_CONFIRMED');
  });
});

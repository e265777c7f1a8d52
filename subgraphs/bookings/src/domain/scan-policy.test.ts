import { DOORS_OPEN_BEFORE_MS, scanDecision, type TicketStatus } from './scan-policy';

const START = new Date('2025-06-01T12:00:00.000Z');
const END = new Date('2025-06-01T14:10:00.000Z');
const USED_AT = new Date('2025-06-01T11:40:00.000Z');
const at = (ms: number) => new Date(ms);

const scan = (now: Date, ticketStatus: TicketStatus = 'VALID', usedAt: Date | null = null) =>
  scanDecision({ ticketStatus, usedAt, showtime: { startsAt: START, endsAt: END }, now });

describe('scan policy', () => {
  it('opens the doors 30 minutes before the start, not a millisecond earlier', () => {
    const open = START.getTime() - DOORS_OPEN_BEFORE_MS;
    expect(DOORS_OPEN_BEFORE_MS).toBe(30 * 60_000);
    expect(scan(at(open - 1))).toEqual({ accepted: false, reason: 'NOT_YET_OPEN' });
    expect(scan(at(open))).toEqual({ accepted: true });
    expect(scan(START)).toEqual({ accepted: true });
  });

  it('refuses from the end of the showtime on', () => {
    expect(scan(at(END.getTime() - 1))).toEqual({ accepted: true });
    expect(scan(END)).toEqual({ accepted: false, reason: 'SHOWTIME_ENDED' });
    expect(scan(at(END.getTime() + 3_600_000))).toEqual({
      accepted: false,
      reason: 'SHOWTIME_ENDED',
    });
  });

  it('says when a used ticket was first used, whatever the time', () => {
    for (const now of [START, at(START.getTime() - 86_400_000), END]) {
      expect(scan(now, 'USED', USED_AT)).toEqual({
        accepted: false,
        reason: 'ALREADY_USED',
        usedAt: USED_AT,
      });
    }
  });

  it('refuses a cancelled ticket whatever the time', () => {
    for (const now of [START, at(START.getTime() - 86_400_000), END]) {
      expect(scan(now, 'CANCELLED')).toEqual({ accepted: false, reason: 'CANCELLED' });
    }
  });
});

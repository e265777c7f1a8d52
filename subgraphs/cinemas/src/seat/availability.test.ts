import { SeatType, type Seat } from '../cinema/cinema.entity';
import { AVAILABILITY_FIELDS, seatAvailability } from './availability';

const seat = (id: string, type: SeatType, blocked = false): Seat => ({
  id,
  hallId: 'h',
  row: 'A',
  number: 1,
  column: 1,
  type,
  blocked,
});

describe('seatAvailability', () => {
  const seats = [
    seat('v1', SeatType.VIP),
    seat('s1', SeatType.STANDARD),
    seat('s2', SeatType.STANDARD),
    seat('s3', SeatType.STANDARD),
    seat('s4', SeatType.STANDARD),
    seat('s5', SeatType.STANDARD, true),
    seat('c1', SeatType.COUPLE),
  ];
  const nothingTaken = { booked: new Set<string>(), pending: new Map<string, string>() };

  it('counts sellable seats in all and per type, null for the types the hall lacks', () => {
    expect(seatAvailability(seats, nothingTaken, new Map())).toEqual({
      total: 6,
      available: 6,
      standard: { total: 4, available: 4 },
      vip: { total: 1, available: 1 },
      couple: { total: 1, available: 1 },
      premium: null,
      accessible: null,
    });
  });

  it('takes sold, PENDING and held seats off, each once, and names no holder', () => {
    const reserved = { booked: new Set(['s1']), pending: new Map([['s2', 'tag-a']]) };
    // s2 is in the PENDING booking and in the hold store alike: counted once.
    const holds = new Map([
      ['s2', 'tag-a'],
      ['v1', 'tag-b'],
    ]);
    const availability = seatAvailability(seats, reserved, holds);
    expect(availability).toMatchObject({
      total: 6,
      available: 3,
      standard: { total: 4, available: 2 },
      vip: { total: 1, available: 0 },
      couple: { total: 1, available: 1 },
    });
    expect(JSON.stringify(availability)).not.toMatch(/tag-/);
  });

  it('has a field for every seat type', () => {
    expect(Object.keys(AVAILABILITY_FIELDS).sort()).toEqual(Object.values(SeatType).sort());
  });
});

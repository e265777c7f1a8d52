import { Directive, Field, Int, ObjectType } from 'type-graphql';
import { PUBLIC_TAG } from '../../../../runtime/contracts/partner-graph';
import { SeatType, type Seat } from '../cinema/cinema.entity';
import type { ShowtimeReservations } from './seat.service';

@ObjectType({ description: 'Seats that can be sold, and how many of them are free now.' })
@Directive(PUBLIC_TAG)
export class SeatCount {
  @Directive(PUBLIC_TAG)
  @Field(() => Int, { description: 'Seats that can be sold (blocked ones left out).' })
  total: number;

  @Directive(PUBLIC_TAG)
  @Field(() => Int, { description: 'Of those, the ones neither sold, booked nor held now.' })
  available: number;
}

const typeField = (type: string) =>
  Field(() => SeatCount, {
    nullable: true,
    description: `${type} seats (null when the hall has none).`,
  });

/**
 * A showtime's seats, in all and per seat type: counts only (for the public graph too), so
 * nothing in it can tell who holds or bought which seat. One field per seat type rather than
 * a list: a partner asks for the types it sells, and the answer's size is fixed.
 */
@ObjectType({ description: "A showtime's seats, in all and per seat type: counts only." })
@Directive(PUBLIC_TAG)
export class SeatAvailability extends SeatCount {
  @Directive(PUBLIC_TAG)
  @typeField('Standard')
  standard: SeatCount | null;

  @Directive(PUBLIC_TAG)
  @typeField('VIP')
  vip: SeatCount | null;

  @Directive(PUBLIC_TAG)
  @typeField('Couple')
  couple: SeatCount | null;

  @Directive(PUBLIC_TAG)
  @typeField('Premium')
  premium: SeatCount | null;

  @Directive(PUBLIC_TAG)
  @typeField('Accessible')
  accessible: SeatCount | null;
}

/** The field of `SeatAvailability` that holds each seat type's counts. */
export const AVAILABILITY_FIELDS = {
  [SeatType.STANDARD]: 'standard',
  [SeatType.VIP]: 'vip',
  [SeatType.COUPLE]: 'couple',
  [SeatType.PREMIUM]: 'premium',
  [SeatType.ACCESSIBLE]: 'accessible',
} as const satisfies Record<SeatType, keyof SeatAvailability>;

/**
 * A showtime's availability from the seat map's reads: a seat is free when it is not
 * blocked, not sold, not in a PENDING booking and not held, and none is in a cancelled
 * (`closed`) showtime, so `available` in all is `availableSeats`.
 */
export function seatAvailability(
  seats: readonly Seat[],
  { booked, pending }: ShowtimeReservations,
  holds: ReadonlyMap<string, string>,
  closed = false,
): SeatAvailability {
  const all: SeatAvailability = {
    total: 0,
    available: 0,
    standard: null,
    vip: null,
    couple: null,
    premium: null,
    accessible: null,
  };
  for (const seat of seats) {
    if (seat.blocked) continue;
    const field = AVAILABILITY_FIELDS[seat.type];
    const ofType = (all[field] ??= { total: 0, available: 0 });
    const free = !closed && !booked.has(seat.id) && !pending.has(seat.id) && !holds.has(seat.id);
    for (const count of [all, ofType]) {
      count.total += 1;
      if (free) count.available += 1;
    }
  }
  return all;
}

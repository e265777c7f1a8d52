/**
 * The holds the open-loop benchmark sends: every one for one sellable seat of an upcoming
 * demo showtime, by a user of its own, no (showtime, seat) twice in a run, so that no rule of
 * the hold store (the user's rate, its 8 seats, its showtimes, another's hold) refuses one.
 * Showtimes are taken in turn, so that consecutive holds go to different showtimes, as many
 * users do across a chain; those the other parts of the benchmark use are left out.
 */
import type { buildDemoPlan } from '../../scripts/seed/demo-plan';

type Plan = ReturnType<typeof buildDemoPlan>;

export interface PlannedHold {
  readonly showtimeId: string;
  readonly seatId: string;
}

const HOUR = 3_600_000;

/** Every free (showtime, seat) of showtimes at least a day ahead with no demo booking, interleaved. */
export function holdPairs(plan: Plan, exclude: ReadonlySet<string>): PlannedHold[] {
  const booked = new Set(plan.bookings.map((b) => b.showtimeId));
  const sellable = new Map<string, string[]>();
  for (const seat of plan.seats) {
    if (seat.blocked) continue;
    const seats = sellable.get(seat.hallId) ?? [];
    seats.push(seat.id);
    sellable.set(seat.hallId, seats);
  }
  const showtimes = plan.showtimes.filter(
    (s) => s.startsAt.getTime() > Date.now() + 24 * HOUR && !booked.has(s.id) && !exclude.has(s.id),
  );
  const queues = showtimes.map((s) => ({ showtimeId: s.id, seats: sellable.get(s.hallId) ?? [] }));
  const pairs: PlannedHold[] = [];
  for (let round = 0; queues.some((q) => round < q.seats.length); round++) {
    for (const q of queues) {
      if (round < q.seats.length) pairs.push({ showtimeId: q.showtimeId, seatId: q.seats[round] });
    }
  }
  return pairs;
}

/** Hands out planned holds in order, never one twice; throws when the plan runs out. */
export class HoldSupply {
  private next = 0;

  /** How many showtimes the plan's holds are on. */
  readonly showtimeCount: number;

  constructor(private readonly pairs: readonly PlannedHold[]) {
    this.showtimeCount = new Set(pairs.map((p) => p.showtimeId)).size;
  }

  take(count: number): PlannedHold[] {
    if (this.next + count > this.pairs.length) {
      throw new Error(`the demo plan has ${this.pairs.length} free seats; asked for more`);
    }
    const taken = this.pairs.slice(this.next, this.next + count);
    this.next += count;
    return taken;
  }
}

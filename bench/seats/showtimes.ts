/** Which demo showtimes the seats benchmark uses, chosen from the demo plan it was seeded with. */
import type { buildDemoPlan } from '../../scripts/seed/demo-plan';

/** Halls are compared by their sellable (not blocked) seats against this. */
export const RUSH_HALL_SEATS = 200;
const HOUR = 3_600_000;

type Plan = ReturnType<typeof buildDemoPlan>;

function hallsBySellable(plan: Plan) {
  const sellable = new Map<string, number>();
  const total = new Map<string, number>();
  for (const seat of plan.seats) {
    total.set(seat.hallId, (total.get(seat.hallId) ?? 0) + 1);
    if (!seat.blocked) sellable.set(seat.hallId, (sellable.get(seat.hallId) ?? 0) + 1);
  }
  return plan.halls.map((h) => ({
    ...h,
    seats: total.get(h.id) ?? 0,
    sellable: sellable.get(h.id) ?? 0,
  }));
}

/**
 * Showtimes far enough ahead (a day, so none starts during the run), none with a demo
 * booking: the rush's showtime in the hall closest to 200 sellable seats, the fan-out's and
 * the warm-up's in other halls.
 */
export function chooseShowtimes(plan: Plan) {
  const halls = hallsBySellable(plan);
  const booked = new Set(plan.bookings.map((b) => b.showtimeId));
  const upcoming = plan.showtimes.filter(
    (s) => s.startsAt.getTime() > Date.now() + 24 * HOUR && !booked.has(s.id),
  );
  const withShowtimes = halls.filter((h) => upcoming.some((s) => s.hallId === h.id));
  const rushHall = [...withShowtimes].sort(
    (a, b) =>
      Math.abs(a.sellable - RUSH_HALL_SEATS) - Math.abs(b.sellable - RUSH_HALL_SEATS) ||
      a.id.localeCompare(b.id),
  )[0];
  if (!rushHall) throw new Error('no upcoming demo showtime found');
  const others = withShowtimes.filter((h) => h.id !== rushHall.id);
  const first = (hallId: string) => upcoming.find((s) => s.hallId === hallId)!;
  const fanoutHall = others[0] ?? rushHall;
  const warmupHall = others[1] ?? others[0] ?? rushHall;
  return {
    rush: { showtime: first(rushHall.id), hall: rushHall },
    /** A second rush in the same hall (`bench:holds` runs one from cold, one from the page). */
    rushAgain: {
      showtime: upcoming.filter((s) => s.hallId === rushHall.id)[1] ?? first(rushHall.id),
      hall: rushHall,
    },
    fanout: { showtime: first(fanoutHall.id), hall: fanoutHall },
    warmup: {
      showtime: upcoming.filter((s) => s.hallId === warmupHall.id)[1] ?? first(warmupHall.id),
      hall: warmupHall,
    },
  };
}

export type ShowtimeChoice = ReturnType<typeof chooseShowtimes>;

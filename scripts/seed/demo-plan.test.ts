import { buildDemoPlan, SHOWTIME_DAYS, vietnamDate } from './demo-plan';

describe('the demo data', () => {
  const now = new Date('2026-11-25T20:00:00Z'); // 03:00 on the 26th in Vietnam
  const plan = buildDemoPlan(now);

  it('is as rich as the issue asks', () => {
    expect(plan.movies.length).toBeGreaterThanOrEqual(30);
    expect(new Set(plan.movies.flatMap((m) => m.genres)).size).toBeGreaterThanOrEqual(10);
    expect(plan.movies.some((m) => /[ăâđêôơưạảấầẩẫậắằẳẵặ]/i.test(m.title))).toBe(true);
    expect(new Set(plan.cinemas.map((c) => c.city)).size).toBe(3);
    expect(plan.cinemas).toHaveLength(6);
    expect(new Set(plan.halls.map((h) => `${h.rows}x${h.columns}`)).size).toBeGreaterThanOrEqual(3);
    expect(new Set(plan.seats.map((s) => s.type)).size).toBe(5);
  });

  it('schedules two weeks from today (Vietnam time), never overlapping in a hall', () => {
    const days = new Set(plan.showtimes.map((s) => vietnamDate(s.startsAt)));
    expect(days.size).toBe(SHOWTIME_DAYS);
    expect([...days].sort()[0]).toBe('2026-11-26');
    const byHall = new Map<string, { startsAt: Date; endsAt: Date }[]>();
    for (const s of plan.showtimes) byHall.set(s.hallId, [...(byHall.get(s.hallId) ?? []), s]);
    for (const list of byHall.values()) {
      list.sort((a, b) => a.startsAt.getTime() - b.startsAt.getTime());
      for (let i = 1; i < list.length; i += 1) {
        expect(list[i].startsAt.getTime()).toBeGreaterThan(list[i - 1].endsAt.getTime());
      }
    }
  });

  it('prices every seat type of a hall in whole VND', () => {
    for (const s of plan.showtimes) {
      for (const amount of Object.values(s.priceTable)) {
        expect(Number.isInteger(amount)).toBe(true);
        expect(amount).toBeGreaterThan(0);
      }
    }
  });

  it('is the same plan on every run (ids derived from names)', () => {
    expect(buildDemoPlan(now)).toEqual(plan);
  });
});

import { buildDemoPlan } from '../../scripts/seed/demo-plan';
import { startTestStack, type TestStack } from '../support/test-stack';

const plan = buildDemoPlan();

const LIST = `query($city: String!, $from: DateTime!, $to: DateTime!) {
  showtimes(city: $city, from: $from, to: $to) {
    id startsAt availableSeats prices { seatType amount }
    movie { id title durationMinutes }
    hall { id name capacity cinema { id name city } }
  }
}`;

describe('no N+1: statements per list do not grow with the list', () => {
  let t: TestStack;
  beforeAll(async () => {
    t = await startTestStack();
  });
  afterAll(async () => {
    await t?.stop();
  });

  /** SQL statements the cinemas and movies subgraphs send to answer one list of `n` showtimes. */
  async function statementsFor(n: number): Promise<number> {
    const hanoi = new Set(plan.cinemas.filter((c) => c.city === 'Hà Nội').map((c) => c.id));
    const halls = new Set(plan.halls.filter((h) => hanoi.has(h.cinemaId)).map((h) => h.id));
    const upcoming = plan.showtimes
      .filter((s) => halls.has(s.hallId) && s.startsAt.getTime() > Date.now() + 3_600_000)
      .sort((a, b) => a.startsAt.getTime() - b.startsAt.getTime());
    const from = upcoming[0].startsAt;
    // Exclusive, and past every showtime sharing the n-th one's start time.
    const to = upcoming.find((s) => s.startsAt > upcoming[n - 1].startsAt)!.startsAt;
    const expected = upcoming.filter((s) => s.startsAt < to).length;
    const counters = [
      t.stack.subgraphs.cinemas.queryCounter,
      t.stack.subgraphs.movies.queryCounter,
    ];
    counters.forEach((c) => c.reset());
    const res = await t.query(LIST, {
      city: 'Hà Nội',
      from: from.toISOString(),
      to: to.toISOString(),
    });
    expect(res.errors).toBeUndefined();
    expect(res.data!.showtimes).toHaveLength(expected);
    expect(expected).toBeGreaterThanOrEqual(n);
    return counters.reduce((sum, c) => sum + c.count, 0);
  }

  it('a list of 50 showtimes with hall, cinema and movie costs what a list of 5 does', async () => {
    const five = await statementsFor(5);
    const fifty = await statementsFor(50);
    expect(fifty).toBe(five);
    expect(fifty).toBeLessThanOrEqual(8);
  });
});

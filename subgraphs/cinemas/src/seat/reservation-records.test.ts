import { randomUUID } from 'node:crypto';
import type { DataSource } from 'typeorm';
import { answerGate } from '../../../../tests/support/wait-for';
import { reservationRecords } from './reservation-records';

/**
 * A DataSource answering the records query from fixed reservation rows, as its join does
 * (every showtime asked for exists: one row per reservation, or one without a seat), each
 * answer held until released.
 */
function fakeDataSource() {
  const rows: Array<{
    showtime_id: string;
    seat_id: string;
    status: 'PENDING' | 'ACTIVE';
    holder: string | null;
    expires_at: Date | null;
  }> = [];
  const cancelled = new Set<string>();
  const queries: string[][] = [];
  const gate = answerGate();
  const dataSource = {
    query: async (_sql: string, [ids]: [string[]]) => {
      queries.push(ids);
      const answer = ids.flatMap((id) => {
        const showtime_status = cancelled.has(id) ? 'CANCELLED' : 'SCHEDULED';
        const own = rows.filter((r) => r.showtime_id === id);
        const empty = { seat_id: null, status: null, holder: null, expires_at: null };
        return (own.length > 0 ? own : [{ showtime_id: id, ...empty }]).map((r) => ({
          ...r,
          showtime_status,
        }));
      });
      await gate.passed();
      return answer;
    },
  } as unknown as DataSource;
  return {
    dataSource,
    rows,
    cancelled,
    queries,
    hold: gate.hold,
  };
}

describe('reservationRecords', () => {
  it('reads the showtimes asked for in one turn of the event loop with one query', async () => {
    const db = fakeDataSource();
    const [a, b, c] = [randomUUID(), randomUUID(), randomUUID()];
    const expiresAt = new Date(2030, 0, 1, 10);
    db.rows.push(
      { showtime_id: a, seat_id: 's1', status: 'ACTIVE', holder: null, expires_at: null },
      { showtime_id: a, seat_id: 's2', status: 'PENDING', holder: 'tag', expires_at: expiresAt },
      { showtime_id: b, seat_id: 's3', status: 'ACTIVE', holder: null, expires_at: null },
    );
    const records = reservationRecords(db.dataSource, 1_000);
    const [ra, rb, rc, ra2] = await Promise.all([records(a), records(b), records(c), records(a)]);
    expect(db.queries).toEqual([[a, b, c]]);
    expect(ra).toEqual({
      closed: false,
      sold: ['s1'],
      pending: [{ seatId: 's2', holder: 'tag', until: expiresAt.getTime() + 1_000 }],
    });
    expect(ra2).toEqual(ra);
    expect(rb).toEqual({ closed: false, sold: ['s3'], pending: [] });
    expect(rc).toEqual({ closed: false, sold: [], pending: [] });
    // Not a showtime id: nothing reserved, and no query.
    expect(await records('not-a-uuid')).toEqual({ closed: false, sold: [], pending: [] });
    expect(db.queries).toHaveLength(1);
  });

  it('says whether the showtime was cancelled, with or without reservations', async () => {
    const db = fakeDataSource();
    const [a, b] = [randomUUID(), randomUUID()];
    db.rows.push({
      showtime_id: a,
      seat_id: 's1',
      status: 'ACTIVE',
      holder: null,
      expires_at: null,
    });
    db.cancelled.add(a);
    db.cancelled.add(b);
    const records = reservationRecords(db.dataSource, 0);
    expect(await Promise.all([records(a), records(b)])).toEqual([
      { closed: true, sold: ['s1'], pending: [] },
      { closed: true, sold: [], pending: [] },
    ]);
  });

  it('never answers a call with a query that started before it', async () => {
    const db = fakeDataSource();
    const id = randomUUID();
    const records = reservationRecords(db.dataSource, 0);
    const release = db.hold();
    const first = records(id);
    await new Promise((resolve) => setImmediate(resolve)); // its query has started
    db.rows.push({
      showtime_id: id,
      seat_id: 's1',
      status: 'ACTIVE',
      holder: null,
      expires_at: null,
    });
    const second = records(id);
    release();
    expect(await first).toEqual({ closed: false, sold: [], pending: [] });
    expect(await second).toEqual({ closed: false, sold: ['s1'], pending: [] });
    expect(db.queries).toEqual([[id], [id]]);
  });

  it('fails every call of a batch whose query fails', async () => {
    const dataSource = {
      query: () => Promise.reject(new Error('connection lost')),
    } as unknown as DataSource;
    const records = reservationRecords(dataSource, 0);
    const results = await Promise.allSettled([records(randomUUID()), records(randomUUID())]);
    expect(results.map((r) => r.status)).toEqual(['rejected', 'rejected']);
  });
});

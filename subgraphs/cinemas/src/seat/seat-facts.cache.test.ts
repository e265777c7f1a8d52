import { randomUUID } from 'node:crypto';
import type { DataSource } from 'typeorm';
import { answerGate } from '../../../../tests/support/wait-for';
import { CINEMAS_STREAM } from '../../../../runtime/contracts/showtime-events';
import { InProcessTransport } from '../../../../runtime/events/in-process-transport';
import { createLogger } from '../../../../runtime/logger';
import { SeatFactsCache } from './seat-facts.cache';
import type { SeatService } from './seat.service';
import { startShowtimeClosures } from './showtime-closures';

const log = createLogger('seat-facts-test', 'silent');

/** A DataSource that answers from fixed rows and counts the reads, each held until released. */
function fakeDataSource() {
  const showtimes = new Map<string, object>();
  const seats: Array<{ id: string; hallId: string; blocked: boolean }> = [];
  const reads = { showtimes: 0, seats: 0 };
  const gate = answerGate();
  const dataSource = {
    // The showtime facts query: `WHERE id = ANY($1)`.
    query: async (_sql: string, [ids]: [string[]]) => {
      reads.showtimes += 1;
      // The rows as they were when the query ran, answered when the gate opens.
      const rows = ids.flatMap((id) => {
        const row = showtimes.get(id);
        return row ? [row] : [];
      });
      await gate.passed();
      return rows;
    },
    getRepository: () => ({
      find: async ({ where }: { where: { hallId: { value: string[] } } }) => {
        reads.seats += 1;
        await gate.passed();
        return seats.filter((s) => where.hallId.value.includes(s.hallId));
      },
    }),
  } as unknown as DataSource;
  return {
    dataSource,
    reads,
    showtimes,
    seats,
    /** Holds every read until the returned function is called. */
    hold: gate.hold,
  };
}

const showtimeRow = (id: string, hallId: string) => ({
  id,
  hall_id: hallId,
  starts_at: new Date(2030, 0, 1, 10),
  ends_at: new Date(2030, 0, 1, 12),
  status: 'SCHEDULED',
});

describe('SeatFactsCache', () => {
  it('reads a showtime once however many callers miss it at once, and keeps it for its time', async () => {
    const db = fakeDataSource();
    let now = 1_000;
    const cache = new SeatFactsCache(db.dataSource, { showtimeTtlMs: 60_000, now: () => now });
    const id = randomUUID();
    db.showtimes.set(id, showtimeRow(id, 'hall-1'));
    expect(cache.cachedShowtime(id)).toBeUndefined();

    const release = db.hold();
    const waiting = Promise.all([cache.showtime(id), cache.showtime(id), cache.showtime(id)]);
    release();
    const [a, b, c] = await waiting;
    expect(db.reads.showtimes).toBe(1);
    expect(a).toEqual({
      id,
      hallId: 'hall-1',
      startsAt: new Date(2030, 0, 1, 10).getTime(),
      endsAt: new Date(2030, 0, 1, 12).getTime(),
      status: 'SCHEDULED',
    });
    expect(b).toBe(a);
    expect(c).toBe(a);
    expect(cache.cachedShowtime(id)).toBe(a);

    now += 59_999;
    await cache.showtime(id);
    expect(db.reads.showtimes).toBe(1);
    now += 1; // its time is up: read again
    expect(cache.cachedShowtime(id)).toBeUndefined();
    await cache.showtime(id);
    expect(db.reads.showtimes).toBe(2);

    cache.forgetShowtime(id);
    await cache.showtime(id);
    expect(db.reads.showtimes).toBe(3);
  });

  it('reads the showtimes missed in one turn of the event loop with one query', async () => {
    const db = fakeDataSource();
    const cache = new SeatFactsCache(db.dataSource);
    const [x, y, missing] = [randomUUID(), randomUUID(), randomUUID()];
    db.showtimes.set(x, showtimeRow(x, 'hall-1'));
    db.showtimes.set(y, showtimeRow(y, 'hall-2'));
    const [fx, fy, fmissing, fx2] = await Promise.all([
      cache.showtime(x),
      cache.showtime(y),
      cache.showtime(missing),
      cache.showtime(x),
    ]);
    expect(db.reads.showtimes).toBe(1);
    expect(fx?.hallId).toBe('hall-1');
    expect(fy?.hallId).toBe('hall-2');
    expect(fmissing).toBeNull();
    expect(fx2).toBe(fx);
    expect(cache.cachedShowtime(missing)).toBeNull();
    // Not a showtime id at all: no such showtime, and no query.
    expect(await cache.showtime('not-a-uuid')).toBeNull();
    expect(db.reads.showtimes).toBe(1);
  });

  it('keeps showtimes 10 minutes by default, and never keeps a read overtaken by a forget', async () => {
    const db = fakeDataSource();
    let now = 1_000;
    const cache = new SeatFactsCache(db.dataSource, { now: () => now });
    const id = randomUUID();
    db.showtimes.set(id, showtimeRow(id, 'hall-1'));
    await cache.showtime(id);
    now += 599_999;
    expect(cache.cachedShowtime(id)?.status).toBe('SCHEDULED');
    now += 1;
    expect(cache.cachedShowtime(id)).toBeUndefined();

    // A cancellation lands while the facts are being read: the read is handed to its
    // callers, but not kept; the next call reads again and sees the new status.
    const release = db.hold();
    const reading = cache.showtime(id);
    await new Promise((resolve) => setImmediate(resolve)); // the query has started
    db.showtimes.set(id, { ...showtimeRow(id, 'hall-1'), status: 'CANCELLED' });
    cache.forgetShowtime(id);
    release();
    expect((await reading)?.status).toBe('SCHEDULED');
    expect(cache.cachedShowtime(id)).toBeUndefined();
    expect((await cache.showtime(id))?.status).toBe('CANCELLED');
    expect(db.reads.showtimes).toBe(3);
  });

  it('answers every caller of a batch, whatever is forgotten before its query', async () => {
    const db = fakeDataSource();
    const cache = new SeatFactsCache(db.dataSource);
    const id = randomUUID();
    db.showtimes.set(id, showtimeRow(id, 'hall-1'));
    const first = cache.showtime(id);
    cache.forgetShowtime(id); // before the batch's query has started
    const second = cache.showtime(id);
    const [a, b] = await Promise.all([first, second]);
    expect(a?.hallId).toBe('hall-1');
    expect(b).toBe(a);
    expect(db.reads.showtimes).toBe(1);
    // Asked again after the forget, in the same batch: read after it, so kept.
    expect(cache.cachedShowtime(id)).toBe(a);
  });

  it('remembers that a showtime does not exist, and keeps at most maxEntries', async () => {
    const db = fakeDataSource();
    const cache = new SeatFactsCache(db.dataSource, { maxEntries: 2 });
    const [x, y, z] = [randomUUID(), randomUUID(), randomUUID()];
    expect(await cache.showtime(x)).toBeNull();
    expect(cache.cachedShowtime(x)).toBeNull();
    await cache.showtime(y);
    await cache.showtime(z); // x, the oldest, goes
    expect(cache.cachedShowtime(x)).toBeUndefined();
    expect(cache.cachedShowtime(y)).toBeNull();
    expect(db.reads.showtimes).toBe(3);
  });

  it('reads the layouts of several halls in one query, each hall once', async () => {
    const db = fakeDataSource();
    db.seats.push(
      { id: 'a1', hallId: 'h1', blocked: false },
      { id: 'a2', hallId: 'h1', blocked: true },
      { id: 'b1', hallId: 'h2', blocked: false },
    );
    let now = 0;
    const cache = new SeatFactsCache(db.dataSource, { hallTtlMs: 60_000, now: () => now });
    const release = db.hold();
    const both = cache.hallsByIds(['h1', 'h2', 'h1']);
    const again = cache.hall('h2');
    release();
    const [h1, h2, h1again] = await both;
    expect(db.reads.seats).toBe(1);
    expect(h1.seats.map((s) => s.id)).toEqual(['a1', 'a2']);
    expect(h1.byId.get('a2')?.blocked).toBe(true);
    expect(h1again).toBe(h1);
    expect(await again).toBe(h2);
    expect(cache.cachedHall('h1')).toBe(h1);
    // Kept for its time to live, then read again.
    now = 59_999;
    await cache.hall('h1');
    expect(db.reads.seats).toBe(1);
    now = 60_000;
    expect(cache.cachedHall('h1')).toBeUndefined();
    await cache.hall('h1');
    expect(db.reads.seats).toBe(2);
  });
});

describe('startShowtimeClosures', () => {
  it('closes every cancelled showtime to holds from the showtime events, and nothing else', async () => {
    const transport = new InProcessTransport({ log });
    const closed: Array<{ id: string; endsAt: number }> = [];
    let failOnce = true;
    const seats = {
      showtimeCancelled: (ref: { id: string; endsAt: number }) => {
        // A hold store that is down at first: the event is delivered again.
        if (failOnce) {
          failOnce = false;
          return Promise.reject(new Error('Seat holds are unavailable, try again'));
        }
        closed.push(ref);
        return Promise.resolve();
      },
    } as unknown as SeatService;
    const stop = startShowtimeClosures({} as DataSource, transport, 'cinemas-test', seats, log);
    const event = (type: string, showtimeId: string) => ({
      id: randomUUID(),
      type,
      aggregateId: showtimeId,
      occurredAt: new Date().toISOString(),
      payload: {
        showtimeId,
        movieId: randomUUID(),
        hallId: randomUUID(),
        cinemaId: randomUUID(),
        cityKey: 'hue',
        startsAt: '2030-01-01T10:00:00.000Z',
        endsAt: '2030-01-01T12:00:00.000Z',
        status: type === 'showtime.cancelled' ? 'CANCELLED' : 'SCHEDULED',
      },
    });
    const cancelled = randomUUID();
    await transport.publish(CINEMAS_STREAM, [
      event('showtime.scheduled', randomUUID()),
      event('showtime.cancelled', cancelled),
    ]);
    const deadline = Date.now() + 10_000;
    while (closed.length === 0 && Date.now() < deadline) {
      await new Promise((resolve) => setImmediate(resolve));
    }
    expect(closed).toEqual([{ id: cancelled, endsAt: Date.parse('2030-01-01T12:00:00.000Z') }]);
    await stop();
    await transport.close();
  });
});

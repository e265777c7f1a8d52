import { In, type DataSource } from 'typeorm';
import { groupByKeys } from '../../../../runtime/loaders';
import { Seat } from '../cinema/cinema.entity';
import { Showtime } from '../showtime/showtime.entity';

/** What a hold needs to know of a showtime. */
export interface ShowtimeFacts {
  readonly id: string;
  readonly hallId: string;
  /** ms since the epoch. */
  readonly startsAt: number;
  readonly endsAt: number;
  readonly status: Showtime['status'];
}

/** A hall's seats: in layout order (row, then column), and by id. */
export interface HallLayout {
  readonly hallId: string;
  readonly seats: readonly Seat[];
  readonly byId: ReadonlyMap<string, Seat>;
}

export interface SeatFactsCacheOptions {
  /** How long a showtime's facts are kept (default 60 s). */
  showtimeTtlMs?: number;
  /** How long a hall's layout is kept (default 10 min). */
  hallTtlMs?: number;
  /** Showtimes and halls kept at most, each (default 10,000): the oldest go first. */
  maxEntries?: number;
  now?: () => number;
}

interface Entry<V> {
  readonly value: V;
  readonly expiresAt: number;
}

/**
 * Showtime facts and hall layouts for the seat hot path (holds, releases, seat maps), kept
 * in this process so that a hold reads no table. What is kept barely changes: a showtime's
 * hall and times never change once scheduled, its status only goes from SCHEDULED to
 * CANCELLED, and a hall's seats are written with the hall. So:
 * - a cancellation reaches holds through the hold store (`SeatHoldStore.closeShowtime`,
 *   called on cancel and again from the showtime events: every instance refuses at once),
 *   and this instance forgets its entry (`forgetShowtime`);
 * - whatever else changes (a future admin edit of a hall) is picked up within the time to
 *   live, and `forgetHall`/`forgetShowtime` drop an entry at once.
 * A miss reads the table once however many callers wait for it; a showtime that does not
 * exist is remembered too (as null), for as long as one that does. Bounded: beyond
 * `maxEntries` the oldest entries go.
 */
export class SeatFactsCache {
  private readonly showtimes = new Map<string, Entry<ShowtimeFacts | null>>();
  private readonly halls = new Map<string, Entry<HallLayout>>();
  private readonly loadingShowtimes = new Map<string, Promise<ShowtimeFacts | null>>();
  private readonly loadingHalls = new Map<string, Promise<HallLayout>>();
  private readonly showtimeTtlMs: number;
  private readonly hallTtlMs: number;
  private readonly maxEntries: number;
  private readonly now: () => number;

  constructor(
    private readonly dataSource: DataSource,
    options: SeatFactsCacheOptions = {},
  ) {
    this.showtimeTtlMs = options.showtimeTtlMs ?? 60_000;
    this.hallTtlMs = options.hallTtlMs ?? 600_000;
    this.maxEntries = options.maxEntries ?? 10_000;
    this.now = options.now ?? Date.now;
  }

  /** The showtime's facts if kept (null: no such showtime), undefined when they must be read. */
  cachedShowtime(id: string): ShowtimeFacts | null | undefined {
    return this.fresh(this.showtimes, id);
  }

  /** The showtime's facts (null: no such showtime), read from the table when not kept. */
  showtime(id: string): Promise<ShowtimeFacts | null> {
    const cached = this.cachedShowtime(id);
    if (cached !== undefined) return Promise.resolve(cached);
    return this.load(this.loadingShowtimes, id, async () => {
      const row = await this.dataSource.getRepository(Showtime).findOneBy({ id });
      const facts: ShowtimeFacts | null = row
        ? {
            id: row.id,
            hallId: row.hallId,
            startsAt: row.startsAt.getTime(),
            endsAt: row.endsAt.getTime(),
            status: row.status,
          }
        : null;
      this.keep(this.showtimes, id, facts, this.showtimeTtlMs);
      return facts;
    });
  }

  /** The hall's layout if kept, undefined when it must be read. */
  cachedHall(hallId: string): HallLayout | undefined {
    return this.fresh(this.halls, hallId);
  }

  /** The hall's layout, read from the table when not kept. */
  async hall(hallId: string): Promise<HallLayout> {
    return (await this.hallsByIds([hallId]))[0];
  }

  /** Layouts of several halls (a seat-map loader's batch): one query for those not kept. */
  async hallsByIds(hallIds: readonly string[]): Promise<HallLayout[]> {
    const missing = [...new Set(hallIds)].filter(
      (id) => this.cachedHall(id) === undefined && !this.loadingHalls.has(id),
    );
    if (missing.length > 0) {
      const read = this.dataSource
        .getRepository(Seat)
        .find({ where: { hallId: In(missing) }, order: { row: 'ASC', column: 'ASC' } })
        .then((rows) => groupByKeys(missing, rows, (s) => s.hallId));
      missing.forEach((hallId, i) => {
        const one = read.then((groups) => {
          const layout = layoutOf(hallId, groups[i]);
          this.keep(this.halls, hallId, layout, this.hallTtlMs);
          return layout;
        });
        this.loadingHalls.set(hallId, one);
        void one.then(
          () => this.loadingHalls.delete(hallId),
          () => this.loadingHalls.delete(hallId),
        );
      });
    }
    return Promise.all(
      hallIds.map((id) => {
        const cached = this.cachedHall(id);
        return cached ? Promise.resolve(cached) : this.loadingHalls.get(id)!;
      }),
    );
  }

  forgetShowtime(id: string): void {
    this.showtimes.delete(id);
  }

  forgetHall(hallId: string): void {
    this.halls.delete(hallId);
  }

  clear(): void {
    this.showtimes.clear();
    this.halls.clear();
  }

  private fresh<V>(entries: Map<string, Entry<V>>, key: string): V | undefined {
    const entry = entries.get(key);
    if (!entry) return undefined;
    if (entry.expiresAt > this.now()) return entry.value;
    entries.delete(key);
    return undefined;
  }

  private keep<V>(entries: Map<string, Entry<V>>, key: string, value: V, ttlMs: number): void {
    entries.delete(key);
    entries.set(key, { value, expiresAt: this.now() + ttlMs });
    if (entries.size > this.maxEntries) {
      const oldest = entries.keys().next();
      if (!oldest.done) entries.delete(oldest.value);
    }
  }

  /** One read per key however many callers miss it at once. */
  private load<V>(
    loading: Map<string, Promise<V>>,
    key: string,
    read: () => Promise<V>,
  ): Promise<V> {
    let pending = loading.get(key);
    if (!pending) {
      pending = read().finally(() => loading.delete(key));
      loading.set(key, pending);
    }
    return pending;
  }
}

function layoutOf(hallId: string, seats: Seat[]): HallLayout {
  return { hallId, seats, byId: new Map(seats.map((s) => [s.id, s])) };
}

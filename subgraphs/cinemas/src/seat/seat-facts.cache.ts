import { In, type DataSource } from 'typeorm';
import { isUuid } from '../../../../runtime/ids';
import { batchPerTurn, groupByKeys } from '../../../../runtime/loaders';
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
  /** How long a showtime's facts are kept (default 10 min: see the class). */
  showtimeTtlMs?: number;
  /** How long a hall's layout is kept (default 10 min). */
  hallTtlMs?: number;
  /** Showtimes and halls kept at most, each (default 10,000): the oldest go first. */
  maxEntries?: number;
  now?: () => number;
}

/** A row of the showtimes query, as PostgreSQL answers it. */
interface ShowtimeRow {
  id: string;
  hall_id: string;
  starts_at: Date;
  ends_at: Date;
  status: Showtime['status'];
}

interface Entry<V> {
  readonly value: V;
  readonly expiresAt: number;
}

/**
 * Showtime facts and hall layouts for the seat hot path (holds, releases, seat maps), kept
 * in this process so that a hold reads no table. What is kept barely changes: a showtime's
 * hall and times never change once scheduled (no write path changes them: scheduling
 * inserts, cancelling sets the status, `setPrices` the prices, none of them kept here), its
 * status only goes from SCHEDULED to CANCELLED, and a hall's seats are written with the
 * hall. So:
 * - a cancellation reaches holds through the hold store (`SeatHoldStore.closeShowtime`,
 *   called on cancel and again from the showtime events: every instance refuses at once,
 *   whatever status it kept; a store that lost its mark learns it again with the showtime's
 *   reservation record), and this instance forgets its entry (`forgetShowtime`; a read under
 *   way then is not kept);
 * - whatever else changes (a future admin edit of a hall) is picked up within the time to
 *   live.
 * Showtimes are therefore kept 10 minutes (a kept SCHEDULED status of a showtime cancelled
 * meanwhile only lets a call reach the store, which refuses it).
 * Misses cost little: those of one turn of the event loop share one query (raw SQL, no
 * query builder), and a showtime that does not exist is remembered too (as null), for as
 * long as one that does. Bounded: beyond `maxEntries` the oldest entries go.
 */
export class SeatFactsCache {
  private readonly showtimes = new Map<string, Entry<ShowtimeFacts | null>>();
  private readonly halls = new Map<string, Entry<HallLayout>>();
  private readonly loadingShowtimes = new Map<string, Promise<ShowtimeFacts | null>>();
  /** Showtimes missed in one turn of the event loop, read together at its end. */
  private readonly showtimeReads = batchPerTurn((ids: readonly string[]) =>
    this.readShowtimes(ids),
  );
  private readonly loadingHalls = new Map<string, Promise<HallLayout>>();
  private readonly showtimeTtlMs: number;
  private readonly hallTtlMs: number;
  private readonly maxEntries: number;
  private readonly now: () => number;

  constructor(
    private readonly dataSource: DataSource,
    options: SeatFactsCacheOptions = {},
  ) {
    this.showtimeTtlMs = options.showtimeTtlMs ?? 600_000;
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
    // Not a showtime id: no such showtime, without a query (and never a query that fails).
    if (!isUuid(id)) return Promise.resolve(null);
    const loading = this.loadingShowtimes.get(id);
    if (loading) return loading;
    const read: Promise<ShowtimeFacts | null> = this.showtimeReads.load(id).then(
      (facts) => {
        // Forgotten while it was read (a cancellation): handed to its callers, not kept.
        if (this.loadingShowtimes.get(id) === read) {
          this.loadingShowtimes.delete(id);
          this.keep(this.showtimes, id, facts, this.showtimeTtlMs);
        }
        return facts;
      },
      (err: unknown) => {
        if (this.loadingShowtimes.get(id) === read) this.loadingShowtimes.delete(id);
        throw err;
      },
    );
    this.loadingShowtimes.set(id, read);
    return read;
  }

  /** One query for the showtimes missed in one turn of the event loop, in their order. */
  private async readShowtimes(ids: readonly string[]): Promise<(ShowtimeFacts | null)[]> {
    const rows: ShowtimeRow[] = await this.dataSource.query(
      `SELECT id, hall_id, starts_at, ends_at, status FROM showtimes WHERE id = ANY($1::uuid[])`,
      [ids],
    );
    const facts = new Map(
      rows.map((row): [string, ShowtimeFacts] => [
        row.id,
        {
          id: row.id,
          hallId: row.hall_id,
          startsAt: new Date(row.starts_at).getTime(),
          endsAt: new Date(row.ends_at).getTime(),
          status: row.status,
        },
      ]),
    );
    // PostgreSQL answers ids in lower case; an id asked twice gets the same facts.
    return ids.map((id) => facts.get(id.toLowerCase()) ?? null);
  }

  /** The hall's layout if kept, undefined when it must be read. */
  cachedHall(hallId: string): HallLayout | undefined {
    return this.fresh(this.halls, hallId);
  }

  /** The hall's layout, read from the table when not kept. */
  hall(hallId: string): Promise<HallLayout> {
    // Kept (nearly always): no batch to build for one hall.
    const cached = this.cachedHall(hallId);
    if (cached) return Promise.resolve(cached);
    return this.hallsByIds([hallId]).then((layouts) => layouts[0]);
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
    this.loadingShowtimes.delete(id);
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
}

function layoutOf(hallId: string, seats: Seat[]): HallLayout {
  return { hallId, seats, byId: new Map(seats.map((s) => [s.id, s])) };
}

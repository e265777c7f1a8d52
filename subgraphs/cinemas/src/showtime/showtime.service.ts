import type { DataSource } from 'typeorm';
import { badUserInput } from '../../../../runtime/errors';
import { foldText } from '../../../../runtime/text';
import { findByUuids, groupByKeys } from '../../../../runtime/loaders';
import { SHOWTIME_LIST_LIMIT } from '../../../../runtime/query-limits';
import { Showtime } from './showtime.entity';

/** A window of showtimes; `from`/`to` bound the start time, `limit` the count (per movie). */
export interface ShowtimeWindow {
  from?: Date | null;
  to?: Date | null;
  city?: string | null;
  limit?: number | null;
}

/**
 * The widest window one request may ask for and the most showtimes one list returns, so a
 * list never grows without bound (the query cost limit counts on `limit`).
 */
export const MAX_WINDOW_DAYS = 14;
const DEFAULT_WINDOW_DAYS = 14;
const DAY_MS = 86_400_000;

export function resolveWindow(window: ShowtimeWindow, now = new Date()) {
  const from = window.from ?? now;
  const to = window.to ?? new Date(from.getTime() + DEFAULT_WINDOW_DAYS * DAY_MS);
  if (to <= from) throw badUserInput('to', 'to must be after from');
  if (to.getTime() - from.getTime() > MAX_WINDOW_DAYS * DAY_MS) {
    throw badUserInput('to', `a window spans at most ${MAX_WINDOW_DAYS} days`);
  }
  return {
    from,
    to,
    cityKey: window.city ? foldText(window.city) : null,
    limit: resolveLimit(window.limit),
  };
}

/** `limit`: 1..500, default 100. */
export function resolveLimit(limit: number | null | undefined): number {
  if (limit === null || limit === undefined) return SHOWTIME_LIST_LIMIT.default;
  if (!Number.isInteger(limit) || limit < 1 || limit > SHOWTIME_LIST_LIMIT.max) {
    throw badUserInput('limit', `limit must be between 1 and ${SHOWTIME_LIST_LIMIT.max}`);
  }
  return limit;
}

export class ShowtimeService {
  constructor(private readonly dataSource: DataSource) {}

  byIds(ids: readonly string[]): Promise<(Showtime | null)[]> {
    return findByUuids(this.dataSource.getRepository(Showtime), ids);
  }

  private query(window: ShowtimeWindow) {
    const { from, to, cityKey } = resolveWindow(window);
    const qb = this.dataSource
      .getRepository(Showtime)
      .createQueryBuilder('s')
      .where("s.status = 'SCHEDULED'")
      .andWhere('s.starts_at >= :from AND s.starts_at < :to', { from, to })
      .orderBy('s.starts_at', 'ASC')
      .addOrderBy('s.id', 'ASC');
    if (cityKey) {
      qb.innerJoin('halls', 'h', 'h.id = s.hall_id')
        .innerJoin('cinemas', 'c', 'c.id = h.cinema_id')
        .andWhere('c.city_key = :cityKey', { cityKey });
    }
    return qb;
  }

  /** Showtimes in a window (one city or all), earliest first, at most `limit`. */
  async list(window: ShowtimeWindow): Promise<Showtime[]> {
    return this.query(window).limit(resolveLimit(window.limit)).getMany();
  }

  /**
   * Showtimes of several movies in one window, at most `limit` per movie, earliest first: one
   * query for a whole list of movies (each movie's first ones ranked by a window function).
   */
  async byMovieIds(movieIds: readonly string[], window: ShowtimeWindow): Promise<Showtime[][]> {
    const ranked = this.query(window)
      .select('s.id', 'id')
      .addSelect('row_number() OVER (PARTITION BY s.movie_id ORDER BY s.starts_at, s.id)', 'rank')
      .andWhere('s.movie_id IN (:...movieIds)', { movieIds: [...movieIds] })
      .orderBy();
    const rows = await this.dataSource
      .getRepository(Showtime)
      .createQueryBuilder('st')
      .where(`st.id IN (SELECT r.id FROM (${ranked.getQuery()}) r WHERE r.rank <= :limit)`)
      .setParameters(ranked.getParameters())
      .setParameter('limit', resolveLimit(window.limit))
      .orderBy('st.starts_at', 'ASC')
      .addOrderBy('st.id', 'ASC')
      .getMany();
    return groupByKeys(movieIds, rows, (s) => s.movieId);
  }
}

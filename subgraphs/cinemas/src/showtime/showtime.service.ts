import { In, type DataSource } from 'typeorm';
import { badUserInput } from '../../../../runtime/errors';
import { foldText } from '../../../../runtime/text';
import { byKeys, groupByKeys } from '../../../../runtime/loaders';
import { Showtime } from './showtime.entity';

/** A window of showtimes; `from`/`to` bound the start time. */
export interface ShowtimeWindow {
  from?: Date | null;
  to?: Date | null;
  city?: string | null;
}

/** The widest window one request may ask for, so a list never grows without bound. */
const MAX_WINDOW_DAYS = 31;
const DEFAULT_WINDOW_DAYS = 14;
const DAY_MS = 86_400_000;

export function resolveWindow(window: ShowtimeWindow, now = new Date()) {
  const from = window.from ?? now;
  const to = window.to ?? new Date(from.getTime() + DEFAULT_WINDOW_DAYS * DAY_MS);
  if (to <= from) throw badUserInput('to', 'to must be after from');
  if (to.getTime() - from.getTime() > MAX_WINDOW_DAYS * DAY_MS) {
    throw badUserInput('to', `a window spans at most ${MAX_WINDOW_DAYS} days`);
  }
  return { from, to, cityKey: window.city ? foldText(window.city) : null };
}

export class ShowtimeService {
  constructor(private readonly dataSource: DataSource) {}

  async byIds(ids: readonly string[]): Promise<(Showtime | null)[]> {
    const rows = await this.dataSource.getRepository(Showtime).findBy({ id: In([...ids]) });
    return byKeys(ids, rows, (s) => s.id);
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

  /** Showtimes in a window (one city or all), earliest first. */
  async list(window: ShowtimeWindow): Promise<Showtime[]> {
    return this.query(window).getMany();
  }

  /** Showtimes of several movies in one window: one query for a whole list of movies. */
  async byMovieIds(movieIds: readonly string[], window: ShowtimeWindow): Promise<Showtime[][]> {
    const rows = await this.query(window)
      .andWhere('s.movie_id IN (:...movieIds)', { movieIds: [...movieIds] })
      .getMany();
    return groupByKeys(movieIds, rows, (s) => s.movieId);
  }
}

import { randomUUID } from 'node:crypto';
import { In, type DataSource, type EntityManager } from 'typeorm';
import {
  CINEMAS_STREAM,
  type ShowtimeEventPayload,
  type ShowtimeEventType,
} from '../../../../runtime/contracts/showtime-events';
import { AppError, badUserInput, notFound } from '../../../../runtime/errors';
import { appendEvents } from '../../../../runtime/events/outbox';
import * as v from '../../../../runtime/validation';
import { Cinema, Hall, Seat } from '../cinema/cinema.entity';
import type { MovieCatalog } from './movie-catalog';
import { SHOWTIME_FORMATS, Showtime, showtimeTimes, type PriceTable } from './showtime.entity';
import type { ScheduleShowtimeInput, SeatPriceInput } from './showtime.inputs';

/** Called after a commit that wrote events, so the relay publishes them at once. */
export type EventsWritten = () => void;

/** Called once a cancellation has committed, so that holds stop at once. */
export type ShowtimeCancelled = (showtime: Showtime) => Promise<void>;

/** How far ahead a showtime can be scheduled. */
const MAX_SCHEDULE_AHEAD_MS = 2 * 366 * 24 * 3_600_000;

/**
 * The admin's writes to the schedule. Each change and its event are written in one
 * transaction (the outbox), so no other subgraph can miss a change that happened.
 */
export class ShowtimeAdminService {
  constructor(
    private readonly dataSource: DataSource,
    private readonly movies: MovieCatalog,
    private readonly eventsWritten: EventsWritten = () => {},
    private readonly cancelled: ShowtimeCancelled = () => Promise.resolve(),
  ) {}

  async schedule(input: ScheduleShowtimeInput, requestId?: string): Promise<Showtime> {
    if (!(input.startsAt instanceof Date) || Number.isNaN(input.startsAt.getTime())) {
      throw badUserInput('startsAt', 'startsAt must be a date-time');
    }
    if (input.startsAt.getTime() <= Date.now()) {
      throw badUserInput('startsAt', 'startsAt must be in the future');
    }
    // A year 9999 showtime ends past what the DateTime scalar reads back (year 10000).
    if (input.startsAt.getTime() > Date.now() + MAX_SCHEDULE_AHEAD_MS) {
      throw badUserInput('startsAt', 'startsAt must be within 2 years from now');
    }
    if (!(SHOWTIME_FORMATS as readonly string[]).includes(input.format)) {
      throw badUserInput('format', `format must be one of ${SHOWTIME_FORMATS.join(', ')}`);
    }
    const language = v.text('language', input.language, { max: 40 });
    const subtitles =
      input.subtitles == null || input.subtitles.trim() === ''
        ? null
        : v.text('subtitles', input.subtitles, { max: 40 });
    const hall = await this.dataSource.getRepository(Hall).findOneBy({ id: input.hallId });
    if (!hall) throw notFound('Hall', input.hallId);
    const priceTable = await this.priceTable(hall.id, input.prices);
    const movie = await this.movies.find(input.movieId, requestId);
    if (!movie) throw notFound('Movie', input.movieId);
    if (movie.status === 'ARCHIVED') throw badUserInput('movieId', 'the movie is archived');

    const showtime = Object.assign(new Showtime(), {
      id: randomUUID(),
      movieId: movie.id,
      hallId: hall.id,
      ...showtimeTimes(input.startsAt, movie.durationMinutes),
      format: input.format,
      language,
      subtitles,
      priceTable,
      status: 'SCHEDULED' as const,
    });
    await this.write('showtime.scheduled', showtime, async (tx) => {
      await tx.getRepository(Showtime).insert(showtime);
    });
    return showtime;
  }

  async cancel(id: string): Promise<Showtime> {
    const showtime = await this.dataSource.getRepository(Showtime).findOneBy({ id });
    if (!showtime) throw notFound('Showtime', id);
    if (showtime.status === 'CANCELLED') return showtime;
    if (showtime.startsAt.getTime() <= Date.now()) {
      throw new AppError(
        'INVALID_STATE_TRANSITION',
        'A showtime that has started cannot be cancelled',
      );
    }
    showtime.status = 'CANCELLED';
    await this.write('showtime.cancelled', showtime, async (tx) => {
      await tx.getRepository(Showtime).update({ id }, { status: 'CANCELLED' });
    });
    // Best effort, after the commit: the cancellation stands whatever happens here, and its
    // event closes the showtime to holds for certain (see `startShowtimeClosures`).
    await this.cancelled(showtime).catch(() => undefined);
    return showtime;
  }

  async setPrices(id: string, prices: SeatPriceInput[]): Promise<Showtime> {
    const repo = this.dataSource.getRepository(Showtime);
    const showtime = await repo.findOneBy({ id });
    if (!showtime) throw notFound('Showtime', id);
    showtime.priceTable = await this.priceTable(showtime.hallId, prices);
    await repo.update({ id }, { priceTable: showtime.priceTable });
    return showtime;
  }

  /** Every seat type of the hall needs a price; amounts are whole VND; no duplicates. */
  private async priceTable(hallId: string, prices: SeatPriceInput[]): Promise<PriceTable> {
    const table: PriceTable = {};
    for (const { seatType, amount } of prices) {
      if (table[seatType] !== undefined)
        throw badUserInput('prices', `${seatType} is priced twice`);
      table[seatType] = v.vnd('prices', amount, 10_000_000);
    }
    const types: { type: string }[] = await this.dataSource
      .getRepository(Seat)
      .createQueryBuilder('s')
      .select('DISTINCT s.type', 'type')
      .where('s.hall_id = :hallId', { hallId })
      .getRawMany();
    const missing = types
      .map((t) => t.type)
      .filter((t) => table[t as keyof PriceTable] === undefined);
    if (missing.length > 0) throw badUserInput('prices', `no price for ${missing.join(', ')}`);
    return table;
  }

  /** The change and its event in one transaction; an overlap in the hall is a conflict. */
  private async write(
    type: ShowtimeEventType,
    showtime: Showtime,
    change: (tx: EntityManager) => Promise<void>,
  ): Promise<void> {
    try {
      await this.dataSource.transaction(async (tx) => {
        await change(tx);
        await appendShowtimeEvents(tx, type, [showtime]);
      });
    } catch (err) {
      // 23P01 exclusion_violation: the hall is busy then (cleaning gap included).
      if ((err as { code?: string }).code === '23P01') {
        throw new AppError(
          'SHOWTIME_CONFLICT',
          'The hall has another showtime then (cleaning time included)',
          { field: 'startsAt' },
        );
      }
      throw err;
    }
    this.eventsWritten();
  }
}

/**
 * Writes one event per showtime into the outbox of the caller's transaction: what other
 * subgraphs learn about a showtime, with its hall's cinema and city. Halls and cinemas are
 * read once for the whole list.
 */
export async function appendShowtimeEvents(
  tx: EntityManager,
  type: ShowtimeEventType,
  showtimes: Showtime[],
): Promise<void> {
  if (showtimes.length === 0) return;
  const halls = await tx
    .getRepository(Hall)
    .findBy({ id: In([...new Set(showtimes.map((s) => s.hallId))]) });
  const cinemas = await tx
    .getRepository(Cinema)
    .findBy({ id: In([...new Set(halls.map((h) => h.cinemaId))]) });
  const hallCinema = new Map(halls.map((h) => [h.id, h.cinemaId]));
  const cityKey = new Map(cinemas.map((c) => [c.id, c.cityKey]));
  await appendEvents(
    tx,
    CINEMAS_STREAM,
    showtimes.map((showtime) => {
      const cinemaId = hallCinema.get(showtime.hallId)!;
      const payload: ShowtimeEventPayload = {
        showtimeId: showtime.id,
        movieId: showtime.movieId,
        hallId: showtime.hallId,
        cinemaId,
        cityKey: cityKey.get(cinemaId)!,
        startsAt: showtime.startsAt.toISOString(),
        endsAt: showtime.endsAt.toISOString(),
        status: showtime.status,
      };
      return { type, aggregateId: showtime.id, payload };
    }),
  );
}

import { randomUUID } from 'node:crypto';
import type { DataSource, Repository } from 'typeorm';
import {
  MOVIES_STREAM,
  type MovieEventPayload,
  type MovieEventType,
} from '../../../../runtime/contracts/movie-events';
import { notFound } from '../../../../runtime/errors';
import { appendEvents } from '../../../../runtime/events/outbox';
import { findByUuids } from '../../../../runtime/loaders';
import { decodeCursor, toConnection, type Connection } from '../../../../runtime/pagination';
import { foldText } from '../../../../runtime/text';
import * as v from '../../../../runtime/validation';
import { Movie, MovieStatus } from './movie.entity';
import type { CreateMovieInput, MovieFilter, UpdateMovieInput } from './movie.inputs';

/** The event other subgraphs learn of a movie by. */
export function movieEvent(type: MovieEventType, movie: Movie) {
  const payload: MovieEventPayload = {
    movieId: movie.id,
    title: movie.title,
    durationMinutes: movie.durationMinutes,
    status: movie.status,
  };
  return { type, aggregateId: movie.id, payload };
}

export interface MoviePage {
  filter?: MovieFilter | null;
  first: number;
  after?: string | null;
}

/** How close a typo may be: pg_trgm word similarity of the query to the movie's words. */
const TYPO_SIMILARITY = 0.45;

type Row = Movie & { rank: number };

/** The catalog: reads (search, filters, pages) and the admin's writes. No GraphQL here. */
export class MovieService {
  private readonly movies: Repository<Movie>;

  constructor(
    private readonly dataSource: DataSource,
    /** Called after a commit that wrote events, so the relay publishes them at once. */
    private readonly eventsWritten: () => void = () => {},
  ) {
    this.movies = dataSource.getRepository(Movie);
  }

  /** Movies by id, in the order asked, null where missing (DataLoader's contract). */
  findByIds(ids: readonly string[]): Promise<(Movie | null)[]> {
    return findByUuids(this.movies, ids);
  }

  /**
   * A page of movies. Without search text: newest release first. With search text: by
   * relevance (title matches first, then full-text rank, then trigram similarity, which also
   * catches typos), ties broken by id so the order is stable across pages.
   */
  async list({ filter, first, after }: MoviePage): Promise<Connection<Movie>> {
    const params: unknown[] = [];
    const param = (value: unknown) => {
      params.push(value);
      return `$${params.length}`;
    };
    const where: string[] = [];
    if (filter?.nowShowing) where.push(`m.status = ${param(MovieStatus.NOW_SHOWING)}`);
    if (filter?.genre) where.push(`${param(filter.genre)} = ANY(m.genres)`);
    if (filter?.city) {
      where.push(`EXISTS (SELECT 1 FROM movie_showings s WHERE s.movie_id = m.id
        AND s.city_key = ${param(foldText(filter.city))} AND s.status = 'SCHEDULED'
        AND s.starts_at >= now())`);
    }
    const query = filter?.search ? foldText(filter.search).slice(0, 200) : '';
    let rank = '0::float8';
    if (query) {
      const q = param(query);
      const tsq = `plainto_tsquery('simple', ${q})`;
      where.push(
        `(m.search_vector @@ ${tsq} OR word_similarity(${q}, m.search_text) >= ${TYPO_SIMILARITY})`,
      );
      rank = `(CASE WHEN m.search_title LIKE ${q} || '%' THEN 2 WHEN m.search_title LIKE '%' || ${q} || '%' THEN 1 ELSE 0 END
        + ts_rank(m.search_vector, ${tsq}) + word_similarity(${q}, m.search_text))::float8`;
    }
    const base = `SELECT m.*, to_char(m.release_date, 'YYYY-MM-DD') AS release_day, ${rank} AS rank FROM movies m ${where.length ? `WHERE ${where.join(' AND ')}` : ''}`;
    const [{ count }] = await this.dataSource.query<{ count: number }[]>(
      `SELECT count(*)::int AS count FROM (${base}) c`,
      params,
    );

    // Keyset pagination: (rank desc, release desc, id asc) is a total, stable order.
    const cursor = decodeCursor(after, ['number', 'date', 'uuid']);
    let page = `SELECT * FROM (${base}) p`;
    if (cursor) {
      const [r, d, id] = [param(cursor[0]), param(cursor[1]), param(cursor[2])];
      page += ` WHERE (p.rank < ${r}::float8) OR (p.rank = ${r}::float8 AND p.release_date < ${d}::date)
        OR (p.rank = ${r}::float8 AND p.release_date = ${d}::date AND p.id > ${id}::uuid)`;
    }
    page += ` ORDER BY p.rank DESC, p.release_date DESC, p.id ASC LIMIT ${param(first + 1)}`;
    const raw = await this.dataSource.query<Record<string, unknown>[]>(page, params);
    const rows = raw.map((r) => this.toMovie(r));
    return toConnection(rows, first, count, (m) => [m.rank, m.releaseDate, m.id]);
  }

  private toMovie(raw: Record<string, unknown>): Row {
    const metadata = this.dataSource.getMetadata(Movie);
    const movie = new Movie() as Row;
    for (const column of metadata.columns) {
      if (column.databaseName in raw) {
        (movie as unknown as Record<string, unknown>)[column.propertyName] =
          raw[column.databaseName];
      }
    }
    movie.releaseDate = String(raw.release_day);
    movie.rank = Number(raw.rank);
    return movie;
  }

  async create(input: CreateMovieInput): Promise<Movie> {
    const movie = Object.assign(new Movie(), {
      id: randomUUID(),
      ...this.validated(input),
    });
    movie.originalTitle ||= movie.title;
    movie.status ??= MovieStatus.COMING_SOON;
    await this.dataSource.transaction(async (tx) => {
      await tx.getRepository(Movie).insert(movie);
      await appendEvents(tx, MOVIES_STREAM, [movieEvent('movie.created', movie)]);
    });
    this.eventsWritten();
    return this.movies.findOneByOrFail({ id: movie.id });
  }

  async update(id: string, input: UpdateMovieInput): Promise<Movie> {
    const changes = this.validated(input as Partial<CreateMovieInput>);
    await this.dataSource.transaction(async (tx) => {
      const repo = tx.getRepository(Movie);
      const movie = await repo.findOne({ where: { id }, lock: { mode: 'pessimistic_write' } });
      if (!movie) throw notFound('Movie', id);
      Object.assign(movie, changes);
      await repo.save(movie);
      await appendEvents(tx, MOVIES_STREAM, [movieEvent('movie.updated', movie)]);
    });
    this.eventsWritten();
    return this.movies.findOneByOrFail({ id });
  }

  async archive(id: string): Promise<Movie> {
    return this.update(id, { status: MovieStatus.ARCHIVED });
  }

  /** Every given field checked; BAD_USER_INPUT names the first bad one. */
  private validated(input: Partial<CreateMovieInput>): Partial<Movie> {
    const out: Partial<Movie> = {};
    const given = <K extends keyof CreateMovieInput>(k: K) =>
      input[k] !== undefined && input[k] !== null;
    if (given('title')) out.title = v.text('title', input.title!);
    if (given('originalTitle')) out.originalTitle = v.text('originalTitle', input.originalTitle!);
    if (given('synopsis'))
      out.synopsis = v.text('synopsis', input.synopsis!, { min: 0, max: 5000 });
    if (given('durationMinutes')) {
      out.durationMinutes = v.intInRange('durationMinutes', input.durationMinutes!, 1, 600);
    }
    if (given('ageRating')) out.ageRating = input.ageRating!;
    if (given('genres'))
      out.genres = v.textList('genres', input.genres!, { maxItems: 10, maxLength: 40 });
    if (given('director')) out.director = v.text('director', input.director!, { min: 0, max: 200 });
    if (given('cast')) out.cast = v.textList('cast', input.cast!, { maxItems: 50, maxLength: 100 });
    if (given('languages')) {
      out.languages = v.textList('languages', input.languages!, { maxItems: 10, maxLength: 40 });
    }
    if (given('releaseDate')) out.releaseDate = v.calendarDate('releaseDate', input.releaseDate!);
    if (given('posterUrl')) out.posterUrl = v.httpUrl('posterUrl', input.posterUrl!);
    if (given('trailerUrl')) out.trailerUrl = v.httpUrl('trailerUrl', input.trailerUrl!);
    if (given('status')) out.status = input.status!;
    return out;
  }
}

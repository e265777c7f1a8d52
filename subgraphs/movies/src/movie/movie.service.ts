import { Brackets, In, type DataSource, type Repository } from 'typeorm';
import { decodeCursor, toConnection, type Connection } from '../../../../runtime/pagination';
import { foldText } from '../../../../runtime/text';
import { Movie, MovieStatus } from './movie.entity';
import type { MovieFilter } from './movie.inputs';

export interface MoviePage {
  filter?: MovieFilter | null;
  first: number;
  after?: string | null;
}

/** Reads of the catalog. No GraphQL here: the resolver maps arguments to these calls. */
export class MovieService {
  private readonly movies: Repository<Movie>;

  constructor(dataSource: DataSource) {
    this.movies = dataSource.getRepository(Movie);
  }

  /** Movies by id, in the order asked, null where missing (DataLoader's contract). */
  async findByIds(ids: readonly string[]): Promise<(Movie | null)[]> {
    const found = await this.movies.findBy({ id: In([...ids]) });
    const byId = new Map(found.map((m) => [m.id, m]));
    return ids.map((id) => byId.get(id) ?? null);
  }

  /**
   * A page of movies, newest release first, ties broken by id so the order is stable.
   * The city filter needs the showtime projection of the catalog issue; until then it is
   * accepted and not applied.
   */
  async list({ filter, first, after }: MoviePage): Promise<Connection<Movie>> {
    const qb = this.movies.createQueryBuilder('m');
    if (filter?.nowShowing) qb.andWhere('m.status = :status', { status: MovieStatus.NOW_SHOWING });
    if (filter?.genre) qb.andWhere(':genre = ANY(m.genres)', { genre: filter.genre });
    const words = filter?.search ? foldText(filter.search).split(' ').filter(Boolean) : [];
    words.forEach((word, i) => {
      qb.andWhere(`m.search_text LIKE :w${i}`, { [`w${i}`]: `%${escapeLike(word)}%` });
    });
    const totalCount = await qb.clone().getCount();

    const cursor = decodeCursor(after, 2);
    if (cursor) {
      const [releaseDate, id] = cursor;
      qb.andWhere(
        new Brackets((w) =>
          w
            .where('m.release_date < :cd', { cd: releaseDate })
            .orWhere('(m.release_date = :cd AND m.id > :cid)', { cid: id }),
        ),
      );
    }
    const rows = await qb
      .orderBy('m.release_date', 'DESC')
      .addOrderBy('m.id', 'ASC')
      .limit(first + 1)
      .getMany();
    return toConnection(rows, first, totalCount, (m) => [m.releaseDate, m.id]);
  }
}

const escapeLike = (s: string) => s.replace(/[\\%_]/g, (c) => `\\${c}`);

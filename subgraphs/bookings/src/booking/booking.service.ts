import { Brackets, In, type DataSource, type Repository } from 'typeorm';
import { byKeys, groupByKeys } from '../../../../runtime/loaders';
import { decodeCursor, toConnection, type Connection } from '../../../../runtime/pagination';
import { Refund } from '../refund/refund.entity';
import { BookingTransition } from './booking-transition.entity';
import { Booking } from './booking.entity';

/** Reads of bookings and what hangs off them, for the resolvers' DataLoaders. */
export class BookingService {
  private readonly bookings: Repository<Booking>;

  constructor(private readonly dataSource: DataSource) {
    this.bookings = dataSource.getRepository(Booking);
  }

  async byIds(ids: readonly string[]): Promise<(Booking | null)[]> {
    const rows = await this.bookings.findBy({ id: In([...ids]) });
    return byKeys(ids, rows, (row) => row.id);
  }

  /** The audit trail of each booking, oldest first. */
  async transitionsOf(bookingIds: readonly string[]): Promise<BookingTransition[][]> {
    const rows = await this.dataSource
      .getRepository(BookingTransition)
      .find({ where: { bookingId: In([...bookingIds]) }, order: { id: 'ASC' } });
    return groupByKeys(bookingIds, rows, (t) => t.bookingId);
  }

  async refundsOf(bookingIds: readonly string[]): Promise<(Refund | null)[]> {
    // Oldest first, so that the newest of a booking's refunds is the one kept.
    const rows = await this.dataSource
      .getRepository(Refund)
      .find({ where: { bookingId: In([...bookingIds]) }, order: { createdAt: 'ASC', id: 'ASC' } });
    return byKeys(bookingIds, rows, (r) => r.bookingId);
  }

  /** A user's bookings, newest first (stable: ties broken by id). */
  async forUser(
    userId: string,
    first: number,
    after?: string | null,
  ): Promise<Connection<Booking>> {
    const qb = this.bookings.createQueryBuilder('b').where('b.user_id = :userId', { userId });
    const totalCount = await qb.clone().getCount();
    const cursor = decodeCursor(after, ['timestamp', 'uuid']);
    if (cursor) {
      const [createdAt, id] = cursor;
      qb.andWhere(
        new Brackets((w) =>
          w
            .where('b.created_at < :ca', { ca: createdAt })
            .orWhere('(b.created_at = :ca AND b.id > :cid)', { cid: id }),
        ),
      );
    }
    const rows = await qb
      .orderBy('b.created_at', 'DESC')
      .addOrderBy('b.id', 'ASC')
      .limit(first + 1)
      .getMany();
    return toConnection(rows, first, totalCount, (b) => [b.createdAt.toISOString(), b.id]);
  }
}

import type { DataSource } from 'typeorm';
import { notFound } from '../../../../runtime/errors';
import type { CinemasClient } from '../cinemas/cinemas.client';
import { ShowtimeSales } from './showtime-sales.types';

/**
 * The sales of one showtime, for ADMIN. Sold means paid: CONFIRMED and COMPLETED bookings.
 * Revenue is what the cinema keeps: the final amounts of those bookings, plus what the
 * refund policy kept of cancelled paid ones (the amount less the refund). Capacity comes from
 * cinemas (sellable seats of the hall, blocked ones excluded).
 */
export class ShowtimeSalesService {
  constructor(
    private readonly dataSource: DataSource,
    private readonly cinemas: CinemasClient,
  ) {}

  async forShowtime(showtimeId: string, requestId?: string): Promise<ShowtimeSales> {
    const [facts] = await this.cinemas.showtimeFacts([showtimeId], requestId);
    if (!facts) throw notFound('Showtime', showtimeId);
    const [row]: {
      seats_sold: number;
      seats_pending: number;
      bookings_sold: number;
      revenue: string;
      refunded: string;
      cancelled_paid: number;
    }[] = await this.dataSource.query(
      `SELECT
         (SELECT count(*)::int FROM tickets t JOIN bookings b ON b.id = t.booking_id
           WHERE b.showtime_id = $1 AND b.status IN ('CONFIRMED', 'COMPLETED')) AS seats_sold,
         (SELECT count(*)::int FROM tickets t JOIN bookings b ON b.id = t.booking_id
           WHERE b.showtime_id = $1 AND b.status = 'PENDING') AS seats_pending,
         count(*) FILTER (WHERE b.status IN ('CONFIRMED', 'COMPLETED'))::int AS bookings_sold,
         (coalesce(sum(b.final_amount) FILTER (WHERE b.status IN ('CONFIRMED', 'COMPLETED')), 0)
          + coalesce(sum(b.final_amount - r.amount) FILTER (WHERE r.id IS NOT NULL), 0))::text
           AS revenue,
         coalesce(sum(r.amount), 0)::text AS refunded,
         count(r.id)::int AS cancelled_paid
       FROM bookings b LEFT JOIN refunds r ON r.booking_id = b.id
       WHERE b.showtime_id = $1`,
      [showtimeId],
    );
    const [lines]: { items: number; revenue: string }[] = await this.dataSource.query(
      `SELECT coalesce(sum(l.quantity), 0)::int AS items, coalesce(sum(l.total_price), 0)::text AS revenue
         FROM booking_concessions l JOIN bookings b ON b.id = l.booking_id
        WHERE b.showtime_id = $1 AND b.status IN ('CONFIRMED', 'COMPLETED')`,
      [showtimeId],
    );
    const capacity = facts.capacity;
    return {
      showtimeId,
      capacity,
      seatsSold: row.seats_sold,
      seatsPending: row.seats_pending,
      occupancy: capacity > 0 ? Math.round((row.seats_sold / capacity) * 10_000) / 10_000 : 0,
      bookings: row.bookings_sold,
      revenue: Number(row.revenue),
      refunded: Number(row.refunded),
      cancelledPaidBookings: row.cancelled_paid,
      concessionItems: lines.items,
      concessionRevenue: Number(lines.revenue),
    };
  }
}

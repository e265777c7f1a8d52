import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Seats sold for good. The partial unique index is the last guard of invariant 1: whatever
 * happens upstream, a seat has at most one ACTIVE reservation per showtime.
 */
export class SeatReservations1732800000000 implements MigrationInterface {
  name = 'SeatReservations1732800000000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`
      CREATE TABLE seat_reservations (
        id uuid PRIMARY KEY,
        showtime_id uuid NOT NULL REFERENCES showtimes (id),
        seat_id uuid NOT NULL REFERENCES seats (id),
        booking_id uuid NOT NULL,
        status text NOT NULL DEFAULT 'ACTIVE' CHECK (status IN ('ACTIVE', 'RELEASED')),
        created_at timestamptz NOT NULL DEFAULT now(),
        released_at timestamptz
      )`);
    await q.query(`CREATE UNIQUE INDEX seat_reservations_one_active_idx
      ON seat_reservations (showtime_id, seat_id) WHERE status = 'ACTIVE'`);
    await q.query('CREATE INDEX seat_reservations_booking_idx ON seat_reservations (booking_id)');
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query('DROP TABLE seat_reservations');
  }
}

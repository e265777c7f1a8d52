import type { MigrationInterface, QueryRunner } from 'typeorm';

export class CreateBookings1732500000000 implements MigrationInterface {
  name = 'CreateBookings1732500000000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`
      CREATE TABLE bookings (
        id uuid PRIMARY KEY,
        booking_code text NOT NULL UNIQUE,
        user_id text NOT NULL,
        showtime_id uuid NOT NULL,
        status text NOT NULL
          CHECK (status IN ('PENDING', 'CONFIRMED', 'COMPLETED', 'CANCELLED', 'EXPIRED')),
        payment_status text NOT NULL CHECK (payment_status IN
          ('UNPAID', 'PENDING', 'PAID', 'FAILED', 'REFUNDED', 'PARTIALLY_REFUNDED')),
        subtotal int NOT NULL CHECK (subtotal >= 0),
        discount int NOT NULL DEFAULT 0 CHECK (discount >= 0),
        points_used int NOT NULL DEFAULT 0 CHECK (points_used >= 0),
        points_discount int NOT NULL DEFAULT 0 CHECK (points_discount >= 0),
        final_amount int NOT NULL CHECK (final_amount >= 0),
        promotion_code text,
        expires_at timestamptz,
        created_at timestamptz NOT NULL DEFAULT now(),
        updated_at timestamptz NOT NULL DEFAULT now()
      )`);
    await q.query(
      'CREATE INDEX bookings_user_created_idx ON bookings (user_id, created_at DESC, id)',
    );
    // Domain rule: at most one PENDING booking per user per showtime.
    await q.query(`CREATE UNIQUE INDEX bookings_one_pending_idx ON bookings (user_id, showtime_id)
                   WHERE status = 'PENDING'`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query('DROP TABLE bookings');
  }
}

import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Reservations of PENDING bookings (issue 11): a row is PENDING from CreateBooking until the
 * booking is confirmed (ACTIVE) or released (RELEASED), or until its expiry plus a grace has
 * passed (the cinemas safety net releases it).
 *
 * The unique index now covers every live reservation, PENDING and ACTIVE: a seat has at most
 * one per showtime, whatever state its booking is in (invariant 1). It keeps its name, which
 * operators and tests know; "active" in it now means "live".
 */
export class PendingReservations1733200000000 implements MigrationInterface {
  name = 'PendingReservations1733200000000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`
      ALTER TABLE seat_reservations
        DROP CONSTRAINT seat_reservations_status_check,
        ADD CONSTRAINT seat_reservations_status_check
          CHECK (status IN ('PENDING', 'ACTIVE', 'RELEASED')),
        -- The booking's expiry: when the bookings subgraph expires it; cinemas releases the
        -- row itself a grace later (see ReservationService.expireOverdue).
        ADD COLUMN expires_at timestamptz,
        -- The booker's seat-holder tag (an HMAC of the user id, never the id): heldByMe.
        ADD COLUMN holder text,
        -- occurredAt of the newest booking event applied to the row: an older event that
        -- arrives late (delivery order is not guaranteed) changes nothing.
        ADD COLUMN booking_event_at timestamptz,
        -- Set when the row became ACTIVE or RELEASED and seat maps were not told yet; cleared
        -- once they were. Seat events go out after the change commits (a seat map read on
        -- the event must show it), so what a crash or an outage kept from going out is found
        -- here and announced later (ReservationService.announceOverdue).
        ADD COLUMN unannounced_since timestamptz,
        ADD CONSTRAINT seat_reservations_pending_check
          CHECK (status <> 'PENDING' OR (expires_at IS NOT NULL AND holder IS NOT NULL))`);
    await q.query('DROP INDEX seat_reservations_one_active_idx');
    await q.query(`CREATE UNIQUE INDEX seat_reservations_one_active_idx
      ON seat_reservations (showtime_id, seat_id) WHERE status IN ('PENDING', 'ACTIVE')`);
    // One row per seat of a booking, whatever happens to it: a retry of CreateBooking can
    // never add a second set, and a late confirmation re-takes the same rows.
    await q.query('DROP INDEX seat_reservations_booking_idx');
    await q.query(`CREATE UNIQUE INDEX seat_reservations_booking_seat_idx
      ON seat_reservations (booking_id, seat_id)`);
    await q.query(`CREATE INDEX seat_reservations_pending_expiry_idx
      ON seat_reservations (expires_at) WHERE status = 'PENDING'`);
    await q.query(`CREATE INDEX seat_reservations_unannounced_idx
      ON seat_reservations (unannounced_since) WHERE unannounced_since IS NOT NULL`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`UPDATE seat_reservations SET status = 'RELEASED', released_at = now()
      WHERE status = 'PENDING'`);
    await q.query('DROP INDEX seat_reservations_unannounced_idx');
    await q.query('DROP INDEX seat_reservations_pending_expiry_idx');
    await q.query('DROP INDEX seat_reservations_booking_seat_idx');
    await q.query('CREATE INDEX seat_reservations_booking_idx ON seat_reservations (booking_id)');
    await q.query('DROP INDEX seat_reservations_one_active_idx');
    await q.query(`CREATE UNIQUE INDEX seat_reservations_one_active_idx
      ON seat_reservations (showtime_id, seat_id) WHERE status = 'ACTIVE'`);
    await q.query(`
      ALTER TABLE seat_reservations
        DROP CONSTRAINT seat_reservations_pending_check,
        DROP COLUMN unannounced_since,
        DROP COLUMN booking_event_at,
        DROP COLUMN holder,
        DROP COLUMN expires_at,
        DROP CONSTRAINT seat_reservations_status_check,
        ADD CONSTRAINT seat_reservations_status_check CHECK (status IN ('ACTIVE', 'RELEASED'))`);
  }
}

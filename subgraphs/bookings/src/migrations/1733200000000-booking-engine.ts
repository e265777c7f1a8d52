import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * The booking engine's tables: promotions and their uses, concessions with stock, the showtime
 * facts a booking keeps, tickets, booking concession lines, the audit trail of transitions,
 * refunds, the points ledger, and idempotency keys.
 *
 * The constraints are the last guard of each rule the services keep with conditional writes:
 * stock and use counts never below zero, a ledger entry's sign matches its type, an amount
 * always adds up, one refund per booking, one ticket per seat index.
 */
export class BookingEngine1733200000000 implements MigrationInterface {
  name = 'BookingEngine1733200000000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`
      CREATE TABLE concessions (
        id uuid PRIMARY KEY,
        cinema_id uuid NOT NULL,
        name text NOT NULL,
        description text,
        category text NOT NULL CHECK (category IN ('POPCORN', 'DRINK', 'COMBO', 'SNACK', 'OTHER')),
        price int NOT NULL CHECK (price >= 0),
        -- NULL: not tracked (always available while active); never below zero.
        stock int CHECK (stock >= 0),
        active boolean NOT NULL DEFAULT true,
        created_at timestamptz NOT NULL DEFAULT now(),
        updated_at timestamptz NOT NULL DEFAULT now()
      )`);
    await q.query(
      'CREATE UNIQUE INDEX concessions_cinema_name_idx ON concessions (cinema_id, name)',
    );

    await q.query(`
      CREATE TABLE promotions (
        id uuid PRIMARY KEY,
        code text NOT NULL UNIQUE,
        description text,
        type text NOT NULL CHECK (type IN ('PERCENTAGE', 'FIXED_AMOUNT', 'FREE_ITEM', 'POINTS')),
        value int NOT NULL CHECK (value > 0),
        max_discount int CHECK (max_discount >= 0),
        min_purchase int NOT NULL DEFAULT 0 CHECK (min_purchase >= 0),
        valid_from timestamptz NOT NULL,
        valid_to timestamptz NOT NULL,
        active boolean NOT NULL DEFAULT true,
        usage_limit int CHECK (usage_limit >= 1),
        usage_per_user int CHECK (usage_per_user >= 1),
        -- Uses of PENDING (reserved) and CONFIRMED/COMPLETED (final) bookings.
        used_count int NOT NULL DEFAULT 0 CHECK (used_count >= 0),
        movie_ids text[],
        cinema_ids text[],
        days_of_week text[],
        free_concession_id uuid REFERENCES concessions (id),
        created_at timestamptz NOT NULL DEFAULT now(),
        updated_at timestamptz NOT NULL DEFAULT now(),
        CHECK (valid_from < valid_to)
      )`);
    await q.query(`
      CREATE TABLE promotion_user_usage (
        promotion_id uuid NOT NULL REFERENCES promotions (id),
        user_id text NOT NULL,
        used_count int NOT NULL CHECK (used_count >= 0),
        PRIMARY KEY (promotion_id, user_id)
      )`);

    // What a booking needs of its showtime (prices, refunds, the door, completion), copied
    // from the cinemas answer at creation: showtimes are never moved, only cancelled. NULL
    // on rows made before the engine (the demo bookings): filled from cinemas when needed.
    await q.query(`
      ALTER TABLE bookings
        ADD COLUMN movie_id uuid,
        ADD COLUMN cinema_id uuid,
        ADD COLUMN hall_id uuid,
        ADD COLUMN starts_at timestamptz,
        ADD COLUMN ends_at timestamptz,
        ADD COLUMN promotion_id uuid REFERENCES promotions (id),
        ADD COLUMN promotion_use text NOT NULL DEFAULT 'NONE'
          CHECK (promotion_use IN ('NONE', 'RESERVED', 'FINAL', 'RETURNED')),
        ADD COLUMN bonus_points int NOT NULL DEFAULT 0 CHECK (bonus_points >= 0),
        ADD COLUMN confirmed_at timestamptz,
        ADD COLUMN completed_at timestamptz,
        ADD COLUMN cancelled_at timestamptz,
        ADD CONSTRAINT bookings_amounts_add_up
          CHECK (discount <= subtotal
             AND final_amount = GREATEST(0, subtotal - discount - points_discount)),
        ADD CONSTRAINT bookings_promotion_use_matches
          CHECK ((promotion_id IS NULL) = (promotion_use = 'NONE'))`);
    // The jobs' scans: PENDING by expiry, CONFIRMED by end; partial, so they stay small.
    await q.query(
      `CREATE INDEX bookings_pending_expiry_idx ON bookings (expires_at) WHERE status = 'PENDING'`,
    );
    await q.query(
      `CREATE INDEX bookings_confirmed_end_idx ON bookings (ends_at) WHERE status = 'CONFIRMED'`,
    );
    await q.query('CREATE INDEX bookings_showtime_idx ON bookings (showtime_id, status)');

    await q.query(`
      CREATE TABLE booking_transitions (
        id bigserial PRIMARY KEY,
        booking_id uuid NOT NULL REFERENCES bookings (id),
        -- NULL: the booking's creation.
        from_status text,
        to_status text NOT NULL,
        actor_type text NOT NULL CHECK (actor_type IN ('USER', 'SERVICE')),
        actor_id text NOT NULL,
        reason text,
        at timestamptz(3) NOT NULL
      )`);
    await q.query(
      'CREATE INDEX booking_transitions_booking_idx ON booking_transitions (booking_id, id)',
    );

    await q.query(`
      CREATE TABLE tickets (
        id uuid PRIMARY KEY,
        booking_id uuid NOT NULL REFERENCES bookings (id),
        user_id text NOT NULL,
        seat_index int NOT NULL CHECK (seat_index BETWEEN 1 AND 999),
        ticket_code text NOT NULL UNIQUE,
        seat_id uuid NOT NULL,
        seat_row text NOT NULL,
        seat_number int NOT NULL,
        seat_type text NOT NULL,
        price int NOT NULL CHECK (price >= 0),
        status text NOT NULL DEFAULT 'PENDING'
          CHECK (status IN ('PENDING', 'VALID', 'USED', 'CANCELLED')),
        -- Set when issued (at confirmation); unique, looked up when a barcode is scanned.
        barcode text UNIQUE,
        issued_at timestamptz,
        used_at timestamptz(3),
        used_by text,
        UNIQUE (booking_id, seat_index),
        CHECK ((status = 'USED') = (used_at IS NOT NULL)),
        CHECK (status = 'PENDING' OR status = 'CANCELLED' OR barcode IS NOT NULL)
      )`);

    await q.query(`
      CREATE TABLE booking_concessions (
        booking_id uuid NOT NULL REFERENCES bookings (id),
        line int NOT NULL,
        concession_id uuid NOT NULL REFERENCES concessions (id),
        name text NOT NULL,
        quantity int NOT NULL CHECK (quantity >= 1),
        unit_price int NOT NULL CHECK (unit_price >= 0),
        total_price int NOT NULL CHECK (total_price = unit_price * quantity),
        free boolean NOT NULL DEFAULT false,
        PRIMARY KEY (booking_id, line)
      )`);

    await q.query(`
      CREATE TABLE refunds (
        id uuid PRIMARY KEY,
        booking_id uuid NOT NULL UNIQUE REFERENCES bookings (id),
        amount int NOT NULL CHECK (amount >= 0),
        percent int NOT NULL CHECK (percent BETWEEN 0 AND 100),
        status text NOT NULL CHECK (status IN ('PENDING', 'COMPLETED', 'FAILED')),
        reason text,
        created_at timestamptz(3) NOT NULL,
        completed_at timestamptz
      )`);

    await q.query(`
      CREATE TABLE loyalty_transactions (
        id bigserial PRIMARY KEY,
        user_id text NOT NULL REFERENCES loyalty_accounts (user_id),
        type text NOT NULL CHECK (type IN ('EARN', 'REDEEM', 'RETURN', 'EXPIRE')),
        points int NOT NULL CHECK (
          (type IN ('EARN', 'RETURN') AND points > 0) OR (type IN ('REDEEM', 'EXPIRE') AND points < 0)),
        booking_id uuid REFERENCES bookings (id),
        description text,
        at timestamptz(3) NOT NULL
      )`);
    await q.query(
      'CREATE INDEX loyalty_transactions_user_idx ON loyalty_transactions (user_id, at, id)',
    );
    // The earliest expiry among the account's points: the expiry job's index.
    await q.query('ALTER TABLE loyalty_accounts ADD COLUMN next_expiry_at timestamptz');
    await q.query(`CREATE INDEX loyalty_accounts_next_expiry_idx ON loyalty_accounts (next_expiry_at)
                   WHERE next_expiry_at IS NOT NULL`);

    await q.query(`
      CREATE TABLE idempotency_keys (
        user_id text NOT NULL,
        operation text NOT NULL,
        key text NOT NULL,
        request_hash text NOT NULL,
        status text NOT NULL CHECK (status IN ('RUNNING', 'DONE')),
        response jsonb,
        -- A RUNNING claim whose owner died is taken over after this.
        locked_until timestamptz NOT NULL,
        created_at timestamptz NOT NULL DEFAULT now(),
        PRIMARY KEY (user_id, operation, key)
      )`);
    await q.query('CREATE INDEX idempotency_keys_created_idx ON idempotency_keys (created_at)');
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query('DROP TABLE idempotency_keys');
    await q.query('DROP INDEX loyalty_accounts_next_expiry_idx');
    await q.query('ALTER TABLE loyalty_accounts DROP COLUMN next_expiry_at');
    await q.query('DROP TABLE loyalty_transactions');
    await q.query('DROP TABLE refunds');
    await q.query('DROP TABLE booking_concessions');
    await q.query('DROP TABLE tickets');
    await q.query('DROP TABLE booking_transitions');
    await q.query('DROP INDEX bookings_showtime_idx');
    await q.query('DROP INDEX bookings_confirmed_end_idx');
    await q.query('DROP INDEX bookings_pending_expiry_idx');
    await q.query(`
      ALTER TABLE bookings
        DROP CONSTRAINT bookings_promotion_use_matches,
        DROP CONSTRAINT bookings_amounts_add_up,
        DROP COLUMN cancelled_at, DROP COLUMN completed_at, DROP COLUMN confirmed_at,
        DROP COLUMN bonus_points, DROP COLUMN promotion_use, DROP COLUMN promotion_id,
        DROP COLUMN ends_at, DROP COLUMN starts_at, DROP COLUMN hall_id,
        DROP COLUMN cinema_id, DROP COLUMN movie_id`);
    await q.query('DROP TABLE promotion_user_usage');
    await q.query('DROP TABLE promotions');
    await q.query('DROP TABLE concessions');
  }
}

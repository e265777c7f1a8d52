import type { DataSource, EntityManager } from 'typeorm';

/**
 * One showtime's bookings in flight, as a PostgreSQL advisory lock (a 64-bit hash of the id:
 * a collision only makes two showtimes' cancellations wait for each other's creations).
 *
 * A booking is created in one transaction that asks cinemas for the seats before it commits,
 * so a cancellation of the showtime can commit at cinemas, and its event be handled here,
 * while a booking that cinemas accepted just before is still uncommitted: invisible to the
 * cancellation's query, and left PENDING (or paid) for a showtime that will not play. Each
 * creation holds the lock shared until it commits (`enterShowtime`; creations never wait for
 * each other), and the cancellation takes it exclusively once before it looks
 * (`awaitBookingsInFlight`): it waits for every creation in flight, and every creation after
 * it asks cinemas after the cancellation committed there, which refuses it.
 */
const lockKey = (showtimeId: string) => `bookings-of-showtime:${showtimeId}`;

/** Called first in a booking's creation transaction: held until it commits or rolls back. */
export async function enterShowtime(manager: EntityManager, showtimeId: string): Promise<void> {
  await manager.query('SELECT pg_advisory_xact_lock_shared(hashtextextended($1, 0))', [
    lockKey(showtimeId),
  ]);
}

/** Returns once every booking of the showtime whose creation was in flight has ended. */
export async function awaitBookingsInFlight(
  dataSource: DataSource,
  showtimeId: string,
): Promise<void> {
  await dataSource.transaction(async (manager) => {
    await manager.query('SELECT pg_advisory_xact_lock(hashtextextended($1, 0))', [
      lockKey(showtimeId),
    ]);
  });
}

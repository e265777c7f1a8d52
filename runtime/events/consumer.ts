import type { DataSource, EntityManager } from 'typeorm';
import { describeError, type DomainEvent } from './event';

/**
 * Applies an event at most once per consumer, whatever the number of deliveries: the event id
 * is recorded in `processed_events` in the same transaction as the effect, so either both
 * commit or neither does (a failed `apply` leaves the event unprocessed, to be retried).
 * Concurrent deliveries of one event serialise on the primary key: one applies, the others
 * wait for it and then find the id taken. Returns whether this call applied the event.
 *
 * `consumer` names the logical consumer (usually the subscription's group), not the instance.
 */
export async function handleOnce(
  dataSource: DataSource,
  consumer: string,
  event: DomainEvent,
  apply: (manager: EntityManager) => Promise<void>,
): Promise<boolean> {
  return dataSource.transaction(async (manager) => {
    const inserted: unknown[] = await manager.query(
      `INSERT INTO processed_events (consumer, event_id) VALUES ($1, $2)
       ON CONFLICT DO NOTHING
       RETURNING event_id`,
      [consumer, event.id],
    );
    if (inserted.length === 0) return false;
    await apply(manager);
    return true;
  });
}

/**
 * Keeps an event that a consumer gave up on, with the last error, for someone to look at and
 * replay. Recording the same event for the same consumer again (a redelivery after a crash
 * between recording and acknowledging) updates the one row instead of adding another.
 */
export async function recordDeadLetter(
  dataSource: DataSource,
  consumer: string,
  stream: string,
  event: DomainEvent,
  error: Error,
  attempts: number,
): Promise<void> {
  await dataSource.query(
    `INSERT INTO dead_letters (consumer, stream, event_id, event, error, attempts)
     VALUES ($1, $2, $3, $4::jsonb, $5, $6)
     ON CONFLICT (consumer, event_id)
     DO UPDATE SET error = EXCLUDED.error, attempts = EXCLUDED.attempts`,
    [consumer, stream, event.id, JSON.stringify(event), describeError(error), attempts],
  );
}

import type { DataSource } from 'typeorm';
import { isUuid } from '../../../../runtime/ids';
import type { ReservationRecord, ReservationRecords } from './hold/seat-hold.store';

interface RecordRow {
  showtime_id: string;
  seat_id: string;
  status: 'PENDING' | 'ACTIVE';
  holder: string | null;
  expires_at: Date | null;
}

interface Waiter {
  resolve(record: ReservationRecord): void;
  reject(err: unknown): void;
}

/**
 * Reads a showtime's live reservations from `seat_reservations` for the hold store, which
 * loads them once per showtime (see `ReservationRecord`): ACTIVE rows are sold, PENDING rows
 * block holds until their expiry plus `graceMs`, the end the booking engine gave their
 * reservation in the store (`ReservationService.reservePending`).
 *
 * The showtimes asked for in one turn of the event loop (the first holds of a rush over many
 * showtimes) are read with one query. Every call is answered by a query that started after
 * it was made, never by one already under way: the store relies on reading after it was told
 * to (its epoch), so only calls still waiting for their query share it.
 */
export function reservationRecords(dataSource: DataSource, graceMs: number): ReservationRecords {
  let batch: Map<string, Waiter[]> | undefined;

  const read = async (waiting: Map<string, Waiter[]>): Promise<void> => {
    if (batch === waiting) batch = undefined;
    try {
      const rows: RecordRow[] = await dataSource.query(
        `SELECT showtime_id, seat_id, status, holder, expires_at FROM seat_reservations
          WHERE showtime_id = ANY($1::uuid[]) AND status IN ('PENDING', 'ACTIVE')`,
        [[...waiting.keys()]],
      );
      const records = new Map<string, ReturnType<typeof emptyRecord>>();
      for (const showtimeId of waiting.keys()) records.set(showtimeId, emptyRecord());
      for (const row of rows) {
        const record = records.get(row.showtime_id);
        if (!record) continue;
        if (row.status === 'ACTIVE') record.sold.push(row.seat_id);
        // PENDING rows always have both (a check constraint); a row without would block
        // nothing it should not.
        else if (row.holder !== null && row.expires_at !== null) {
          record.pending.push({
            seatId: row.seat_id,
            holder: row.holder,
            until: new Date(row.expires_at).getTime() + graceMs,
          });
        }
      }
      for (const [showtimeId, waiters] of waiting) {
        for (const waiter of waiters) waiter.resolve(records.get(showtimeId)!);
      }
    } catch (err) {
      for (const waiters of waiting.values()) for (const waiter of waiters) waiter.reject(err);
    }
  };

  return (showtimeId) => {
    // No showtime has such an id, so it has no reservations (and it cannot fail the batch).
    if (!isUuid(showtimeId)) return Promise.resolve(emptyRecord());
    return new Promise<ReservationRecord>((resolve, reject) => {
      let waiting = batch;
      if (!waiting) {
        const started = new Map<string, Waiter[]>();
        waiting = batch = started;
        setImmediate(() => void read(started));
      }
      // Ids come from the store's checked showtimes; PostgreSQL answers in lower case.
      const key = showtimeId.toLowerCase();
      const waiters = waiting.get(key);
      if (waiters) waiters.push({ resolve, reject });
      else waiting.set(key, [{ resolve, reject }]);
    });
  };
}

const emptyRecord = () => ({
  sold: [] as string[],
  pending: [] as Array<ReservationRecord['pending'][number]>,
});

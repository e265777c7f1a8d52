import type { DataSource } from 'typeorm';
import { isUuid } from '../../../../runtime/ids';
import { batchPerTurn, groupByKeys } from '../../../../runtime/loaders';
import type { ReservationRecord, ReservationRecords } from './hold/seat-hold.store';

/** One live reservation of a showtime, or the showtime alone (no reservation: `seat_id` null). */
interface RecordRow {
  showtime_id: string;
  showtime_status: 'SCHEDULED' | 'CANCELLED';
  seat_id: string | null;
  status: 'PENDING' | 'ACTIVE' | null;
  holder: string | null;
  expires_at: Date | null;
}

/**
 * Reads a showtime's live reservations from `seat_reservations`, and its status from
 * `showtimes` (a cancelled showtime is closed to holds), for the hold store, which
 * loads them once per showtime (see `ReservationRecord`): ACTIVE rows are sold, PENDING rows
 * block holds until their expiry plus `graceMs`, the end the booking engine gave their
 * reservation in the store (`ReservationService.reservePending`).
 *
 * The showtimes asked for in one turn of the event loop (the first holds of a rush over many
 * showtimes) are read with one query. Every call is answered by a query that started after
 * it was made, never by one already under way (`batchPerTurn` caches nothing): the store
 * relies on reading after it was told to (its epoch).
 */
export function reservationRecords(dataSource: DataSource, graceMs: number): ReservationRecords {
  const loader = batchPerTurn(async (showtimeIds: readonly string[]) => {
    const rows: RecordRow[] = await dataSource.query(
      `SELECT s.id AS showtime_id, s.status AS showtime_status,
              r.seat_id, r.status, r.holder, r.expires_at
         FROM showtimes s
         LEFT JOIN seat_reservations r
           ON r.showtime_id = s.id AND r.status IN ('PENDING', 'ACTIVE')
        WHERE s.id = ANY($1::uuid[])`,
      [[...new Set(showtimeIds)]],
    );
    return groupByKeys(showtimeIds, rows, (row) => row.showtime_id).map((group) => {
      const record = emptyRecord();
      for (const row of group) {
        if (row.showtime_status === 'CANCELLED') record.closed = true;
        if (row.seat_id === null) continue;
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
      return record;
    });
  });
  // No showtime has an id that is not a UUID, so it has no reservations (and it cannot fail
  // the batch). Ids come from the store's checked showtimes; PostgreSQL answers in lower case.
  return (showtimeId) =>
    isUuid(showtimeId) ? loader.load(showtimeId.toLowerCase()) : Promise.resolve(emptyRecord());
}

const emptyRecord = () => ({
  closed: false,
  sold: [] as string[],
  pending: [] as Array<ReservationRecord['pending'][number]>,
});

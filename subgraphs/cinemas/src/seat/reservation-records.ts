import type { DataSource } from 'typeorm';
import type { ReservationRecord, ReservationRecords } from './hold/seat-hold.store';

/**
 * Reads a showtime's live reservations from `seat_reservations` for the hold store, which
 * loads them once per showtime (see `ReservationRecord`): ACTIVE rows are sold, PENDING rows
 * block holds until their expiry plus `graceMs`, the end the booking engine gave their
 * reservation in the store (`ReservationService.reservePending`).
 */
export function reservationRecords(dataSource: DataSource, graceMs: number): ReservationRecords {
  return async (showtimeId) => {
    const rows: {
      seat_id: string;
      status: 'PENDING' | 'ACTIVE';
      holder: string | null;
      expires_at: Date | null;
    }[] = await dataSource.query(
      `SELECT seat_id, status, holder, expires_at FROM seat_reservations
        WHERE showtime_id = $1 AND status IN ('PENDING', 'ACTIVE')`,
      [showtimeId],
    );
    const record: { sold: string[]; pending: ReservationRecord['pending'][number][] } = {
      sold: [],
      pending: [],
    };
    for (const row of rows) {
      if (row.status === 'ACTIVE') record.sold.push(row.seat_id);
      // PENDING rows always have both (a check constraint); a row without would block
      // nothing it should not.
      else if (row.holder !== null && row.expires_at !== null) {
        record.pending.push({
          seatId: row.seat_id,
          holder: row.holder,
          until: row.expires_at.getTime() + graceMs,
        });
      }
    }
    return record;
  };
}

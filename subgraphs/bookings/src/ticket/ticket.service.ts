import { randomUUID } from 'node:crypto';
import { In, type DataSource, type EntityManager } from 'typeorm';
import type { ReservedSeat } from '../../../../runtime/contracts/booking-events';
import { groupByKeys } from '../../../../runtime/loaders';
import { scanDecision, type ScanRefusal } from '../domain/scan-policy';
import {
  barcodeFor,
  readScannedCode,
  signTicketPayload,
  ticketCode,
  verifyBarcode,
  type TicketKey,
} from '../domain/ticket-code';
import { qrDataUrl } from '../domain/ticket-qr';
import { SeatType, Ticket, TicketStatus } from './ticket.entity';
import { changedRows } from '../sql';

/** Why a scan was refused: the scan rules' reasons and FORGED (not one of our tickets). */
export type ScanResultReason = ScanRefusal | 'FORGED';

export interface ScanResult {
  accepted: boolean;
  reason: ScanResultReason | null;
  /** Null when FORGED. */
  ticket: Ticket | null;
}

/** The showtime times a scan is judged against; the booking keeps them (see booking.entity). */
export type ShowtimeTimesOf = (bookingId: string) => Promise<{ startsAt: Date; endsAt: Date }>;

/** A seat of a booking being made, with its price. */
export interface SeatLine {
  seat: ReservedSeat;
  price: number;
}

/**
 * Tickets: one per seat, made with the booking (PENDING), issued at confirmation (VALID with
 * a barcode), scanned once at the door (USED), cancelled with the booking.
 */
export class TicketService {
  constructor(
    private readonly dataSource: DataSource,
    private readonly key: TicketKey,
  ) {}

  async ofBookings(bookingIds: readonly string[]): Promise<Ticket[][]> {
    const rows = await this.dataSource
      .getRepository(Ticket)
      .find({ where: { bookingId: In([...bookingIds]) }, order: { seatIndex: 'ASC' } });
    return groupByKeys(bookingIds, rows, (t) => t.bookingId);
  }

  /**
   * The PENDING tickets of a new booking, numbered from 1 in seat order (row, then number):
   * the order a group reads its seats in, so `-001` is the leftmost of the front row.
   */
  async createForBooking(
    manager: EntityManager,
    booking: { id: string; bookingCode: string; userId: string },
    lines: readonly SeatLine[],
  ): Promise<void> {
    const ordered = [...lines].sort(
      (a, b) =>
        a.seat.row.localeCompare(b.seat.row) ||
        a.seat.number - b.seat.number ||
        a.seat.seatId.localeCompare(b.seat.seatId),
    );
    const values = ordered.map((line, i) => ({
      id: randomUUID(),
      bookingId: booking.id,
      userId: booking.userId,
      seatIndex: i + 1,
      ticketCode: ticketCode(booking.bookingCode, i + 1),
      seatId: line.seat.seatId,
      seatRow: line.seat.row,
      seatNumber: line.seat.number,
      ticketType: line.seat.seatType as SeatType,
      price: line.price,
      status: TicketStatus.PENDING,
      barcode: null,
      issuedAt: null,
      usedAt: null,
      usedBy: null,
    }));
    await manager.getRepository(Ticket).insert(values);
  }

  /** Issues a confirmed booking's tickets: VALID, each with its barcode. */
  async issue(manager: EntityManager, bookingId: string, now: Date): Promise<void> {
    await this.makeValid(manager, bookingId, TicketStatus.PENDING, now);
  }

  /**
   * Issues again the tickets of a booking paid after it expired (they were cancelled with
   * it): the same codes, VALID again.
   */
  async reissue(manager: EntityManager, bookingId: string, now: Date): Promise<void> {
    await this.makeValid(manager, bookingId, TicketStatus.CANCELLED, now);
    await this.issue(manager, bookingId, now);
  }

  private async makeValid(
    manager: EntityManager,
    bookingId: string,
    from: TicketStatus.PENDING | TicketStatus.CANCELLED,
    now: Date,
  ): Promise<void> {
    const tickets = await manager.getRepository(Ticket).findBy({ bookingId, status: from });
    for (const ticket of tickets) {
      await manager.query(
        `UPDATE tickets SET status = 'VALID', barcode = $2, issued_at = $3
          WHERE id = $1 AND status = $4`,
        [ticket.id, barcodeFor(ticket.ticketCode, this.key), now, from],
      );
    }
  }

  /** Cancels a booking's tickets that were not used (expiry, cancellation). */
  async cancelAll(manager: EntityManager, bookingId: string): Promise<void> {
    await manager.query(
      `UPDATE tickets SET status = 'CANCELLED' WHERE booking_id = $1 AND status IN ('PENDING', 'VALID')`,
      [bookingId],
    );
  }

  /** The seat ids of a booking's tickets (for the seat events). */
  async seatIdsOf(manager: EntityManager, bookingId: string): Promise<string[]> {
    const rows: { seat_id: string }[] = await manager.query(
      'SELECT seat_id FROM tickets WHERE booking_id = $1 ORDER BY seat_index',
      [bookingId],
    );
    return rows.map((r) => r.seat_id);
  }

  /** The signed QR payload of an issued ticket (what the QR code encodes). */
  payloadOf(ticket: Ticket): string | null {
    return isIssued(ticket) ? signTicketPayload(ticket.ticketCode, this.key) : null;
  }

  /** The QR code of an issued ticket as a PNG data URL, or null before it is issued. */
  async qrCodeOf(ticket: Ticket): Promise<string | null> {
    const payload = this.payloadOf(ticket);
    return payload === null ? null : qrDataUrl(payload);
  }

  /**
   * A scan at the door. The code must be our signed QR payload or a barcode we issued
   * (anything else, a bare ticket code included, is FORGED); then the rules of
   * domain/scan-policy.ts; then the one conditional write that turns VALID into USED, so of
   * any number of concurrent scans of one ticket exactly one is accepted and the others learn
   * when it was used.
   */
  async scan(
    code: string,
    staffUserId: string,
    now: Date,
    timesOf: ShowtimeTimesOf,
  ): Promise<ScanResult> {
    const scanned = readScannedCode(code, this.key);
    const repo = this.dataSource.getRepository(Ticket);
    let ticket: Ticket | null = null;
    if (scanned.kind === 'qr') {
      ticket = await repo.findOneBy({ ticketCode: scanned.ticketCode });
    } else if (scanned.kind === 'barcode') {
      ticket = await repo.findOneBy({ barcode: scanned.barcode });
      if (ticket && !verifyBarcode(scanned.barcode, ticket.ticketCode, this.key)) ticket = null;
    }
    // A ticket not issued yet (its booking is unpaid) has no valid code to show either.
    if (!ticket || ticket.status === TicketStatus.PENDING) {
      return { accepted: false, reason: 'FORGED', ticket: null };
    }
    const decision = scanDecision({
      ticketStatus: ticket.status,
      usedAt: ticket.usedAt,
      showtime: await timesOf(ticket.bookingId),
      now,
    });
    if (!decision.accepted) return { accepted: false, reason: decision.reason, ticket };
    const used = await changedRows(
      this.dataSource,
      `UPDATE tickets SET status = 'USED', used_at = $2, used_by = $3
        WHERE id = $1 AND status = 'VALID'
        RETURNING id`,
      [ticket.id, now, staffUserId],
    );
    const fresh = await repo.findOneByOrFail({ id: ticket.id });
    if (used.length === 1) return { accepted: true, reason: null, ticket: fresh };
    // Another door won the race (or the booking was cancelled meanwhile).
    return {
      accepted: false,
      reason: fresh.status === TicketStatus.CANCELLED ? 'CANCELLED' : 'ALREADY_USED',
      ticket: fresh,
    };
  }
}

const isIssued = (ticket: Ticket): boolean =>
  ticket.status === TicketStatus.VALID || ticket.status === TicketStatus.USED;

import { Field, ID, Int, ObjectType, registerEnumType } from 'type-graphql';
import { Column, Entity, PrimaryColumn } from 'typeorm';

/**
 * The cinemas subgraph's seat types. The same name and values as there: Federation merges the
 * two definitions, and composition fails if they ever differ (the enum is also an input
 * there), so a new seat type cannot slip past the tickets unnoticed.
 */
export enum SeatType {
  STANDARD = 'STANDARD',
  VIP = 'VIP',
  COUPLE = 'COUPLE',
  PREMIUM = 'PREMIUM',
  ACCESSIBLE = 'ACCESSIBLE',
}
registerEnumType(SeatType, { name: 'SeatType' });

export enum TicketStatus {
  /** The booking is not paid yet: no QR code, no barcode, not accepted at the door. */
  PENDING = 'PENDING',
  VALID = 'VALID',
  USED = 'USED',
  CANCELLED = 'CANCELLED',
}
registerEnumType(TicketStatus, {
  name: 'TicketStatus',
  description: 'PENDING until the booking is confirmed; VALID until scanned (USED) or cancelled.',
});

/** The seat a ticket is for, as it was when the booking was made. */
@ObjectType()
export class TicketSeat {
  @Field(() => ID)
  seatId: string;

  @Field({ description: 'Row label: A, B, ...' })
  row: string;

  @Field(() => Int)
  number: number;

  @Field(() => SeatType)
  type: SeatType;
}

/**
 * One seat of a booking. The row exists from the booking's creation (PENDING: the price of
 * the seat); it is issued at confirmation (VALID, with its barcode; the QR payload is derived
 * from the code and the ticket key whenever it is shown).
 */
@Entity('tickets')
@ObjectType()
export class Ticket {
  @PrimaryColumn('uuid')
  @Field(() => ID)
  id: string;

  @Column('uuid', { name: 'booking_id' })
  bookingId: string;

  @Column('text', { name: 'user_id' })
  userId: string;

  @Column('int', { name: 'seat_index' })
  seatIndex: number;

  @Column('text', { name: 'ticket_code', unique: true })
  @Field({ description: '{bookingCode}-{seatIndex:03}' })
  ticketCode: string;

  @Column('uuid', { name: 'seat_id' })
  @Field(() => ID)
  seatId: string;

  @Column('text', { name: 'seat_row' })
  seatRow: string;

  @Column('int', { name: 'seat_number' })
  seatNumber: number;

  @Column('text', { name: 'seat_type' })
  @Field(() => SeatType, { description: "The seat's type, which set its price." })
  ticketType: SeatType;

  @Column('int')
  @Field(() => Int, { description: 'VND' })
  price: number;

  @Column('text')
  @Field(() => TicketStatus)
  status: TicketStatus;

  @Column('text', { nullable: true })
  barcode: string | null;

  @Column('timestamptz', { name: 'issued_at', nullable: true })
  @Field(() => Date, { nullable: true })
  issuedAt: Date | null;

  @Column('timestamptz', { name: 'used_at', nullable: true })
  @Field(() => Date, { nullable: true, description: 'When it was first scanned at the door.' })
  usedAt: Date | null;

  @Column('text', { name: 'used_by', nullable: true })
  usedBy: string | null;
}

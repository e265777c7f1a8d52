import { Field, ID, Int, ObjectType, registerEnumType } from 'type-graphql';
import { Column, Entity, PrimaryColumn } from 'typeorm';

export enum RefundStatus {
  /** Granted; the refunds job is sending it through VNPay's refund API. */
  PENDING = 'PENDING',
  /** VNPay paid it back. */
  COMPLETED = 'COMPLETED',
  /** VNPay refused it, or there was no online payment to return: staff settle it by hand. */
  FAILED = 'FAILED',
}
registerEnumType(RefundStatus, { name: 'RefundStatus' });

export enum RefundKind {
  /** A CONFIRMED booking cancelled by the refund policy (90/70/50%). */
  POLICY = 'POLICY',
  /** The payment arrived after the booking expired and its seats were gone: all of it. */
  LATE_PAYMENT = 'LATE_PAYMENT',
  /** A second attempt paid a booking already paid: all of it. */
  DUPLICATE_PAYMENT = 'DUPLICATE_PAYMENT',
  /** The cinema cancelled the showtime: all of it, whenever the booking was paid. */
  SHOWTIME_CANCELLED = 'SHOWTIME_CANCELLED',
}
registerEnumType(RefundKind, { name: 'RefundKind' });

/**
 * Money to give back: what the refund policy grants when a CONFIRMED booking is cancelled, or
 * a whole payment the customer got nothing for. Paid back through VNPay's refund API by the
 * refunds job (`02` full, `03` partial), whose last answer is kept here.
 */
@Entity('refunds')
@ObjectType()
export class Refund {
  @PrimaryColumn('uuid')
  @Field(() => ID)
  id: string;

  @Column('uuid', { name: 'booking_id' })
  bookingId: string;

  /** The payment the money goes back to (null for a booking confirmed without one). */
  @Column('uuid', { name: 'payment_id', nullable: true })
  paymentId: string | null;

  @Column('text', { default: RefundKind.POLICY })
  @Field(() => RefundKind)
  kind: RefundKind;

  @Column('int')
  @Field(() => Int, { description: 'VND' })
  amount: number;

  @Column('int')
  @Field(() => Int, { description: 'The share of the amount paid: 90, 70 or 50.' })
  percent: number;

  @Column('text')
  @Field(() => RefundStatus)
  status: RefundStatus;

  @Column('text', { nullable: true })
  reason: string | null;

  @Column('timestamptz', { name: 'created_at' })
  @Field()
  createdAt: Date;

  @Column('timestamptz', { name: 'completed_at', nullable: true })
  @Field(() => Date, { nullable: true })
  completedAt: Date | null;

  /** `02` full, `03` partial (VNPay's `vnp_TransactionType`). */
  @Column('text', { name: 'transaction_type', nullable: true })
  transactionType: '02' | '03' | null;

  /** `vnp_RequestId` of the last refund call (VNPay wants a new one for every request). */
  @Column('text', { name: 'request_id', nullable: true })
  requestId: string | null;

  @Column('int', { default: 0 })
  attempts: number;

  @Column('timestamptz', { name: 'next_attempt_at', nullable: true })
  nextAttemptAt: Date | null;

  @Column('text', { name: 'last_error', nullable: true })
  lastError: string | null;

  @Column('text', { name: 'vnp_response_code', nullable: true })
  vnpResponseCode: string | null;

  @Column('text', { name: 'vnp_message', nullable: true })
  vnpMessage: string | null;

  @Column('text', { name: 'vnp_transaction_no', nullable: true })
  vnpTransactionNo: string | null;
}

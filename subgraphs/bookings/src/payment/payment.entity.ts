import { Field, ID, Int, ObjectType, registerEnumType } from 'type-graphql';
import { Column, Entity, PrimaryColumn } from 'typeorm';

export enum PaymentMethod {
  VNPAY = 'VNPAY',
}
registerEnumType(PaymentMethod, { name: 'PaymentMethod' });

export enum PaymentAttemptStatus {
  /** Sent to VNPay; no answer yet. */
  PENDING = 'PENDING',
  /** VNPay took the money (what became of it is `outcome`). */
  COMPLETED = 'COMPLETED',
  /** VNPay said the payment failed or was cancelled. */
  FAILED = 'FAILED',
  /** The pay URL lapsed and VNPay knows of no payment. */
  EXPIRED = 'EXPIRED',
}
registerEnumType(PaymentAttemptStatus, {
  name: 'PaymentAttemptStatus',
  description: 'Where one payment attempt stands.',
});

/** What a COMPLETED (or FAILED) payment did to its booking. */
export enum PaymentOutcome {
  CONFIRMED = 'CONFIRMED',
  /** Paid after the booking expired; its seats were still free and were taken again. */
  LATE_CONFIRMED = 'LATE_CONFIRMED',
  /** Paid after the booking expired and its seats were gone: refunded in full. */
  REFUNDED_LATE = 'REFUNDED_LATE',
  /** A second attempt paid for a booking already paid: refunded in full. */
  REFUNDED_DUPLICATE = 'REFUNDED_DUPLICATE',
  /** The payment failed: the booking was cancelled and its seats released. */
  BOOKING_CANCELLED = 'BOOKING_CANCELLED',
}
registerEnumType(PaymentOutcome, { name: 'PaymentOutcome' });

/** One attempt to pay a booking through VNPay (`vnp_TxnRef` is unique per attempt). */
@Entity('payments')
@ObjectType()
export class Payment {
  @PrimaryColumn('uuid')
  @Field(() => ID)
  id: string;

  @Column('uuid', { name: 'booking_id' })
  bookingId: string;

  @Column('text', { name: 'user_id' })
  userId: string;

  @Column('text')
  @Field(() => PaymentMethod)
  method: PaymentMethod;

  /** `vnp_TxnRef`: the merchant's reference of this attempt. */
  @Column('text', { name: 'txn_ref', unique: true })
  @Field(() => String, { description: 'Our reference of this attempt at VNPay (vnp_TxnRef).' })
  transactionId: string;

  @Column('int')
  @Field(() => Int, { description: 'VND' })
  amount: number;

  @Column('text')
  @Field(() => PaymentAttemptStatus)
  status: PaymentAttemptStatus;

  @Column('text', { nullable: true })
  @Field(() => PaymentOutcome, { nullable: true })
  outcome: PaymentOutcome | null;

  /** Exposed through the resolver: only while the attempt can still be paid. */
  @Column('text', { name: 'payment_url' })
  paymentUrl: string;

  @Column('text', { name: 'ip_addr' })
  ipAddr: string;

  @Column('timestamptz', { name: 'expires_at' })
  @Field({ description: 'The pay URL works until then (never after the booking expires).' })
  expiresAt: Date;

  @Column('timestamptz', { name: 'created_at' })
  @Field()
  createdAt: Date;

  @Column('timestamptz', { name: 'paid_at', nullable: true })
  @Field(() => Date, { nullable: true })
  paidAt: Date | null;

  @Column('timestamptz', { name: 'settled_at', nullable: true })
  settledAt: Date | null;

  @Column('text', { name: 'settled_by', nullable: true })
  settledBy: 'IPN' | 'QUERYDR' | null;

  @Column('text', { name: 'vnp_transaction_no', nullable: true })
  @Field(() => String, { nullable: true, description: "VNPay's transaction number." })
  vnpayTransactionNo: string | null;

  @Column('text', { name: 'vnp_response_code', nullable: true })
  vnpResponseCode: string | null;

  @Column('text', { name: 'vnp_transaction_status', nullable: true })
  vnpTransactionStatus: string | null;

  @Column('text', { name: 'vnp_bank_code', nullable: true })
  vnpBankCode: string | null;

  /** `vnp_PayDate` as VNPay sent it (yyyyMMddHHmmss, GMT+7): the refund API wants it back. */
  @Column('text', { name: 'vnp_pay_date', nullable: true })
  vnpPayDate: string | null;

  @Column('int', { name: 'query_attempts', default: 0 })
  queryAttempts: number;

  @Column('timestamptz', { name: 'next_query_at', nullable: true })
  nextQueryAt: Date | null;
}

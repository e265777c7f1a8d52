import { Field, ID, Int, ObjectType, registerEnumType } from 'type-graphql';
import { Column, Entity, PrimaryColumn } from 'typeorm';

export enum RefundStatus {
  /** Granted; the money is paid back by the payments flow. */
  PENDING = 'PENDING',
  COMPLETED = 'COMPLETED',
  FAILED = 'FAILED',
}
registerEnumType(RefundStatus, { name: 'RefundStatus' });

/** What the refund policy grants when a CONFIRMED booking is cancelled. */
@Entity('refunds')
@ObjectType()
export class Refund {
  @PrimaryColumn('uuid')
  @Field(() => ID)
  id: string;

  @Column('uuid', { name: 'booking_id', unique: true })
  bookingId: string;

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
  completedAt: Date | null;
}

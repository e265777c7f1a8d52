import { Directive, Field, ID, Int, ObjectType, registerEnumType } from 'type-graphql';
import { Column, CreateDateColumn, Entity, PrimaryColumn, UpdateDateColumn } from 'typeorm';

export enum BookingStatus {
  PENDING = 'PENDING',
  CONFIRMED = 'CONFIRMED',
  COMPLETED = 'COMPLETED',
  CANCELLED = 'CANCELLED',
  EXPIRED = 'EXPIRED',
}
registerEnumType(BookingStatus, { name: 'BookingStatus' });

export enum PaymentStatus {
  UNPAID = 'UNPAID',
  PENDING = 'PENDING',
  PAID = 'PAID',
  FAILED = 'FAILED',
  REFUNDED = 'REFUNDED',
  PARTIALLY_REFUNDED = 'PARTIALLY_REFUNDED',
}
registerEnumType(PaymentStatus, { name: 'PaymentStatus' });

/** The users subgraph's User; bookings adds `bookings` to it. */
@ObjectType('User')
@Directive('@key(fields: "id")')
export class UserRef {
  @Field(() => ID)
  id: string;
}

/** The cinemas subgraph's Showtime, referenced by id only. */
@ObjectType('Showtime')
@Directive('@key(fields: "id", resolvable: false)')
export class ShowtimeRef {
  @Field(() => ID)
  id: string;
}

@Entity('bookings')
@ObjectType()
@Directive('@key(fields: "id")')
export class Booking {
  @PrimaryColumn('uuid')
  @Field(() => ID)
  id: string;

  @Column('text', { name: 'booking_code', unique: true })
  @Field()
  bookingCode: string;

  @Column('text', { name: 'user_id' })
  userId: string;

  @Column('uuid', { name: 'showtime_id' })
  showtimeId: string;

  @Column('text')
  @Field(() => BookingStatus)
  status: BookingStatus;

  @Column('text', { name: 'payment_status' })
  @Field(() => PaymentStatus)
  paymentStatus: PaymentStatus;

  /** Integer VND, as every amount. */
  @Column('int')
  @Field(() => Int)
  subtotal: number;

  @Column('int', { default: 0 })
  @Field(() => Int)
  discount: number;

  @Column('int', { name: 'points_used', default: 0 })
  @Field(() => Int)
  pointsUsed: number;

  @Column('int', { name: 'points_discount', default: 0 })
  @Field(() => Int)
  pointsDiscount: number;

  @Column('int', { name: 'final_amount' })
  @Field(() => Int)
  finalAmount: number;

  @Column('text', { name: 'promotion_code', nullable: true })
  @Field(() => String, { nullable: true })
  promotionCode: string | null;

  @Column('timestamptz', { name: 'expires_at', nullable: true })
  @Field(() => Date, { nullable: true })
  expiresAt: Date | null;

  @CreateDateColumn({ name: 'created_at', type: 'timestamptz' })
  @Field()
  createdAt: Date;

  @UpdateDateColumn({ name: 'updated_at', type: 'timestamptz' })
  updatedAt: Date;
}

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

/** What happened to the promotion use a booking took (see promotion.service.ts). */
export type PromotionUse = 'NONE' | 'RESERVED' | 'FINAL' | 'RETURNED';

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

const optionalDate = { nullable: true } as const;

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
  @Field(() => Int, { description: 'Seats and concessions before any discount, VND.' })
  subtotal: number;

  @Column('int', { default: 0 })
  @Field(() => Int, { description: "The promotion's discount, VND." })
  discount: number;

  @Column('int', { name: 'points_used', default: 0 })
  @Field(() => Int)
  pointsUsed: number;

  @Column('int', { name: 'points_discount', default: 0 })
  @Field(() => Int, { description: 'pointsUsed × 1,000 VND.' })
  pointsDiscount: number;

  @Column('int', { name: 'final_amount' })
  @Field(() => Int, { description: 'subtotal − discount − pointsDiscount, never below 0, VND.' })
  finalAmount: number;

  @Column('text', { name: 'promotion_code', nullable: true })
  @Field(() => String, { nullable: true })
  promotionCode: string | null;

  @Column('timestamptz', { name: 'expires_at', nullable: true })
  @Field(() => Date, {
    nullable: true,
    description: 'When a PENDING booking expires and its seats are released.',
  })
  expiresAt: Date | null;

  @CreateDateColumn({ name: 'created_at', type: 'timestamptz' })
  @Field()
  createdAt: Date;

  @UpdateDateColumn({ name: 'updated_at', type: 'timestamptz' })
  updatedAt: Date;

  @Column('timestamptz', { name: 'confirmed_at', nullable: true })
  @Field(() => Date, optionalDate)
  confirmedAt: Date | null;

  @Column('timestamptz', { name: 'completed_at', nullable: true })
  @Field(() => Date, optionalDate)
  completedAt: Date | null;

  @Column('timestamptz', { name: 'cancelled_at', nullable: true })
  @Field(() => Date, optionalDate)
  cancelledAt: Date | null;

  // The showtime facts copied from cinemas at creation (null on rows made before the engine).
  @Column('uuid', { name: 'movie_id', nullable: true })
  movieId: string | null;

  @Column('uuid', { name: 'cinema_id', nullable: true })
  cinemaId: string | null;

  @Column('uuid', { name: 'hall_id', nullable: true })
  hallId: string | null;

  @Column('timestamptz', { name: 'starts_at', nullable: true })
  startsAt: Date | null;

  @Column('timestamptz', { name: 'ends_at', nullable: true })
  endsAt: Date | null;

  @Column('uuid', { name: 'promotion_id', nullable: true })
  promotionId: string | null;

  @Column('text', { name: 'promotion_use', default: 'NONE' })
  promotionUse: PromotionUse;

  /** Points a POINTS promotion adds when the booking completes. */
  @Column('int', { name: 'bonus_points', default: 0 })
  bonusPoints: number;
}

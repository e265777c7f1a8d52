import { Field, ID, Int, ObjectType, registerEnumType } from 'type-graphql';
import { Column, CreateDateColumn, Entity, PrimaryColumn, UpdateDateColumn } from 'typeorm';
import type { DayOfWeek, PromotionRule } from '../domain/promotion';

export enum PromotionType {
  PERCENTAGE = 'PERCENTAGE',
  FIXED_AMOUNT = 'FIXED_AMOUNT',
  FREE_ITEM = 'FREE_ITEM',
  POINTS = 'POINTS',
}
registerEnumType(PromotionType, {
  name: 'PromotionType',
  description:
    'PERCENTAGE (value %, capped by maxDiscount), FIXED_AMOUNT (value VND off), FREE_ITEM ' +
    '(value items of freeConcessionId at 0 VND), POINTS (value bonus points on completion).',
});

export enum DayOfWeekEnum {
  MONDAY = 'MONDAY',
  TUESDAY = 'TUESDAY',
  WEDNESDAY = 'WEDNESDAY',
  THURSDAY = 'THURSDAY',
  FRIDAY = 'FRIDAY',
  SATURDAY = 'SATURDAY',
  SUNDAY = 'SUNDAY',
}
registerEnumType(DayOfWeekEnum, {
  name: 'DayOfWeek',
  description: "A day of the week of the showtime's start in Vietnam (GMT+7).",
});

@Entity('promotions')
@ObjectType()
export class Promotion {
  @PrimaryColumn('uuid')
  @Field(() => ID)
  id: string;

  @Column('text', { unique: true })
  @Field({ description: 'What customers type; upper case.' })
  code: string;

  @Column('text', { nullable: true })
  @Field(() => String, { nullable: true })
  description: string | null;

  @Column('text')
  @Field(() => PromotionType)
  type: PromotionType;

  @Column('int')
  @Field(() => Int)
  value: number;

  @Column('int', { name: 'max_discount', nullable: true })
  @Field(() => Int, { nullable: true, description: 'PERCENTAGE: the largest discount, VND.' })
  maxDiscount: number | null;

  @Column('int', { name: 'min_purchase', default: 0 })
  @Field(() => Int, { description: 'Least subtotal (VND) the promotion applies to.' })
  minPurchase: number;

  @Column('timestamptz', { name: 'valid_from' })
  @Field()
  validFrom: Date;

  @Column('timestamptz', { name: 'valid_to' })
  @Field()
  validTo: Date;

  @Column('boolean', { default: true })
  @Field()
  active: boolean;

  @Column('int', { name: 'usage_limit', nullable: true })
  @Field(() => Int, { nullable: true, description: 'Uses over all customers; null: no limit.' })
  usageLimit: number | null;

  @Column('int', { name: 'usage_per_user', nullable: true })
  @Field(() => Int, { nullable: true, description: 'Uses per customer; null: no limit.' })
  usagePerUser: number | null;

  @Column('int', { name: 'used_count', default: 0 })
  @Field(() => Int, {
    description: 'Uses so far: PENDING bookings (reserved) and paid ones (final).',
  })
  usedCount: number;

  @Column('text', { name: 'movie_ids', array: true, nullable: true })
  @Field(() => [ID], { nullable: true, description: 'Only these movies; null: any.' })
  movieIds: string[] | null;

  @Column('text', { name: 'cinema_ids', array: true, nullable: true })
  @Field(() => [ID], { nullable: true, description: 'Only at these cinemas; null: any.' })
  cinemaIds: string[] | null;

  @Column('text', { name: 'days_of_week', array: true, nullable: true })
  @Field(() => [DayOfWeekEnum], { nullable: true, description: 'Only on these days; null: any.' })
  daysOfWeek: DayOfWeek[] | null;

  @Column('uuid', { name: 'free_concession_id', nullable: true })
  @Field(() => ID, { nullable: true, description: 'FREE_ITEM: the concession given free.' })
  freeConcessionId: string | null;

  @CreateDateColumn({ name: 'created_at', type: 'timestamptz' })
  @Field()
  createdAt: Date;

  @UpdateDateColumn({ name: 'updated_at', type: 'timestamptz' })
  updatedAt: Date;
}

/** The entity as the domain rules see it. */
export function toRule(p: Promotion): PromotionRule {
  return {
    code: p.code,
    type: p.type,
    value: p.value,
    maxDiscount: p.maxDiscount,
    minPurchase: p.minPurchase,
    validFrom: p.validFrom,
    validTo: p.validTo,
    active: p.active,
    usageLimit: p.usageLimit,
    usagePerUser: p.usagePerUser,
    movieIds: p.movieIds,
    cinemaIds: p.cinemaIds,
    daysOfWeek: p.daysOfWeek,
    freeConcessionId: p.freeConcessionId,
  };
}

import { Field, ID, InputType, Int } from 'type-graphql';
import { DayOfWeekEnum, PromotionType } from './promotion.entity';

@InputType({ description: 'A new promotion (ADMIN). Every problem is reported at once.' })
export class CreatePromotionInput {
  @Field({ description: '3..32 letters, digits, "-" or "_"; stored upper case.' })
  code: string;

  @Field(() => String, { nullable: true })
  description?: string | null;

  @Field(() => PromotionType)
  type: PromotionType;

  @Field(() => Int, {
    description:
      'PERCENTAGE: 1..100 %; FIXED_AMOUNT: VND off; FREE_ITEM: 1..10 items; POINTS: 1..100,000 points.',
  })
  value: number;

  @Field(() => Int, { nullable: true, description: 'PERCENTAGE only: the largest discount, VND.' })
  maxDiscount?: number | null;

  @Field(() => Int, { nullable: true, description: 'Least subtotal, VND (default 0).' })
  minPurchase?: number | null;

  @Field()
  validFrom: Date;

  @Field()
  validTo: Date;

  @Field(() => Boolean, { nullable: true, description: 'Default true.' })
  active?: boolean | null;

  @Field(() => Int, { nullable: true, description: 'Uses over all customers; null: no limit.' })
  usageLimit?: number | null;

  @Field(() => Int, { nullable: true, description: 'Uses per customer; null: no limit.' })
  usagePerUser?: number | null;

  @Field(() => [ID], { nullable: true })
  movieIds?: string[] | null;

  @Field(() => [ID], { nullable: true })
  cinemaIds?: string[] | null;

  @Field(() => [DayOfWeekEnum], { nullable: true })
  daysOfWeek?: DayOfWeekEnum[] | null;

  @Field(() => ID, { nullable: true, description: 'FREE_ITEM: the concession given free.' })
  freeConcessionId?: string | null;
}

@InputType({
  description:
    'Changes to a promotion (ADMIN); omitted fields stay, null clears an optional one. The code cannot change.',
})
export class UpdatePromotionInput {
  @Field(() => String, { nullable: true })
  description?: string | null;

  @Field(() => PromotionType, { nullable: true })
  type?: PromotionType | null;

  @Field(() => Int, { nullable: true })
  value?: number | null;

  @Field(() => Int, { nullable: true })
  maxDiscount?: number | null;

  @Field(() => Int, { nullable: true })
  minPurchase?: number | null;

  @Field(() => Date, { nullable: true })
  validFrom?: Date | null;

  @Field(() => Date, { nullable: true })
  validTo?: Date | null;

  @Field(() => Boolean, { nullable: true })
  active?: boolean | null;

  @Field(() => Int, { nullable: true })
  usageLimit?: number | null;

  @Field(() => Int, { nullable: true })
  usagePerUser?: number | null;

  @Field(() => [ID], { nullable: true })
  movieIds?: string[] | null;

  @Field(() => [ID], { nullable: true })
  cinemaIds?: string[] | null;

  @Field(() => [DayOfWeekEnum], { nullable: true })
  daysOfWeek?: DayOfWeekEnum[] | null;

  @Field(() => ID, { nullable: true })
  freeConcessionId?: string | null;
}

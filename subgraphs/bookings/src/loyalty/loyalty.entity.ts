import { Field, Int, ObjectType, registerEnumType } from 'type-graphql';
import { Column, Entity, PrimaryColumn, UpdateDateColumn } from 'typeorm';

export enum LoyaltyTier {
  BRONZE = 'BRONZE',
  SILVER = 'SILVER',
  GOLD = 'GOLD',
  PLATINUM = 'PLATINUM',
}
registerEnumType(LoyaltyTier, { name: 'LoyaltyTier' });

/** Tier by total spent (VND): BRONZE < 5M ≤ SILVER < 15M ≤ GOLD < 50M ≤ PLATINUM. */
export function tierFor(totalSpent: number): LoyaltyTier {
  if (totalSpent >= 50_000_000) return LoyaltyTier.PLATINUM;
  if (totalSpent >= 15_000_000) return LoyaltyTier.GOLD;
  if (totalSpent >= 5_000_000) return LoyaltyTier.SILVER;
  return LoyaltyTier.BRONZE;
}

/**
 * A customer's loyalty account. Points are earned only by the booking engine (on completion);
 * no client-callable "earn" exists. A user without a row has a BRONZE account with 0 points.
 */
@Entity('loyalty_accounts')
@ObjectType('LoyaltyAccount')
export class LoyaltyAccount {
  @PrimaryColumn('text', { name: 'user_id' })
  userId: string;

  @Column('int', { default: 0 })
  @Field(() => Int)
  points: number;

  @Column('text', { default: LoyaltyTier.BRONZE })
  @Field(() => LoyaltyTier)
  tier: LoyaltyTier;

  /** VND; bigint in SQL (a lifetime can pass 2^31), a safe integer here. */
  @Column('bigint', {
    name: 'total_spent',
    default: 0,
    transformer: { to: (v: number) => v, from: (v: string | number) => Number(v) },
  })
  @Field(() => Number, { description: 'VND spent in completed bookings.' })
  totalSpent: number;

  @UpdateDateColumn({ name: 'updated_at', type: 'timestamptz' })
  updatedAt: Date;
}

export const emptyAccount = (userId: string): LoyaltyAccount =>
  Object.assign(new LoyaltyAccount(), {
    userId,
    points: 0,
    tier: LoyaltyTier.BRONZE,
    totalSpent: 0,
    updatedAt: new Date(0),
  });

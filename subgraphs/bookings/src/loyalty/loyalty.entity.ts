import { Field, ID, Int, ObjectType, registerEnumType } from 'type-graphql';
import { Column, Entity, PrimaryColumn, PrimaryGeneratedColumn, UpdateDateColumn } from 'typeorm';
import type { LedgerEntry } from '../domain/loyalty';

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
 * A customer's loyalty account. Points change only through the ledger
 * (`loyalty_transactions`), in the booking engine's own transactions; no client-callable
 * "earn" exists. `points` is the ledger's sum, kept in step under the account's row lock.
 * A user without a row has a BRONZE account with 0 points.
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

  /** The earliest expiry among the points still in the balance (the expiry job's index). */
  @Column('timestamptz', { name: 'next_expiry_at', nullable: true })
  @Field(() => Date, { nullable: true, description: 'When the next points expire.' })
  nextExpiryAt: Date | null;

  @UpdateDateColumn({ name: 'updated_at', type: 'timestamptz' })
  updatedAt: Date;
}

export const emptyAccount = (userId: string): LoyaltyAccount =>
  Object.assign(new LoyaltyAccount(), {
    userId,
    points: 0,
    tier: LoyaltyTier.BRONZE,
    totalSpent: 0,
    nextExpiryAt: null,
    updatedAt: new Date(0),
  });

export enum LoyaltyTransactionType {
  EARN = 'EARN',
  REDEEM = 'REDEEM',
  RETURN = 'RETURN',
  EXPIRE = 'EXPIRE',
}
registerEnumType(LoyaltyTransactionType, {
  name: 'LoyaltyTransactionType',
  description:
    'EARN (a completed booking), REDEEM (spent on a booking), RETURN (a cancelled or expired ' +
    "booking's redeemed points back), EXPIRE (12 months after they were earned).",
});

/** One row of the points ledger; `points` is signed, so the balance is the plain sum. */
@Entity('loyalty_transactions')
@ObjectType()
export class LoyaltyTransaction {
  @PrimaryGeneratedColumn({ type: 'bigint' })
  @Field(() => ID)
  id: string;

  @Column('text', { name: 'user_id' })
  userId: string;

  @Column('text')
  @Field(() => LoyaltyTransactionType)
  type: LoyaltyTransactionType;

  @Column('int')
  @Field(() => Int, { description: 'Positive for EARN and RETURN, negative otherwise.' })
  points: number;

  @Column('uuid', { name: 'booking_id', nullable: true })
  @Field(() => ID, { nullable: true })
  bookingId: string | null;

  @Column('text', { nullable: true })
  @Field(() => String, { nullable: true })
  description: string | null;

  @Column('timestamptz')
  @Field()
  at: Date;
}

/** A stored row as the ledger rules see it. */
export const toLedgerEntry = (row: LoyaltyTransaction): LedgerEntry => ({
  type: row.type,
  points: row.points,
  at: row.at,
  bookingId: row.bookingId,
});

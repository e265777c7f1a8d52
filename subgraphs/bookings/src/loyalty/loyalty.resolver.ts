import { Args, ArgsType, Ctx, Field, FieldResolver, Int, Resolver, Root } from 'type-graphql';
import { connectionType, pageSize } from '../../../../runtime/pagination';
import type { BookingsContext } from '../context.types';
import { LoyaltyAccount, LoyaltyTransaction } from './loyalty.entity';

export const LoyaltyTransactionConnection = connectionType(
  'LoyaltyTransaction',
  LoyaltyTransaction,
);

@ArgsType()
class LedgerPageArgs {
  @Field(() => Int, { nullable: true, description: 'Page size, 1..100 (default 20).' })
  first?: number | null;

  @Field(() => String, { nullable: true })
  after?: string | null;
}

/**
 * The ledger behind the balance. An account is only ever reached through `User.loyalty`,
 * which admits the user and ADMIN alone, so the ledger needs no check of its own.
 */
@Resolver(() => LoyaltyAccount)
export class LoyaltyAccountResolver {
  @FieldResolver(() => LoyaltyTransactionConnection, {
    description: 'Every change of the points, newest first: the balance is their sum.',
  })
  transactions(
    @Root() account: LoyaltyAccount,
    @Args() { first, after }: LedgerPageArgs,
    @Ctx() ctx: BookingsContext,
  ) {
    return ctx.app.loyalty.transactions(account.userId, pageSize(first), after);
  }
}

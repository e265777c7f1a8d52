import { Authorized, Ctx, Query, Resolver } from 'type-graphql';
import { requireUser } from '../../../../runtime/auth';
import type { UsersContext } from '../context';
import { User } from './user.entity';

@Resolver(() => User)
export class UserResolver {
  @Authorized()
  @Query(() => User, { description: 'The signed-in caller.' })
  async me(@Ctx() ctx: UsersContext): Promise<User> {
    const userId = requireUser(ctx);
    return ctx.app.users.ensure({ ...ctx.identity, userId });
  }
}

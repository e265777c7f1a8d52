import { Arg, Args, Authorized, Ctx, ID, Mutation, Query, Resolver } from 'type-graphql';
import { requireUser } from '../../../../runtime/auth';
import { connectionType, pageSize } from '../../../../runtime/pagination';
import type { UsersContext } from '../context';
import { User } from './user.entity';
import { UpdateProfileInput, UsersArgs } from './user.inputs';

export const UserConnection = connectionType('User', User);

@Resolver(() => User)
export class UserResolver {
  @Authorized()
  @Query(() => User, { description: 'The signed-in caller (created on first sight).' })
  async me(@Ctx() ctx: UsersContext): Promise<User> {
    const userId = requireUser(ctx);
    return ctx.app.users.ensure({ ...ctx.identity, userId });
  }

  @Authorized()
  @Mutation(() => User, { description: "Changes the caller's name and/or phone." })
  async updateProfile(
    @Arg('input', () => UpdateProfileInput) input: UpdateProfileInput,
    @Ctx() ctx: UsersContext,
  ): Promise<User> {
    const userId = requireUser(ctx);
    return ctx.app.users.updateProfile({ ...ctx.identity, userId }, input);
  }

  @Authorized('ADMIN')
  @Query(() => UserConnection, { description: 'Find users (ADMIN).' })
  async users(@Args() args: UsersArgs, @Ctx() ctx: UsersContext) {
    return ctx.app.users.search(args, pageSize(args.first), args.after);
  }

  @Authorized('ADMIN')
  @Query(() => User, { nullable: true, description: 'One user by id (ADMIN).' })
  async user(@Arg('id', () => ID) id: string, @Ctx() ctx: UsersContext): Promise<User | null> {
    return ctx.loaders.userById.load(id);
  }
}

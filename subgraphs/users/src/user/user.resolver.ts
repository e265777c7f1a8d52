import {
  Arg,
  Args,
  Authorized,
  Ctx,
  FieldResolver,
  ID,
  Mutation,
  Query,
  Resolver,
  Root,
} from 'type-graphql';
import { hasRole, requireUser } from '../../../../runtime/auth';
import { connectionType, pageSize } from '../../../../runtime/pagination';
import type { UsersContext } from '../context.types';
import { User } from './user.entity';
import { UpdateProfileInput, UsersArgs } from './user.inputs';

export const UserConnection = connectionType('User', User);

/** Contact details are personal: the user and admins see them; anyone else sees null. */
const mayContact = (ctx: UsersContext, user: User) =>
  ctx.identity.userId === user.id || hasRole(ctx, 'ADMIN');

@Resolver(() => User)
export class UserResolver {
  @FieldResolver(() => String, {
    nullable: true,
    description: 'Only for the user and admins (null for anyone else).',
  })
  email(@Root() user: User, @Ctx() ctx: UsersContext): string | null {
    return mayContact(ctx, user) ? user.email : null;
  }

  @FieldResolver(() => String, {
    nullable: true,
    description: 'E.164. Only for the user and admins (null for anyone else).',
  })
  phone(@Root() user: User, @Ctx() ctx: UsersContext): string | null {
    return mayContact(ctx, user) ? user.phone : null;
  }

  @FieldResolver(() => String, {
    nullable: true,
    description:
      'The language of the user\'s mail: "vi" (the default) or "en". Only for the user and admins (null for anyone else).',
  })
  locale(@Root() user: User, @Ctx() ctx: UsersContext): string | null {
    return mayContact(ctx, user) ? user.locale : null;
  }

  @Authorized()
  @Query(() => User, { description: 'The signed-in caller (created on first sight).' })
  async me(@Ctx() ctx: UsersContext): Promise<User> {
    const userId = requireUser(ctx);
    return ctx.app.users.ensure({ ...ctx.identity, userId });
  }

  @Authorized()
  @Mutation(() => User, { description: "Changes the caller's name, phone and/or locale." })
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

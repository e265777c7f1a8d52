import { Arg, Args, Authorized, Ctx, ID, Mutation, Query, Resolver } from 'type-graphql';
import { requireUser } from '../../../../runtime/auth';
import { requireUuid } from '../../../../runtime/ids';
import { connectionType, pageSize } from '../../../../runtime/pagination';
import type { UsersContext } from '../context.types';
import { ApiKey, CreateApiKeyResult } from './api-key.entity';
import { ApiKeysArgs, CreateApiKeyInput } from './api-key.inputs';

export const ApiKeyConnection = connectionType('ApiKey', ApiKey);

/** Partner keys for the public graph (`/public/graphql`): ADMIN only, never public. */
@Resolver()
export class ApiKeyResolver {
  @Authorized('ADMIN')
  @Mutation(() => CreateApiKeyResult, {
    description:
      'Issues a key for the public graph (ADMIN). The key is in this answer only: hand it over now.',
  })
  async createApiKey(
    @Arg('input', () => CreateApiKeyInput) input: CreateApiKeyInput,
    @Ctx() ctx: UsersContext,
  ): Promise<CreateApiKeyResult> {
    return ctx.app.apiKeys.create(input, requireUser(ctx));
  }

  @Authorized('ADMIN')
  @Query(() => ApiKeyConnection, { description: 'Keys of the public graph, newest first (ADMIN).' })
  async apiKeys(@Args() args: ApiKeysArgs, @Ctx() ctx: UsersContext) {
    return ctx.app.apiKeys.list(args.includeRevoked ?? false, pageSize(args.first), args.after);
  }

  @Authorized('ADMIN')
  @Mutation(() => Boolean, {
    description:
      'Revokes a key (ADMIN): refused by every gateway from the next request on. False when it was revoked already.',
  })
  async revokeApiKey(@Arg('id', () => ID) id: string, @Ctx() ctx: UsersContext): Promise<boolean> {
    return ctx.app.apiKeys.revoke(requireUuid(id));
  }
}

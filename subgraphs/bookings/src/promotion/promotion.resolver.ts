import {
  Arg,
  Args,
  ArgsType,
  Authorized,
  Ctx,
  Field,
  ID,
  Int,
  Mutation,
  Query,
  Resolver,
} from 'type-graphql';
import { requireUuid } from '../../../../runtime/ids';
import { connectionType, pageSize } from '../../../../runtime/pagination';
import { notFound } from '../../../../runtime/errors';
import type { BookingsContext } from '../context.types';
import type { PromotionPatch } from '../domain/promotion';
import { Promotion } from './promotion.entity';
import { CreatePromotionInput, UpdatePromotionInput } from './promotion.inputs';

export const PromotionConnection = connectionType('Promotion', Promotion);

@ArgsType()
class PromotionListArgs {
  @Field(() => Int, { nullable: true, description: 'Page size, 1..100 (default 20).' })
  first?: number | null;

  @Field(() => String, { nullable: true })
  after?: string | null;

  @Field(() => Boolean, { nullable: true, description: 'Only active (true) or inactive (false).' })
  active?: boolean | null;
}

/** Optional texts: description. Ids of other subgraphs are UUIDs; checked before SQL sees them. */
function checkIds(input: { freeConcessionId?: string | null }): void {
  if (input.freeConcessionId) requireUuid(input.freeConcessionId, 'freeConcessionId');
}

const cleanDescription = (d: string | null | undefined) =>
  d === undefined ? undefined : d === null ? null : d.trim().slice(0, 500) || null;

@Resolver(() => Promotion)
export class PromotionResolver {
  @Authorized('ADMIN')
  @Query(() => PromotionConnection, { description: 'Promotions, newest first (ADMIN).' })
  promotions(@Args() { first, after, active }: PromotionListArgs, @Ctx() ctx: BookingsContext) {
    return ctx.app.promotions.list(pageSize(first), after, active);
  }

  @Authorized('ADMIN')
  @Query(() => Promotion, { nullable: true, description: 'One promotion (ADMIN).' })
  async promotion(@Arg('id', () => ID) id: string, @Ctx() ctx: BookingsContext) {
    const [promotion] = await ctx.app.promotions.byIds([requireUuid(id)]);
    return promotion;
  }

  @Authorized('ADMIN')
  @Mutation(() => Promotion, { description: 'Creates a promotion (ADMIN).' })
  createPromotion(
    @Arg('input', () => CreatePromotionInput) input: CreatePromotionInput,
    @Ctx() ctx: BookingsContext,
  ): Promise<Promotion> {
    checkIds(input);
    return ctx.app.promotions.create({
      ...input,
      description: cleanDescription(input.description),
    });
  }

  @Authorized('ADMIN')
  @Mutation(() => Promotion, { description: 'Changes a promotion (ADMIN).' })
  async updatePromotion(
    @Arg('id', () => ID) id: string,
    @Arg('input', () => UpdatePromotionInput) input: UpdatePromotionInput,
    @Ctx() ctx: BookingsContext,
  ): Promise<Promotion> {
    checkIds(input);
    const { description, ...rest } = input;
    // GraphQL null on a required rule field means "unchanged", as omitted does.
    const patch: PromotionPatch = {};
    for (const [key, value] of Object.entries(rest)) {
      const required = ['type', 'value', 'validFrom', 'validTo', 'active'].includes(key);
      if (value === undefined || (value === null && required)) continue;
      (patch as Record<string, unknown>)[key] = value;
    }
    return ctx.app.promotions.update(requireUuid(id), {
      ...patch,
      ...(description !== undefined ? { description: cleanDescription(description) } : {}),
    });
  }

  @Authorized('ADMIN')
  @Mutation(() => Promotion, {
    description: 'No new uses from now on (ADMIN); PENDING bookings keep theirs.',
  })
  async deactivatePromotion(@Arg('id', () => ID) id: string, @Ctx() ctx: BookingsContext) {
    const [existing] = await ctx.app.promotions.byIds([requireUuid(id)]);
    if (!existing) throw notFound('Promotion', id);
    return ctx.app.promotions.deactivate(existing.id);
  }
}

import {
  Arg,
  Authorized,
  Ctx,
  FieldResolver,
  ID,
  Int,
  Mutation,
  Query,
  Resolver,
  Root,
} from 'type-graphql';
import { hasRole } from '../../../../runtime/auth';
import { requireUuid } from '../../../../runtime/ids';
import type { BookingsContext } from '../context.types';
import { BookingConcession, Concession } from './concession.entity';
import { CreateConcessionInput, UpdateConcessionInput } from './concession.inputs';

@Resolver(() => Concession)
export class ConcessionResolver {
  @Query(() => [Concession], {
    description: "A cinema's food and drink, by category and name (at most 200).",
  })
  concessions(
    @Arg('cinemaId', () => ID) cinemaId: string,
    @Arg('includeInactive', () => Boolean, {
      nullable: true,
      description: 'Also items taken off the menu (ADMIN).',
    })
    includeInactive: boolean | null,
    @Ctx() ctx: BookingsContext,
  ): Promise<Concession[]> {
    return ctx.app.concessions.forCinema(
      requireUuid(cinemaId, 'cinemaId'),
      !!includeInactive && hasRole(ctx, 'ADMIN'),
    );
  }

  @FieldResolver(() => Boolean, { description: 'On the menu and in stock.' })
  available(@Root() concession: Concession): boolean {
    return concession.active && (concession.stock === null || concession.stock > 0);
  }

  @FieldResolver(() => Int, {
    nullable: true,
    description: 'Items in stock (ADMIN; null when not tracked).',
  })
  stock(@Root() concession: Concession, @Ctx() ctx: BookingsContext): number | null {
    return hasRole(ctx, 'ADMIN') ? concession.stock : null;
  }

  @Authorized('ADMIN')
  @Mutation(() => Concession, { description: "Adds an item to a cinema's menu (ADMIN)." })
  createConcession(
    @Arg('input', () => CreateConcessionInput) input: CreateConcessionInput,
    @Ctx() ctx: BookingsContext,
  ): Promise<Concession> {
    const { cinemaId, ...fields } = input;
    return ctx.app.concessions.create(requireUuid(cinemaId, 'cinemaId'), fields);
  }

  @Authorized('ADMIN')
  @Mutation(() => Concession, { description: 'Changes an item (ADMIN).' })
  updateConcession(
    @Arg('id', () => ID) id: string,
    @Arg('input', () => UpdateConcessionInput) input: UpdateConcessionInput,
    @Ctx() ctx: BookingsContext,
  ): Promise<Concession> {
    return ctx.app.concessions.update(requireUuid(id), {
      ...(input.name != null ? { name: input.name } : {}),
      ...(input.description !== undefined ? { description: input.description } : {}),
      ...(input.category != null ? { category: input.category } : {}),
      ...(input.price != null ? { price: input.price } : {}),
      ...(input.stock !== undefined ? { stock: input.stock } : {}),
      ...(input.active != null ? { active: input.active } : {}),
    });
  }

  @Authorized('ADMIN')
  @Mutation(() => Concession, { description: "Adds to a tracked item's stock (ADMIN)." })
  restockConcession(
    @Arg('id', () => ID) id: string,
    @Arg('quantity', () => Int) quantity: number,
    @Ctx() ctx: BookingsContext,
  ): Promise<Concession> {
    return ctx.app.concessions.restock(requireUuid(id), quantity);
  }
}

@Resolver(() => BookingConcession)
export class BookingConcessionResolver {
  @FieldResolver(() => Concession)
  async concession(
    @Root() line: BookingConcession,
    @Ctx() ctx: BookingsContext,
  ): Promise<Concession> {
    return (await ctx.loaders.concessionById.load(line.concessionId))!;
  }
}

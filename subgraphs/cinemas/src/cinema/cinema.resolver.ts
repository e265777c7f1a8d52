import { Arg, Ctx, Directive, FieldResolver, ID, Query, Resolver, Root } from 'type-graphql';
import { PUBLIC_TAG } from '../../../../runtime/contracts/partner-graph';
import { notFound } from '../../../../runtime/errors';
import { requireUuid } from '../../../../runtime/ids';
import type { CinemasContext } from '../context.types';
import { Cinema, Hall, Seat } from './cinema.entity';

@Resolver(() => Cinema)
export class CinemaResolver {
  @Directive(PUBLIC_TAG)
  @Query(() => [Cinema], { description: 'Cinemas, optionally of one city (accents ignored).' })
  async cinemas(
    @Arg('city', () => String, { nullable: true }) city: string | null,
    @Ctx() ctx: CinemasContext,
  ): Promise<Cinema[]> {
    return ctx.app.cinemas.list(city);
  }

  @Directive(PUBLIC_TAG)
  @Query(() => Cinema, { nullable: true })
  async cinema(
    @Arg('id', () => ID) id: string,
    @Ctx() ctx: CinemasContext,
  ): Promise<Cinema | null> {
    return ctx.loaders.cinemaById.load(requireUuid(id));
  }

  @Directive(PUBLIC_TAG)
  @FieldResolver(() => [Hall])
  async halls(@Root() cinema: Cinema, @Ctx() ctx: CinemasContext): Promise<Hall[]> {
    return ctx.loaders.hallsByCinemaId.load(cinema.id);
  }
}

@Resolver(() => Hall)
export class HallResolver {
  @Directive(PUBLIC_TAG)
  @FieldResolver(() => Cinema)
  async cinema(@Root() hall: Hall, @Ctx() ctx: CinemasContext): Promise<Cinema> {
    const cinema = await ctx.loaders.cinemaById.load(hall.cinemaId);
    if (!cinema) throw notFound('Cinema', hall.cinemaId);
    return cinema;
  }

  @FieldResolver(() => [Seat], { description: 'The seat layout, row by row.' })
  async seats(@Root() hall: Hall, @Ctx() ctx: CinemasContext): Promise<Seat[]> {
    return ctx.loaders.seatsByHallId.load(hall.id);
  }
}

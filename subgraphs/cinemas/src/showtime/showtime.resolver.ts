import {
  Arg,
  Args,
  ArgsType,
  Ctx,
  Directive,
  Field,
  FieldResolver,
  ID,
  Int,
  Query,
  Resolver,
  Root,
} from 'type-graphql';
import { UNCACHED_HINT } from '../../../../runtime/cache-hints';
import { PUBLIC_TAG } from '../../../../runtime/contracts/partner-graph';
import { notFound } from '../../../../runtime/errors';
import { requireUuid } from '../../../../runtime/ids';
import { SHOWTIME_LIST_LIMIT } from '../../../../runtime/query-limits';
import { Hall, SeatType } from '../cinema/cinema.entity';
import type { CinemasContext } from '../context.types';
import { MovieRef, SeatPrice, Showtime } from './showtime.entity';
import { MAX_WINDOW_DAYS, resolveLimit } from './showtime.service';

const LIMIT_DESCRIPTION =
  `At most this many, earliest first (1..${SHOWTIME_LIST_LIMIT.max}, default ` +
  `${SHOWTIME_LIST_LIMIT.default}); for more, ask again from the last one's start.`;

@ArgsType()
class MovieShowtimesArgs {
  @Field(() => Date, { nullable: true, description: 'Earliest start (default: now).' })
  from?: Date | null;

  @Field(() => Date, { nullable: true, description: 'Latest start (default: from + 14 days).' })
  to?: Date | null;

  @Field(() => String, { nullable: true })
  city?: string | null;

  @Field(() => Int, { nullable: true, description: LIMIT_DESCRIPTION })
  limit?: number | null;
}

@ArgsType()
class ShowtimesArgs {
  @Field(() => String)
  city: string;

  @Field(() => Date)
  from: Date;

  @Field(() => Date, { description: `At most ${MAX_WINDOW_DAYS} days after from.` })
  to: Date;

  @Field(() => Int, { nullable: true, description: LIMIT_DESCRIPTION })
  limit?: number | null;
}

const SEAT_TYPE_ORDER = Object.values(SeatType);

@Resolver(() => Showtime)
export class ShowtimeResolver {
  @Directive(PUBLIC_TAG)
  @Query(() => Showtime, { nullable: true })
  async showtime(
    @Arg('id', () => ID) id: string,
    @Ctx() ctx: CinemasContext,
  ): Promise<Showtime | null> {
    return ctx.loaders.showtimeById.load(requireUuid(id));
  }

  @Directive(PUBLIC_TAG)
  @Query(() => [Showtime], {
    description: `Showtimes starting in a window (at most ${MAX_WINDOW_DAYS} days), earliest first.`,
  })
  async showtimes(@Args() args: ShowtimesArgs, @Ctx() ctx: CinemasContext): Promise<Showtime[]> {
    return ctx.app.showtimes.list(args);
  }

  @Directive(PUBLIC_TAG)
  @FieldResolver(() => MovieRef)
  movie(@Root() showtime: Showtime): MovieRef {
    return { id: showtime.movieId };
  }

  @Directive(PUBLIC_TAG)
  @FieldResolver(() => Hall)
  async hall(@Root() showtime: Showtime, @Ctx() ctx: CinemasContext): Promise<Hall> {
    const hall = await ctx.loaders.hallById.load(showtime.hallId);
    if (!hall) throw notFound('Hall', showtime.hallId);
    return hall;
  }

  @Directive(PUBLIC_TAG)
  @FieldResolver(() => [SeatPrice], { description: 'Price per seat type, VND.' })
  prices(@Root() showtime: Showtime): SeatPrice[] {
    return SEAT_TYPE_ORDER.filter((t) => showtime.priceTable[t] !== undefined).map((t) => ({
      seatType: t,
      amount: showtime.priceTable[t] as number,
    }));
  }

  // Changes with every hold: never kept, whatever the showtime's own hint.
  @Directive(UNCACHED_HINT)
  @Directive(PUBLIC_TAG)
  @FieldResolver(() => Int, { description: 'Seats still free to book.' })
  async availableSeats(@Root() showtime: Showtime, @Ctx() ctx: CinemasContext): Promise<number> {
    return ctx.loaders.availableSeats.load(showtime);
  }
}

@Resolver(() => MovieRef)
export class MovieShowtimesResolver {
  // Nullable on purpose: when cinemas is down, the movie itself still reaches the client.
  @Directive(PUBLIC_TAG)
  @FieldResolver(() => [Showtime], {
    nullable: true,
    description: 'Where and when the movie plays (null when the cinemas service is down).',
  })
  async showtimes(
    @Root() movie: MovieRef,
    @Args() window: MovieShowtimesArgs,
    @Ctx() ctx: CinemasContext,
  ): Promise<Showtime[]> {
    const limit = resolveLimit(window.limit);
    const showtimes = await ctx.loaders
      .showtimesByMovieId({ from: window.from, to: window.to, city: window.city, limit })
      .load(movie.id);
    // Never more than asked, whichever field of the request created the loader.
    return showtimes.slice(0, limit);
  }
}

import {
  Arg,
  Authorized,
  Ctx,
  FieldResolver,
  ID,
  Int,
  Mutation,
  Resolver,
  Root,
  Subscription,
} from 'type-graphql';
import { requireUser } from '../../../../runtime/auth';
import { notFound } from '../../../../runtime/errors';
import { requireUuid } from '../../../../runtime/ids';
import { SeatType } from '../cinema/cinema.entity';
import type { CinemasContext } from '../context.types';
import { useEventLoaders } from '../loaders';
import { Showtime } from '../showtime/showtime.entity';
import { SEAT_FEED_LOST, seatUpdatesUnavailable, type SeatFeedItem } from './seat.service';
import { HoldResult, ReleaseResult, SeatMap, SeatState, SeatUpdate } from './seat-map.types';

const seatIdsArg = (seatIds: string[]) => seatIds.map((id) => requireUuid(id, 'seatIds'));

@Resolver(() => Showtime)
export class ShowtimeSeatMapResolver {
  @FieldResolver(() => SeatMap, { description: 'Every seat and its state, for the viewer.' })
  async seatMap(@Root() showtime: Showtime, @Ctx() ctx: CinemasContext): Promise<SeatMap> {
    const [seats, reserved] = await Promise.all([
      ctx.loaders.seatsByHallId.load(showtime.hallId),
      ctx.loaders.reservedSeats.load(showtime.id),
    ]);
    const snapshot = await ctx.loaders.holdSnapshot.load(showtime.id);
    for (const seat of seats) ctx.loaders.seatById.prime(seat.id, seat);
    return ctx.app.seats.seatMap(seats, reserved, snapshot, ctx.identity.userId);
  }
}

@Resolver(() => SeatState)
export class SeatStateResolver {
  private async seat(state: SeatState, ctx: CinemasContext) {
    const seat = await ctx.loaders.seatById.load(state.seatId);
    if (!seat) throw notFound('Seat', state.seatId);
    return seat;
  }

  @FieldResolver(() => String, { description: 'Row label: A, B, ...' })
  async row(@Root() state: SeatState, @Ctx() ctx: CinemasContext): Promise<string> {
    return (await this.seat(state, ctx)).row;
  }

  @FieldResolver(() => Int, { description: 'Seat number within its row.' })
  async number(@Root() state: SeatState, @Ctx() ctx: CinemasContext): Promise<number> {
    return (await this.seat(state, ctx)).number;
  }

  @FieldResolver(() => SeatType)
  async type(@Root() state: SeatState, @Ctx() ctx: CinemasContext): Promise<SeatType> {
    return (await this.seat(state, ctx)).type;
  }
}

@Resolver(() => SeatUpdate)
export class SeatUpdateResolver {
  @FieldResolver(() => Showtime, { nullable: true })
  async showtime(@Root() update: SeatUpdate, @Ctx() ctx: CinemasContext): Promise<Showtime> {
    // The event's own loaders (see `seatUpdates`): read once per event, and fresh for it.
    const showtime = await ctx.loaders.showtimeById.load(update.showtimeId);
    if (!showtime) throw notFound('Showtime', update.showtimeId);
    return showtime;
  }
}

@Resolver()
export class SeatHoldResolver {
  @Authorized()
  @Mutation(() => HoldResult, {
    description:
      "Holds seats for 10 minutes from the caller's first hold in this showtime. All or nothing.",
  })
  async holdSeats(
    @Arg('showtimeId', () => ID) showtimeId: string,
    @Arg('seatIds', () => [ID]) seatIds: string[],
    @Ctx() ctx: CinemasContext,
  ) {
    const userId = requireUser(ctx);
    // The count first: a list of 10,000 ids is refused in a few steps, before any other work.
    const unique = ctx.app.seats.holdRequest(seatIds);
    return ctx.app.seats.hold(requireUuid(showtimeId, 'showtimeId'), userId, seatIdsArg(unique));
  }

  @Authorized()
  @Mutation(() => ReleaseResult, { description: "Releases the caller's holds among these seats." })
  async releaseSeats(
    @Arg('showtimeId', () => ID) showtimeId: string,
    @Arg('seatIds', () => [ID]) seatIds: string[],
    @Ctx() ctx: CinemasContext,
  ) {
    const userId = requireUser(ctx);
    const unique = ctx.app.seats.releaseRequest(seatIds);
    return ctx.app.seats.release(requireUuid(showtimeId, 'showtimeId'), userId, seatIdsArg(unique));
  }

  @Subscription(() => SeatUpdate, {
    description:
      'Live seat states of one showtime: each event lists only the changed seats and the next version.',
    subscribe: ({ args, context }) =>
      (context as CinemasContext).app.seats.events(
        requireUuid(String((args as { showtimeId?: unknown }).showtimeId), 'showtimeId'),
      ),
  })
  seatUpdates(
    @Root() event: SeatFeedItem,
    @Arg('showtimeId', () => ID) _showtimeId: string,
    @Ctx() ctx: CinemasContext,
  ) {
    if (event === SEAT_FEED_LOST) throw seatUpdatesUnavailable();
    // Runs first for every event, before the event's other fields: from here on they read
    // through loaders of this event, not ones left over from earlier events.
    useEventLoaders(ctx, event);
    return ctx.app.seats.forViewer(event, ctx.identity.userId);
  }
}

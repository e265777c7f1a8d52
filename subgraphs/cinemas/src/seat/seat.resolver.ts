import {
  Arg,
  Authorized,
  Ctx,
  Directive,
  FieldResolver,
  ID,
  Mutation,
  Resolver,
  Root,
  Subscription,
} from 'type-graphql';
import { requireUser } from '../../../../runtime/auth';
import { UNCACHED_HINT } from '../../../../runtime/cache-hints';
import { PUBLIC_TAG } from '../../../../runtime/contracts/partner-graph';
import { notFound } from '../../../../runtime/errors';
import { requireUuid } from '../../../../runtime/ids';
import type { CinemasContext } from '../context.types';
import { useEventLoaders } from '../loaders';
import { Showtime, ShowtimeStatus } from '../showtime/showtime.entity';
import { SeatAvailability, seatAvailability } from './availability';
import {
  SEAT_FEED_CLOSED,
  SEAT_FEED_LOST,
  seatUpdatesUnavailable,
  type SeatFeedItem,
} from './seat.service';
import { showtimeClosed } from './hold/seat-hold.store';
import {
  HoldResult,
  ReleaseResult,
  SeatMap,
  SeatUpdate,
  type SeatState,
  type SeatStateCore,
} from './seat-map.types';

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

  // Changes with every hold, like availableSeats: never kept. Public: counts, no holders.
  @Directive(UNCACHED_HINT)
  @Directive(PUBLIC_TAG)
  @FieldResolver(() => SeatAvailability, {
    description: 'Seats in all and per seat type: how many, and how many are free to book now.',
  })
  async availability(
    @Root() showtime: Showtime,
    @Ctx() ctx: CinemasContext,
  ): Promise<SeatAvailability> {
    // The seat map's reads through the same loaders (a list of showtimes batches them), the
    // reservations before the holds as there.
    const [seats, reserved] = await Promise.all([
      ctx.loaders.seatsByHallId.load(showtime.hallId),
      ctx.loaders.reservedSeats.load(showtime.id),
    ]);
    const { holds } = await ctx.loaders.holdSnapshot.load(showtime.id);
    return seatAvailability(seats, reserved, holds, showtime.status === ShowtimeStatus.CANCELLED);
  }
}

/**
 * States with their seats' row, number and type, from the showtime's hall layout as the
 * cinemas process keeps it in memory (`SeatFactsCache`): no table read for a hold.
 */
async function withSeatFacts(
  showtimeId: string,
  states: readonly SeatStateCore[],
  ctx: CinemasContext,
): Promise<SeatState[]> {
  if (states.length === 0) return [];
  const { facts } = ctx.app.seats;
  // Kept in memory nearly always (the hold or release just used them): read without a wait.
  const showtime = facts.cachedShowtime(showtimeId) ?? (await facts.showtime(showtimeId));
  if (!showtime) throw notFound('Showtime', showtimeId);
  const { byId } = facts.cachedHall(showtime.hallId) ?? (await facts.hall(showtime.hallId));
  return states.map((state) => {
    const seat = byId.get(state.seatId);
    if (!seat) throw notFound('Seat', state.seatId);
    return { ...state, row: seat.row, number: seat.number, type: seat.type };
  });
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
    const id = requireUuid(showtimeId, 'showtimeId');
    const held = await ctx.app.seats.hold(id, userId, seatIdsArg(unique));
    return { ...held, seats: await withSeatFacts(id, held.seats, ctx) };
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
    const id = requireUuid(showtimeId, 'showtimeId');
    const { seats } = await ctx.app.seats.release(id, userId, seatIdsArg(unique));
    return { seats: await withSeatFacts(id, seats, ctx) };
  }

  @Subscription(() => SeatUpdate, {
    description:
      'Live seat states of one showtime: each event lists only the changed seats and the next version.',
    subscribe: ({ args, context }) =>
      (context as CinemasContext).app.seats.events(
        requireUuid(String((args as { showtimeId?: unknown }).showtimeId), 'showtimeId'),
      ),
  })
  async seatUpdates(
    @Root() event: SeatFeedItem,
    @Arg('showtimeId', () => ID) _showtimeId: string,
    @Ctx() ctx: CinemasContext,
  ) {
    if (event === SEAT_FEED_LOST) throw seatUpdatesUnavailable();
    if (event === SEAT_FEED_CLOSED) throw showtimeClosed();
    // Runs first for every event, before the event's other fields: from here on they read
    // through loaders of this event, not ones left over from earlier events.
    useEventLoaders(ctx, event);
    const update = ctx.app.seats.forViewer(event, ctx.identity.userId);
    return { ...update, seats: await withSeatFacts(update.showtimeId, update.seats, ctx) };
  }
}

import {
  Arg,
  Args,
  ArgsType,
  Authorized,
  Ctx,
  Field,
  FieldResolver,
  ID,
  Int,
  Query,
  Resolver,
  Root,
} from 'type-graphql';
import { hasRole, requireUser } from '../../../../runtime/auth';
import { AppError } from '../../../../runtime/errors';
import { requireUuid } from '../../../../runtime/ids';
import { connectionType, pageSize } from '../../../../runtime/pagination';
import type { BookingsContext } from '../context';
import { LoyaltyAccount } from '../loyalty/loyalty.entity';
import { Booking, ShowtimeRef, UserRef } from './booking.entity';

export const BookingConnection = connectionType('Booking', Booking);

@ArgsType()
class PageArgs {
  @Field(() => Int, { nullable: true, description: 'Page size, 1..100 (default 20).' })
  first?: number | null;

  @Field(() => String, { nullable: true })
  after?: string | null;
}

/**
 * Who may read a booking, and a user's bookings and loyalty: the owner, and ADMIN. Not STAFF:
 * a booking leads to its owner's history, spending and points, which the door does not need.
 * Staff work the door through ticket scanning (the contract's `validateTicket`, which comes
 * with the tickets), answering what one ticket is (its status, when it was first used, its
 * seat) and nothing about its owner; a booking id shows them nothing, as it shows other
 * customers nothing.
 */
export const canReadBooking = (ctx: BookingsContext, ownerId: string): boolean =>
  ctx.identity.userId === ownerId || hasRole(ctx, 'ADMIN');

@Resolver(() => Booking)
export class BookingResolver {
  @Authorized()
  @Query(() => Booking, { nullable: true, description: "One of the caller's bookings." })
  async booking(
    @Arg('id', () => ID) id: string,
    @Ctx() ctx: BookingsContext,
  ): Promise<Booking | null> {
    const booking = await ctx.loaders.bookingById.load(requireUuid(id));
    // Someone else's booking is reported exactly like a missing one: ids are not probeable.
    if (!booking || !canReadBooking(ctx, booking.userId)) {
      throw new AppError('NOT_FOUND', `Booking ${id} was not found`);
    }
    return booking;
  }

  @FieldResolver(() => UserRef)
  user(@Root() booking: Booking): UserRef {
    return { id: booking.userId };
  }

  @FieldResolver(() => ShowtimeRef)
  showtime(@Root() booking: Booking): ShowtimeRef {
    return { id: booking.showtimeId };
  }
}

@Resolver(() => UserRef)
export class UserBookingsResolver {
  // Nullable on purpose: when bookings is down, the profile itself still reaches the client.
  @FieldResolver(() => BookingConnection, {
    nullable: true,
    description: "The user's bookings, newest first (null when the bookings service is down).",
  })
  async bookings(
    @Root() user: UserRef,
    @Args() { first, after }: PageArgs,
    @Ctx() ctx: BookingsContext,
  ) {
    requireUser(ctx);
    if (!canReadBooking(ctx, user.id)) {
      throw new AppError('FORBIDDEN', "Only the user or an admin may read a user's bookings");
    }
    return ctx.app.bookings.forUser(user.id, pageSize(first), after);
  }

  @FieldResolver(() => LoyaltyAccount, {
    nullable: true,
    description: "The user's loyalty points and tier (null when the bookings service is down).",
  })
  async loyalty(@Root() user: UserRef, @Ctx() ctx: BookingsContext): Promise<LoyaltyAccount> {
    requireUser(ctx);
    if (!canReadBooking(ctx, user.id)) {
      throw new AppError(
        'FORBIDDEN',
        "Only the user or an admin may read a user's loyalty account",
      );
    }
    return ctx.loaders.loyaltyByUserId.load(user.id);
  }
}

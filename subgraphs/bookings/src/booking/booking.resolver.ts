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
  Mutation,
  Query,
  Resolver,
  Root,
} from 'type-graphql';
import { hasRole, requireUser } from '../../../../runtime/auth';
import { AppError } from '../../../../runtime/errors';
import { requireUuid } from '../../../../runtime/ids';
import { connectionType, pageSize } from '../../../../runtime/pagination';
import { text } from '../../../../runtime/validation';
import { BookingConcession } from '../concession/concession.entity';
import type { BookingsContext } from '../context.types';
import { LoyaltyAccount } from '../loyalty/loyalty.entity';
import { Payment } from '../payment/payment.entity';
import { Refund } from '../refund/refund.entity';
import { Ticket } from '../ticket/ticket.entity';
import type { CreatedAnswer } from './booking-creation.service';
import { BookingTransition } from './booking-transition.entity';
import { Booking, ShowtimeRef, UserRef } from './booking.entity';
import { CancelBookingResult, CreateBookingInput } from './booking.inputs';

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

/** What an idempotent CancelBooking replays. */
interface CancelledAnswer {
  bookingId: string;
}

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

  @Authorized()
  @Mutation(() => Booking, {
    description:
      'Books seats the caller holds: a PENDING booking that keeps them until it is paid or ' +
      'expires (BOOKING_PENDING_TTL_SECONDS, 10 minutes). An Idempotency-Key header makes a ' +
      'retry return the same booking.',
  })
  async createBooking(
    @Arg('input', () => CreateBookingInput) input: CreateBookingInput,
    @Ctx() ctx: BookingsContext,
  ): Promise<Booking> {
    const userId = requireUser(ctx);
    return ctx.app.idempotency.run<CreatedAnswer, Booking>(
      { userId, key: ctx.idempotencyKey, operation: 'createBooking', request: input },
      (remember) => ctx.app.creation.create(userId, input, { requestId: ctx.requestId, remember }),
      async ({ bookingId }) => (await ctx.app.bookings.byIds([bookingId]))[0]!,
    );
  }

  @Authorized()
  @Mutation(() => CancelBookingResult, {
    description:
      'Cancels a booking: a PENDING one at once; a CONFIRMED one by the refund policy ' +
      '(≥ 24 h before the start 90%, ≥ 12 h 70%, ≥ 6 h 50%; CANCELLATION_WINDOW_CLOSED under 6 h).',
  })
  async cancelBooking(
    @Arg('id', () => ID) id: string,
    @Arg('reason', () => String, { nullable: true }) reason: string | null,
    @Ctx() ctx: BookingsContext,
  ): Promise<CancelBookingResult> {
    const userId = requireUser(ctx);
    const bookingId = requireUuid(id);
    const why =
      reason === null || reason === undefined ? null : text('reason', reason, { max: 500 });
    return ctx.app.idempotency.run<CancelledAnswer, CancelBookingResult>(
      {
        userId,
        key: ctx.idempotencyKey,
        operation: 'cancelBooking',
        request: { id: bookingId, reason: why },
      },
      (remember) =>
        ctx.app.lifecycle.cancelBooking(bookingId, {
          userId,
          isAdmin: hasRole(ctx, 'ADMIN'),
          reason: why,
          remember: (manager) => remember(manager, { bookingId }),
        }),
      async (answer) => {
        const [booking] = await ctx.app.bookings.byIds([answer.bookingId]);
        const [refund] = await ctx.app.bookings.refundsOf([answer.bookingId]);
        return { booking: booking!, refund };
      },
    );
  }

  @FieldResolver(() => UserRef)
  user(@Root() booking: Booking): UserRef {
    return { id: booking.userId };
  }

  @FieldResolver(() => ShowtimeRef)
  showtime(@Root() booking: Booking): ShowtimeRef {
    return { id: booking.showtimeId };
  }

  @FieldResolver(() => [Ticket], {
    description: 'One per seat; QR code and barcode once the booking is CONFIRMED.',
  })
  tickets(@Root() booking: Booking, @Ctx() ctx: BookingsContext): Promise<Ticket[]> {
    return ctx.loaders.ticketsByBookingId.load(booking.id);
  }

  @FieldResolver(() => [BookingConcession])
  concessions(@Root() booking: Booking, @Ctx() ctx: BookingsContext): Promise<BookingConcession[]> {
    return ctx.loaders.concessionLinesByBookingId.load(booking.id);
  }

  @Authorized('STAFF', 'ADMIN')
  // Nullable: a customer asking for it on their own booking loses this field, not the booking.
  @FieldResolver(() => [BookingTransition], {
    nullable: true,
    description: 'Every change of status, oldest first: who, when, from, to, why (STAFF, ADMIN).',
  })
  history(@Root() booking: Booking, @Ctx() ctx: BookingsContext): Promise<BookingTransition[]> {
    return ctx.loaders.transitionsByBookingId.load(booking.id);
  }

  @FieldResolver(() => Refund, {
    nullable: true,
    description:
      'The latest refund: granted when a paid booking was cancelled, or a payment the ' +
      'customer got nothing for, paid back in full.',
  })
  refund(@Root() booking: Booking, @Ctx() ctx: BookingsContext): Promise<Refund | null> {
    return ctx.loaders.refundByBookingId.load(booking.id);
  }

  @FieldResolver(() => Payment, {
    nullable: true,
    description:
      'The payment that paid the booking, else its latest attempt (null before StartPayment).',
  })
  payment(@Root() booking: Booking, @Ctx() ctx: BookingsContext): Promise<Payment | null> {
    return ctx.loaders.paymentByBookingId.load(booking.id);
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

import { Field, Float, ID, Int, ObjectType } from 'type-graphql';

/** Sales of one showtime (ADMIN). Amounts are integer VND. */
@ObjectType()
export class ShowtimeSales {
  @Field(() => ID)
  showtimeId: string;

  @Field(() => Int, { description: 'Seats of paid bookings (CONFIRMED or COMPLETED).' })
  seatsSold: number;

  @Field(() => Int, { description: 'Seats of PENDING bookings, not paid yet.' })
  seatsPending: number;

  @Field(() => Int, { description: 'Sellable seats of the hall (blocked seats excluded).' })
  capacity: number;

  @Field(() => Float, { description: 'seatsSold / capacity, from 0 to 1.' })
  occupancy: number;

  @Field(() => Int, { description: 'Paid bookings (CONFIRMED or COMPLETED).' })
  bookings: number;

  @Field(() => Int, {
    description: 'What the cinema keeps: paid bookings, plus what cancellations did not refund.',
  })
  revenue: number;

  @Field(() => Int, { description: 'Refunds granted for cancelled paid bookings.' })
  refunded: number;

  @Field(() => Int, { description: 'Paid bookings cancelled with a refund.' })
  cancelledPaidBookings: number;

  @Field(() => Int, { description: 'Concession items in paid bookings.' })
  concessionItems: number;

  @Field(() => Int, { description: 'What those items cost (included in revenue).' })
  concessionRevenue: number;
}

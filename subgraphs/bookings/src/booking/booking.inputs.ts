import { Field, ID, InputType, Int, ObjectType } from 'type-graphql';
import { Refund } from '../refund/refund.entity';
import { Booking } from './booking.entity';

@InputType({ description: 'A concession to add to a booking.' })
export class ConcessionOrderInput {
  @Field(() => ID)
  concessionId: string;

  @Field(() => Int, { description: '1..20' })
  quantity: number;
}

@InputType({ description: 'A booking of seats the caller holds.' })
export class CreateBookingInput {
  @Field(() => ID)
  showtimeId: string;

  @Field(() => [ID], { description: 'Seats the caller holds in the showtime (1..8).' })
  seatIds: string[];

  @Field(() => [ConcessionOrderInput], {
    nullable: true,
    description: "Food and drink of the showtime's cinema (at most 10 different items).",
  })
  concessions?: ConcessionOrderInput[] | null;

  @Field(() => String, { nullable: true, description: 'At most one promotion.' })
  promotionCode?: string | null;

  @Field(() => Int, {
    nullable: true,
    description: 'Points to spend (1 point = 1,000 VND): at least 100, at most 50% of the amount.',
  })
  pointsToRedeem?: number | null;
}

@ObjectType()
export class CancelBookingResult {
  @Field(() => Booking)
  booking: Booking;

  @Field(() => Refund, {
    nullable: true,
    description: 'What the refund policy grants (null for a booking that was not paid).',
  })
  refund: Refund | null;
}

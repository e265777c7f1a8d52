import { Field, ID, Int, ObjectType } from 'type-graphql';
import { PaymentStatus } from './booking.entity';

/**
 * A payment of a booking. The payments flow (VNPay) is built separately: until then no
 * booking has one (`Booking.payment` is null) and bookings are confirmed only through the
 * internal `BookingLifecycle.confirmBooking`.
 */
@ObjectType()
export class Payment {
  @Field(() => ID)
  id: string;

  @Field(() => PaymentStatus)
  status: PaymentStatus;

  @Field(() => Int, { description: 'VND' })
  amount: number;

  @Field(() => Date, { nullable: true })
  paidAt: Date | null;
}

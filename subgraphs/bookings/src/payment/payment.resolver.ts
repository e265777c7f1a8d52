import { Arg, Authorized, Ctx, FieldResolver, ID, Mutation, Resolver, Root } from 'type-graphql';
import { requireUser } from '../../../../runtime/auth';
import { requireUuid } from '../../../../runtime/ids';
import type { BookingsContext } from '../context.types';
import { Payment, PaymentAttemptStatus, PaymentMethod } from './payment.entity';

@Resolver(() => Payment)
export class PaymentResolver {
  @Authorized()
  @Mutation(() => Payment, {
    description:
      "Starts paying the caller's PENDING booking: a new attempt (PENDING) with the VNPay URL " +
      'to send the browser to, valid until the booking expires (15 minutes at most). The ' +
      'booking is confirmed when VNPay notifies the payment (IPN), not by the browser coming ' +
      'back. INVALID_STATE_TRANSITION for a booking that is not PENDING or has expired.',
  })
  async startPayment(
    @Arg('bookingId', () => ID) bookingId: string,
    @Arg('method', () => PaymentMethod, { defaultValue: PaymentMethod.VNPAY })
    _method: PaymentMethod,
    @Ctx() ctx: BookingsContext,
  ): Promise<Payment> {
    const userId = requireUser(ctx);
    // The client's address, signed by the gateway with the identity (VNPay's vnp_IpAddr).
    return ctx.app.payments.start(requireUuid(bookingId), {
      userId,
      ipAddr: ctx.identity.clientIp ?? null,
    });
  }

  @FieldResolver(() => String, {
    nullable: true,
    description: 'Where to send the browser to pay (null once the attempt is settled or lapsed).',
  })
  paymentUrl(@Root() payment: Payment, @Ctx() ctx: BookingsContext): string | null {
    const open =
      payment.status === PaymentAttemptStatus.PENDING &&
      payment.expiresAt.getTime() > ctx.app.clock().getTime();
    return open && payment.paymentUrl ? payment.paymentUrl : null;
  }
}

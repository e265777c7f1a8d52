import {
  Arg,
  Authorized,
  Ctx,
  Field,
  FieldResolver,
  Mutation,
  ObjectType,
  registerEnumType,
  Resolver,
  Root,
} from 'type-graphql';
import { hasRole, requireUser } from '../../../../runtime/auth';
import type { BookingsContext } from '../context.types';
import { Ticket, TicketSeat, TicketStatus } from './ticket.entity';

export enum TicketRefusal {
  ALREADY_USED = 'ALREADY_USED',
  NOT_YET_OPEN = 'NOT_YET_OPEN',
  SHOWTIME_ENDED = 'SHOWTIME_ENDED',
  CANCELLED = 'CANCELLED',
  FORGED = 'FORGED',
}
registerEnumType(TicketRefusal, {
  name: 'TicketRefusal',
  description:
    'ALREADY_USED (ticket.usedAt says when), NOT_YET_OPEN (doors open 30 minutes before the ' +
    'start), SHOWTIME_ENDED, CANCELLED, FORGED (an altered or unknown code).',
});

@ObjectType({ description: 'What the door scanner shows.' })
export class TicketValidation {
  @Field()
  accepted: boolean;

  @Field(() => TicketRefusal, { nullable: true })
  reason: TicketRefusal | null;

  @Field(() => Ticket, { nullable: true, description: 'Null when FORGED.' })
  ticket: Ticket | null;
}

/** What only the ticket's owner (and ADMIN) may see: the codes that open the door. */
const mayShowCodes = (ctx: BookingsContext, ticket: Ticket) =>
  ctx.identity.userId === ticket.userId || hasRole(ctx, 'ADMIN');

@Resolver(() => Ticket)
export class TicketResolver {
  @Authorized('STAFF', 'ADMIN')
  @Mutation(() => TicketValidation, {
    description:
      'Scans a ticket at the door (STAFF, ADMIN): `code` is what the QR or barcode reader ' +
      'returned. VALID becomes USED exactly once, whatever the number of doors scanning it.',
  })
  async validateTicket(
    @Arg('code') code: string,
    @Ctx() ctx: BookingsContext,
  ): Promise<TicketValidation> {
    const staffId = requireUser(ctx);
    const result = await ctx.app.tickets.scan(code, staffId, ctx.app.clock(), (bookingId) =>
      ctx.app.lifecycle.showtimeTimes(bookingId),
    );
    return {
      accepted: result.accepted,
      reason: result.reason as TicketRefusal | null,
      ticket: result.ticket,
    };
  }

  @FieldResolver(() => TicketSeat)
  seat(@Root() ticket: Ticket): TicketSeat {
    return {
      seatId: ticket.seatId,
      row: ticket.seatRow,
      number: ticket.seatNumber,
      type: ticket.ticketType,
    };
  }

  @FieldResolver(() => String, {
    nullable: true,
    description:
      "The signed QR code as a PNG data URL, once issued (the owner's and ADMIN's only).",
  })
  qrCode(@Root() ticket: Ticket, @Ctx() ctx: BookingsContext): Promise<string | null> | null {
    return mayShowCodes(ctx, ticket) ? ctx.app.tickets.qrCodeOf(ticket) : null;
  }

  @FieldResolver(() => String, {
    nullable: true,
    description: "The numeric barcode (18 digits), once issued (the owner's and ADMIN's only).",
  })
  barcode(@Root() ticket: Ticket, @Ctx() ctx: BookingsContext): string | null {
    if (!mayShowCodes(ctx, ticket)) return null;
    return ticket.status === TicketStatus.VALID || ticket.status === TicketStatus.USED
      ? ticket.barcode
      : null;
  }
}

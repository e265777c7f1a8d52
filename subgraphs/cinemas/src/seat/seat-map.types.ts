import { Directive, Field, ID, Int, ObjectType, registerEnumType } from 'type-graphql';
import { SeatType } from '../cinema/cinema.entity';
import { Showtime } from '../showtime/showtime.entity';

export enum SeatStatus {
  AVAILABLE = 'AVAILABLE',
  HELD = 'HELD',
  BOOKED = 'BOOKED',
  BLOCKED = 'BLOCKED',
}
registerEnumType(SeatStatus, { name: 'SeatStatus' });

/** One seat's state for one viewer. Who holds a seat is never told; only whether it is you. */
@ObjectType()
export class SeatState {
  @Field(() => ID)
  seatId: string;

  @Field(() => SeatStatus)
  status: SeatStatus;

  @Field({ description: 'True when the viewer holds this seat.' })
  heldByMe: boolean;

  /**
   * For the gateway only: it computes `heldByMe` per subscriber by comparing this with the
   * subscriber's own tag, so that every subscriber of a showtime can share one upstream
   * subscription. `@inaccessible`: not in the API schema, so no client can select it
   * (invariant 9); a subgraph answers only callers with a signed identity.
   */
  @Field(() => String, {
    nullable: true,
    description:
      "The opaque tag of the seat's holder (HELD only, else null): never a user id. Internal.",
  })
  @Directive('@inaccessible')
  holderTag: string | null;

  // Plain values, not field resolvers: a seat map has hundreds of states, and three resolvers
  // each (a promise and a loader call apiece) cost more than the rest of the request.
  @Field({ description: 'Row label: A, B, ...' })
  row: string;

  @Field(() => Int, { description: 'Seat number within its row.' })
  number: number;

  @Field(() => SeatType)
  type: SeatType;
}

/** A seat's state before its seat facts (row, number, type) are added for the client. */
export type SeatStateCore = Omit<SeatState, 'row' | 'number' | 'type'>;

@ObjectType()
export class SeatMap {
  @Field(() => Int, {
    description: "The showtime's seat-state version; every SeatUpdates event carries the next one.",
  })
  version: number;

  @Field(() => [SeatState])
  seats: SeatState[];
}

@ObjectType()
export class HoldResult {
  @Field({ description: "When the caller's holds in this showtime expire." })
  expiresAt: Date;

  @Field(() => [SeatState], { description: 'Every seat the caller now holds in the showtime.' })
  seats: SeatState[];
}

@ObjectType()
export class ReleaseResult {
  @Field(() => [SeatState], { description: 'The released seats, now AVAILABLE.' })
  seats: SeatState[];
}

@ObjectType()
export class SeatUpdate {
  @Field(() => ID)
  showtimeId: string;

  @Field(() => Int, { description: 'The version after this change: one more than the last.' })
  version: number;

  @Field(() => [SeatState], { description: 'Only the seats that changed.' })
  seats: SeatState[];

  // Nullable on purpose: if the fields other subgraphs add (the movie's title) cannot be
  // fetched for an event, the seat changes still reach the client.
  @Field(() => Showtime, { nullable: true })
  showtime: Showtime;
}

export { SeatType };

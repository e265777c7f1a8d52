import { Field, ObjectType, registerEnumType } from 'type-graphql';
import { Column, Entity, PrimaryGeneratedColumn } from 'typeorm';
import { BookingStatus } from './booking.entity';

export enum TransitionActorType {
  USER = 'USER',
  SERVICE = 'SERVICE',
}
registerEnumType(TransitionActorType, {
  name: 'TransitionActorType',
  description: 'A signed-in user (customer, STAFF, ADMIN) or a part of the system.',
});

/** One row of a booking's audit trail: who moved it from what to what, when and why. */
@Entity('booking_transitions')
@ObjectType({ description: "One change of a booking's status (the audit trail)." })
export class BookingTransition {
  @PrimaryGeneratedColumn({ type: 'bigint' })
  id: string;

  @Column('uuid', { name: 'booking_id' })
  bookingId: string;

  @Column('text', { name: 'from_status', nullable: true })
  @Field(() => BookingStatus, { nullable: true, description: 'Null for the creation.' })
  from: BookingStatus | null;

  @Column('text', { name: 'to_status' })
  @Field(() => BookingStatus)
  to: BookingStatus;

  @Column('text', { name: 'actor_type' })
  @Field(() => TransitionActorType)
  actorType: TransitionActorType;

  @Column('text', { name: 'actor_id' })
  @Field({ description: 'The user id, or the service ("payments", "expiry-job", ...).' })
  actorId: string;

  @Column('text', { nullable: true })
  @Field(() => String, { nullable: true })
  reason: string | null;

  @Column('timestamptz')
  @Field()
  at: Date;
}

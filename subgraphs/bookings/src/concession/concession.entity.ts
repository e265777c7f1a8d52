import { Field, ID, Int, ObjectType, registerEnumType } from 'type-graphql';
import { Column, CreateDateColumn, Entity, PrimaryColumn, UpdateDateColumn } from 'typeorm';

export enum ConcessionCategory {
  POPCORN = 'POPCORN',
  DRINK = 'DRINK',
  COMBO = 'COMBO',
  SNACK = 'SNACK',
  OTHER = 'OTHER',
}
registerEnumType(ConcessionCategory, { name: 'ConcessionCategory' });

/**
 * Food and drink sold at one cinema. `stock` null means not tracked; otherwise a PENDING
 * booking reserves its quantity (a conditional decrement that never goes below zero) and
 * gives it back when it expires or is cancelled.
 */
@Entity('concessions')
@ObjectType()
export class Concession {
  @PrimaryColumn('uuid')
  @Field(() => ID)
  id: string;

  @Column('uuid', { name: 'cinema_id' })
  @Field(() => ID)
  cinemaId: string;

  @Column('text')
  @Field()
  name: string;

  @Column('text', { nullable: true })
  @Field(() => String, { nullable: true })
  description: string | null;

  @Column('text')
  @Field(() => ConcessionCategory)
  category: ConcessionCategory;

  @Column('int')
  @Field(() => Int, { description: 'VND' })
  price: number;

  @Column('int', { nullable: true })
  stock: number | null;

  @Column('boolean', { default: true })
  @Field({ description: 'Offered at all (ADMIN may take an item off the menu).' })
  active: boolean;

  @CreateDateColumn({ name: 'created_at', type: 'timestamptz' })
  createdAt: Date;

  @UpdateDateColumn({ name: 'updated_at', type: 'timestamptz' })
  updatedAt: Date;
}

/** One concession line of a booking, its price as it was when the booking was made. */
@Entity('booking_concessions')
@ObjectType()
export class BookingConcession {
  @PrimaryColumn('uuid', { name: 'booking_id' })
  bookingId: string;

  @PrimaryColumn('int')
  line: number;

  @Column('uuid', { name: 'concession_id' })
  concessionId: string;

  @Column('text')
  @Field({ description: 'The name when ordered.' })
  name: string;

  @Column('int')
  @Field(() => Int)
  quantity: number;

  @Column('int', { name: 'unit_price' })
  @Field(() => Int, { description: 'VND, as it was when ordered (0 for a free item).' })
  unitPrice: number;

  @Column('int', { name: 'total_price' })
  @Field(() => Int, { description: 'VND' })
  totalPrice: number;

  @Column('boolean', { default: false })
  @Field({ description: 'Added free by a FREE_ITEM promotion.' })
  free: boolean;
}

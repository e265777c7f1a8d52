import { Directive, Field, Float, ID, Int, ObjectType, registerEnumType } from 'type-graphql';
import { Column, Entity, PrimaryColumn } from 'typeorm';
import { CATALOG_CACHE_HINT } from '../../../../runtime/cache-hints';
import { PUBLIC_TAG } from '../../../../runtime/contracts/partner-graph';

export enum SeatType {
  STANDARD = 'STANDARD',
  VIP = 'VIP',
  COUPLE = 'COUPLE',
  PREMIUM = 'PREMIUM',
  ACCESSIBLE = 'ACCESSIBLE',
}
registerEnumType(SeatType, { name: 'SeatType' });

@Entity('cinemas')
@ObjectType()
@Directive(CATALOG_CACHE_HINT)
@Directive(PUBLIC_TAG)
export class Cinema {
  @PrimaryColumn('uuid')
  @Directive(PUBLIC_TAG)
  @Field(() => ID)
  id: string;

  @Column('text')
  @Directive(PUBLIC_TAG)
  @Field()
  name: string;

  @Column('text')
  @Directive(PUBLIC_TAG)
  @Field()
  city: string;

  /** The city folded (case, diacritics) so "ho chi minh" finds "Hồ Chí Minh". */
  @Column('text', { name: 'city_key' })
  cityKey: string;

  @Column('text')
  @Directive(PUBLIC_TAG)
  @Field()
  address: string;

  @Column('double precision', { nullable: true })
  @Directive(PUBLIC_TAG)
  @Field(() => Float, { nullable: true })
  latitude: number | null;

  @Column('double precision', { nullable: true })
  @Directive(PUBLIC_TAG)
  @Field(() => Float, { nullable: true })
  longitude: number | null;
}

@Entity('halls')
@ObjectType()
@Directive(CATALOG_CACHE_HINT)
@Directive(PUBLIC_TAG)
export class Hall {
  @PrimaryColumn('uuid')
  @Directive(PUBLIC_TAG)
  @Field(() => ID)
  id: string;

  @Column('uuid', { name: 'cinema_id' })
  cinemaId: string;

  @Column('text')
  @Directive(PUBLIC_TAG)
  @Field()
  name: string;

  @Column('int')
  @Field(() => Int, { description: 'Rows of the layout (A, B, ...).' })
  rows: number;

  @Column('int')
  @Field(() => Int, { description: 'Columns of the layout, aisles included.' })
  columns: number;

  @Column('int')
  @Directive(PUBLIC_TAG)
  @Field(() => Int, { description: 'Number of seats.' })
  capacity: number;
}

@Entity('seats')
@ObjectType()
@Directive(CATALOG_CACHE_HINT)
export class Seat {
  @PrimaryColumn('uuid')
  @Field(() => ID)
  id: string;

  @Column('uuid', { name: 'hall_id' })
  hallId: string;

  @Column('text', { name: 'row_label' })
  @Field({ description: 'Row label: A, B, ...' })
  row: string;

  @Column('int')
  @Field(() => Int, { description: 'Seat number within its row.' })
  number: number;

  @Column('int', { name: 'column_index' })
  @Field(() => Int, { description: 'Position in the layout (1-based); gaps are aisles.' })
  column: number;

  @Column('text')
  @Field(() => SeatType)
  type: SeatType;

  /** Out of service: never sold. */
  @Column('boolean', { default: false })
  @Field()
  blocked: boolean;
}

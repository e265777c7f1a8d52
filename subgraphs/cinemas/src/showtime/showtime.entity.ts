import { Directive, Field, ID, Int, ObjectType, registerEnumType } from 'type-graphql';
import { Column, Entity, PrimaryColumn } from 'typeorm';
import { CATALOG_CACHE_HINT, INHERITED_CACHE_HINT } from '../../../../runtime/cache-hints';
import { PUBLIC_TAG } from '../../../../runtime/contracts/partner-graph';
import { SeatType } from '../cinema/cinema.entity';

export const SHOWTIME_FORMATS = ['2D', '3D', 'IMAX'] as const;
export type ShowtimeFormat = (typeof SHOWTIME_FORMATS)[number];

/** Whether a showtime still plays; cancelling is the only change, and it is final. */
export const ShowtimeStatus = { SCHEDULED: 'SCHEDULED', CANCELLED: 'CANCELLED' } as const;
export type ShowtimeStatus = (typeof ShowtimeStatus)[keyof typeof ShowtimeStatus];
registerEnumType(ShowtimeStatus, {
  name: 'ShowtimeStatus',
  valuesConfig: {
    SCHEDULED: { description: 'It plays as scheduled.' },
    CANCELLED: {
      description:
        'The cinema cancelled it: no seat can be held or booked, and its bookings are cancelled, the paid ones refunded in full.',
    },
  },
});

/** Integer VND per seat type: money never touches a float. */
export type PriceTable = Partial<Record<SeatType, number>>;

@ObjectType()
@Directive(INHERITED_CACHE_HINT)
@Directive(PUBLIC_TAG)
export class SeatPrice {
  @Directive(PUBLIC_TAG)
  @Field(() => SeatType)
  seatType: SeatType;

  @Directive(PUBLIC_TAG)
  @Field(() => Int, { description: 'VND' })
  amount: number;
}

@Entity('showtimes')
@ObjectType()
@Directive('@key(fields: "id")')
@Directive(CATALOG_CACHE_HINT)
@Directive(PUBLIC_TAG)
export class Showtime {
  @PrimaryColumn('uuid')
  @Directive(PUBLIC_TAG)
  @Field(() => ID)
  id: string;

  @Column('uuid', { name: 'movie_id' })
  movieId: string;

  @Column('uuid', { name: 'hall_id' })
  hallId: string;

  @Column('timestamptz', { name: 'starts_at' })
  @Directive(PUBLIC_TAG)
  @Field()
  startsAt: Date;

  @Column('timestamptz', { name: 'ends_at' })
  @Directive(PUBLIC_TAG)
  @Field()
  endsAt: Date;

  /** When the hall is free again: the end plus the cleaning gap. */
  @Column('timestamptz', { name: 'busy_until' })
  busyUntil: Date;

  @Column('text')
  @Directive(PUBLIC_TAG)
  @Field({ description: '2D, 3D or IMAX' })
  format: string;

  @Column('text')
  @Directive(PUBLIC_TAG)
  @Field()
  language: string;

  @Column('text', { nullable: true })
  @Directive(PUBLIC_TAG)
  @Field(() => String, { nullable: true })
  subtitles: string | null;

  @Column('jsonb', { name: 'price_table' })
  priceTable: PriceTable;

  @Column('text', { default: 'SCHEDULED' })
  @Directive(PUBLIC_TAG)
  @Field(() => ShowtimeStatus)
  status: ShowtimeStatus;
}

/** The movies subgraph's Movie, extended here with where and when it plays. */
@ObjectType('Movie')
@Directive('@key(fields: "id")')
@Directive(CATALOG_CACHE_HINT)
@Directive(PUBLIC_TAG)
export class MovieRef {
  @Directive(PUBLIC_TAG)
  @Field(() => ID)
  id: string;
}

/** Minutes of advertising and trailers before the film starts. */
export const TRAILER_MINUTES = 15;
/** Minutes a hall needs between the end of one showtime and the start of the next. */
export const CLEANING_MINUTES = 15;

/**
 * A showtime ends after the trailers and the film, rounded up to five minutes; the hall is
 * busy until the cleaning after it is done.
 */
export function showtimeTimes(startsAt: Date, durationMinutes: number) {
  const minutes = Math.ceil((durationMinutes + TRAILER_MINUTES) / 5) * 5;
  const endsAt = new Date(startsAt.getTime() + minutes * 60_000);
  return { startsAt, endsAt, busyUntil: new Date(endsAt.getTime() + CLEANING_MINUTES * 60_000) };
}

import { Field, Float, ID, InputType, Int } from 'type-graphql';
import { SeatType } from './cinema.entity';

@InputType({ description: 'A new cinema (ADMIN).' })
export class CreateCinemaInput {
  @Field()
  name: string;

  @Field()
  city: string;

  @Field()
  address: string;

  @Field(() => Float, { nullable: true })
  latitude?: number | null;

  @Field(() => Float, { nullable: true })
  longitude?: number | null;
}

@InputType({ description: 'Changes to a cinema (ADMIN); omitted fields stay as they are.' })
export class UpdateCinemaInput {
  @Field(() => String, { nullable: true })
  name?: string | null;

  @Field(() => String, { nullable: true })
  city?: string | null;

  @Field(() => String, { nullable: true })
  address?: string | null;

  @Field(() => Float, { nullable: true })
  latitude?: number | null;

  @Field(() => Float, { nullable: true })
  longitude?: number | null;
}

@InputType({ description: 'The seat type of a whole row.' })
export class RowTypeInput {
  @Field({ description: 'Row label: A, B, ...' })
  row: string;

  @Field(() => SeatType)
  type: SeatType;
}

@InputType({ description: 'One position of the layout that differs from its row.' })
export class SeatOverrideInput {
  @Field()
  row: string;

  @Field(() => Int, { description: 'Layout column, 1-based.' })
  column: number;

  @Field(() => SeatType, { nullable: true })
  type?: SeatType | null;

  @Field(() => Boolean, { nullable: true, description: 'Out of service.' })
  blocked?: boolean | null;

  @Field(() => Boolean, { nullable: true, description: 'No seat at this position.' })
  removed?: boolean | null;
}

@InputType({
  description:
    'A hall and its seat layout: rows × columns, aisle columns without seats, a seat type per ' +
    'row (STANDARD otherwise) and per-seat exceptions.',
})
export class CreateHallInput {
  @Field(() => ID)
  cinemaId: string;

  @Field()
  name: string;

  @Field(() => Int, { description: '1..26 (rows A..Z).' })
  rows: number;

  @Field(() => Int, { description: '1..60, aisles included.' })
  columns: number;

  @Field(() => [Int], { nullable: true, description: 'Columns that are aisles (no seats).' })
  aisleColumns?: number[] | null;

  @Field(() => [RowTypeInput], { nullable: true })
  rowTypes?: RowTypeInput[] | null;

  @Field(() => [SeatOverrideInput], { nullable: true })
  seatOverrides?: SeatOverrideInput[] | null;
}

import { Field, ID, InputType, Int } from 'type-graphql';
import { SeatType } from '../cinema/cinema.entity';

@InputType()
export class SeatPriceInput {
  @Field(() => SeatType)
  seatType: SeatType;

  @Field(() => Int, { description: 'VND' })
  amount: number;
}

@InputType({ description: 'A showtime to schedule (ADMIN).' })
export class ScheduleShowtimeInput {
  @Field(() => ID)
  movieId: string;

  @Field(() => ID)
  hallId: string;

  @Field({ description: 'In the future; the end follows from the movie and trailers.' })
  startsAt: Date;

  @Field({ description: '2D, 3D or IMAX' })
  format: string;

  @Field()
  language: string;

  @Field(() => String, { nullable: true })
  subtitles?: string | null;

  @Field(() => [SeatPriceInput], { description: 'A price for every seat type of the hall.' })
  prices: SeatPriceInput[];
}

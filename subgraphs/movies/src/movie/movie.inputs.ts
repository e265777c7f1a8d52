import { ArgsType, Field, ID, InputType, Int } from 'type-graphql';
import { AgeRating, MovieStatus } from './movie.entity';

@InputType()
export class MovieFilter {
  @Field(() => Boolean, { nullable: true, description: 'Only movies now showing.' })
  nowShowing?: boolean | null;

  @Field(() => String, { nullable: true, description: 'Only movies with showtimes in this city.' })
  city?: string | null;

  @Field(() => String, {
    nullable: true,
    description: 'Words of the title, cast or director; case and accents are ignored.',
  })
  search?: string | null;

  @Field(() => String, { nullable: true })
  genre?: string | null;
}

@ArgsType()
export class MoviesArgs {
  @Field(() => MovieFilter, { nullable: true })
  filter?: MovieFilter | null;

  @Field(() => Int, { nullable: true, description: 'Page size, 1..100 (default 20).' })
  first?: number | null;

  @Field(() => String, { nullable: true })
  after?: string | null;
}

@ArgsType()
export class MovieArgs {
  @Field(() => ID)
  id: string;
}

@InputType({ description: 'A new movie (ADMIN).' })
export class CreateMovieInput {
  @Field()
  title: string;

  @Field(() => String, { nullable: true, description: 'Defaults to the title.' })
  originalTitle?: string | null;

  @Field(() => String, { nullable: true })
  synopsis?: string | null;

  @Field(() => Int)
  durationMinutes: number;

  @Field(() => AgeRating)
  ageRating: AgeRating;

  @Field(() => [String], { nullable: true })
  genres?: string[] | null;

  @Field(() => String, { nullable: true })
  director?: string | null;

  @Field(() => [String], { nullable: true })
  cast?: string[] | null;

  @Field(() => [String], { nullable: true })
  languages?: string[] | null;

  @Field({ description: 'YYYY-MM-DD' })
  releaseDate: string;

  @Field(() => String, { nullable: true })
  posterUrl?: string | null;

  @Field(() => String, { nullable: true })
  trailerUrl?: string | null;

  @Field(() => MovieStatus, { nullable: true, description: 'Default COMING_SOON.' })
  status?: MovieStatus | null;
}

@InputType({ description: 'Changes to a movie (ADMIN); omitted fields stay as they are.' })
export class UpdateMovieInput {
  @Field(() => String, { nullable: true })
  title?: string | null;

  @Field(() => String, { nullable: true })
  originalTitle?: string | null;

  @Field(() => String, { nullable: true })
  synopsis?: string | null;

  @Field(() => Int, { nullable: true })
  durationMinutes?: number | null;

  @Field(() => AgeRating, { nullable: true })
  ageRating?: AgeRating | null;

  @Field(() => [String], { nullable: true })
  genres?: string[] | null;

  @Field(() => String, { nullable: true })
  director?: string | null;

  @Field(() => [String], { nullable: true })
  cast?: string[] | null;

  @Field(() => [String], { nullable: true })
  languages?: string[] | null;

  @Field(() => String, { nullable: true })
  releaseDate?: string | null;

  @Field(() => String, { nullable: true })
  posterUrl?: string | null;

  @Field(() => String, { nullable: true })
  trailerUrl?: string | null;

  @Field(() => MovieStatus, { nullable: true })
  status?: MovieStatus | null;
}

import { ArgsType, Field, ID, InputType, Int } from 'type-graphql';

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

import { Args, Ctx, Query, Resolver } from 'type-graphql';
import { requireUuid } from '../../../../runtime/ids';
import { connectionType, pageSize } from '../../../../runtime/pagination';
import type { MoviesContext } from '../context';
import { Movie } from './movie.entity';
import { MovieArgs, MoviesArgs } from './movie.inputs';

export const MovieConnection = connectionType('Movie', Movie);

@Resolver(() => Movie)
export class MovieResolver {
  @Query(() => Movie, { nullable: true, description: 'One movie, or null when unknown.' })
  async movie(@Args() { id }: MovieArgs, @Ctx() ctx: MoviesContext): Promise<Movie | null> {
    return ctx.loaders.movieById.load(requireUuid(id));
  }

  @Query(() => MovieConnection, { description: 'Movies, newest release first.' })
  async movies(@Args() args: MoviesArgs, @Ctx() ctx: MoviesContext) {
    return ctx.app.movies.list({
      filter: args.filter,
      first: pageSize(args.first),
      after: args.after,
    });
  }
}

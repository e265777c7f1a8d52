import { Arg, Args, Authorized, Ctx, Directive, ID, Mutation, Query, Resolver } from 'type-graphql';
import { CATALOG_CACHE_HINT } from '../../../../runtime/cache-hints';
import { PUBLIC_TAG } from '../../../../runtime/contracts/partner-graph';
import { requireUuid } from '../../../../runtime/ids';
import { connectionType, pageSize } from '../../../../runtime/pagination';
import type { MoviesContext } from '../context.types';
import { Movie } from './movie.entity';
import { CreateMovieInput, MovieArgs, MoviesArgs, UpdateMovieInput } from './movie.inputs';

export const MovieConnection = connectionType('Movie', Movie);

@Resolver(() => Movie)
export class MovieResolver {
  @Directive(PUBLIC_TAG)
  @Query(() => Movie, { nullable: true, description: 'One movie, or null when unknown.' })
  async movie(@Args() { id }: MovieArgs, @Ctx() ctx: MoviesContext): Promise<Movie | null> {
    return ctx.loaders.movieById.load(requireUuid(id));
  }

  @Directive(CATALOG_CACHE_HINT)
  @Query(() => MovieConnection, {
    description: 'Movies: by relevance when searching, otherwise newest release first.',
  })
  async movies(@Args() args: MoviesArgs, @Ctx() ctx: MoviesContext) {
    return ctx.app.movies.list({
      filter: args.filter,
      first: pageSize(args.first),
      after: args.after,
    });
  }

  @Authorized('ADMIN')
  @Mutation(() => Movie, { description: 'Adds a movie to the catalog (ADMIN).' })
  async createMovie(
    @Arg('input', () => CreateMovieInput) input: CreateMovieInput,
    @Ctx() ctx: MoviesContext,
  ) {
    return ctx.app.movies.create(input);
  }

  @Authorized('ADMIN')
  @Mutation(() => Movie, { description: 'Changes a movie (ADMIN).' })
  async updateMovie(
    @Arg('id', () => ID) id: string,
    @Arg('input', () => UpdateMovieInput) input: UpdateMovieInput,
    @Ctx() ctx: MoviesContext,
  ) {
    return ctx.app.movies.update(requireUuid(id), input);
  }

  @Authorized('ADMIN')
  @Mutation(() => Movie, { description: 'Takes a movie out of the catalog (ADMIN).' })
  async archiveMovie(@Arg('id', () => ID) id: string, @Ctx() ctx: MoviesContext) {
    return ctx.app.movies.archive(requireUuid(id));
  }
}

import { Arg, Authorized, Ctx, ID, Mutation, Resolver } from 'type-graphql';
import { requireUuid } from '../../../../runtime/ids';
import type { CinemasContext } from '../context.types';
import { Cinema, Hall } from './cinema.entity';
import { CreateCinemaInput, CreateHallInput, UpdateCinemaInput } from './cinema.inputs';

@Resolver()
export class CinemaAdminResolver {
  @Authorized('ADMIN')
  @Mutation(() => Cinema, { description: 'Opens a cinema (ADMIN).' })
  async createCinema(
    @Arg('input', () => CreateCinemaInput) input: CreateCinemaInput,
    @Ctx() ctx: CinemasContext,
  ): Promise<Cinema> {
    return ctx.app.cinemaAdmin.createCinema(input);
  }

  @Authorized('ADMIN')
  @Mutation(() => Cinema, { description: 'Changes a cinema (ADMIN).' })
  async updateCinema(
    @Arg('id', () => ID) id: string,
    @Arg('input', () => UpdateCinemaInput) input: UpdateCinemaInput,
    @Ctx() ctx: CinemasContext,
  ): Promise<Cinema> {
    return ctx.app.cinemaAdmin.updateCinema(requireUuid(id), input);
  }

  @Authorized('ADMIN')
  @Mutation(() => Hall, { description: 'Adds a hall and its seat layout to a cinema (ADMIN).' })
  async createHall(
    @Arg('input', () => CreateHallInput) input: CreateHallInput,
    @Ctx() ctx: CinemasContext,
  ): Promise<Hall> {
    requireUuid(input.cinemaId, 'cinemaId');
    return ctx.app.cinemaAdmin.createHall(input);
  }
}

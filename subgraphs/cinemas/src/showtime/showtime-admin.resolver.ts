import { Arg, Authorized, Ctx, ID, Mutation, Resolver } from 'type-graphql';
import { requireUuid } from '../../../../runtime/ids';
import type { CinemasContext } from '../context.types';
import { Showtime } from './showtime.entity';
import { ScheduleShowtimeInput, SeatPriceInput } from './showtime.inputs';

@Resolver()
export class ShowtimeAdminResolver {
  @Authorized('ADMIN')
  @Mutation(() => Showtime, {
    description: 'Schedules a showtime (ADMIN). SHOWTIME_CONFLICT when the hall is busy.',
  })
  async scheduleShowtime(
    @Arg('input', () => ScheduleShowtimeInput) input: ScheduleShowtimeInput,
    @Ctx() ctx: CinemasContext,
  ): Promise<Showtime> {
    requireUuid(input.movieId, 'movieId');
    requireUuid(input.hallId, 'hallId');
    return ctx.app.showtimeAdmin.schedule(input, ctx.requestId);
  }

  @Authorized('ADMIN')
  @Mutation(() => Showtime, { description: 'Cancels a showtime that has not started (ADMIN).' })
  async cancelShowtime(@Arg('id', () => ID) id: string, @Ctx() ctx: CinemasContext) {
    return ctx.app.showtimeAdmin.cancel(requireUuid(id));
  }

  @Authorized('ADMIN')
  @Mutation(() => Showtime, { description: "Sets a showtime's price per seat type (ADMIN)." })
  async setShowtimePrices(
    @Arg('id', () => ID) id: string,
    @Arg('prices', () => [SeatPriceInput]) prices: SeatPriceInput[],
    @Ctx() ctx: CinemasContext,
  ) {
    return ctx.app.showtimeAdmin.setPrices(requireUuid(id), prices);
  }
}

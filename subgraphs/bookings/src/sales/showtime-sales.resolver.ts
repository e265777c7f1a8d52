import { Arg, Authorized, Ctx, ID, Query, Resolver } from 'type-graphql';
import { requireUuid } from '../../../../runtime/ids';
import type { BookingsContext } from '../context.types';
import { ShowtimeSales } from './showtime-sales.types';

@Resolver(() => ShowtimeSales)
export class ShowtimeSalesResolver {
  @Authorized('ADMIN')
  @Query(() => ShowtimeSales, {
    description: 'Sales of one showtime: seats sold, occupancy, revenue (ADMIN).',
  })
  showtimeSales(
    @Arg('showtimeId', () => ID) showtimeId: string,
    @Ctx() ctx: BookingsContext,
  ): Promise<ShowtimeSales> {
    return ctx.app.sales.forShowtime(requireUuid(showtimeId, 'showtimeId'), ctx.requestId);
  }
}

import type { SubgraphDefinition } from '../../../runtime/subgraph-server';
import { Booking } from './booking/booking.entity';
import { BookingResolver, UserBookingsResolver } from './booking/booking.resolver';
import {
  createBookingsApp,
  createBookingsContext,
  type BookingsApp,
  type BookingsContext,
} from './context';
import { CreateBookings1732500000000 } from './migrations/1732500000000-create-bookings';

/** The bookings subgraph: bookings, tickets, payments, loyalty. */
export const bookingsSubgraph: SubgraphDefinition<BookingsContext, BookingsApp> = {
  name: 'bookings',
  schema: {
    resolvers: [BookingResolver, UserBookingsResolver],
    references: {
      Booking: async (ref, ctx) => {
        const booking = await ctx.loaders.bookingById.load(String(ref.id));
        return booking && (ctx.identity.userId === booking.userId || ctx.identity.role === 'ADMIN')
          ? booking
          : null;
      },
      User: (ref) => ({ id: String(ref.id) }),
    },
  },
  entities: [Booking],
  migrations: [CreateBookings1732500000000],
  createApp: createBookingsApp,
  createContext: createBookingsContext,
};

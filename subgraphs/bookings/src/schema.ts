import { MillisecondTimestamps1732900000000 } from './migrations/1732900000000-millisecond-timestamps';
import type { SubgraphDefinition } from '../../../runtime/subgraph-server';
import { Booking } from './booking/booking.entity';
import { BookingResolver, canReadBooking, UserBookingsResolver } from './booking/booking.resolver';
import {
  createBookingsApp,
  createBookingsContext,
  type BookingsApp,
  type BookingsContext,
} from './context';
import { LoyaltyAccount } from './loyalty/loyalty.entity';
import { CreateBookings1732500000000 } from './migrations/1732500000000-create-bookings';
import { CreateLoyalty1732600000000 } from './migrations/1732600000000-create-loyalty';

/** The bookings subgraph: bookings, tickets, payments, loyalty. */
export const bookingsSubgraph: SubgraphDefinition<BookingsContext, BookingsApp> = {
  name: 'bookings',
  schema: {
    resolvers: [BookingResolver, UserBookingsResolver],
    references: {
      // Someone else's booking resolves to null, as an unknown id does.
      Booking: async (ref, ctx) => {
        const booking = await ctx.loaders.bookingById.load(String(ref.id));
        return booking && canReadBooking(ctx, booking.userId) ? booking : null;
      },
      User: (ref) => ({ id: String(ref.id) }),
    },
  },
  entities: [Booking, LoyaltyAccount],
  migrations: [
    CreateBookings1732500000000,
    CreateLoyalty1732600000000,
    MillisecondTimestamps1732900000000,
  ],
  createApp: createBookingsApp,
  createContext: createBookingsContext,
};

import DataLoader from 'dataloader';
import type { RequestContext, SubgraphDeps } from '../../../runtime/subgraph-server';
import type { Booking } from './booking/booking.entity';
import { BookingService } from './booking/booking.service';
import type { LoyaltyAccount } from './loyalty/loyalty.entity';
import { LoyaltyService } from './loyalty/loyalty.service';

export interface BookingsApp {
  readonly bookings: BookingService;
  readonly loyalty: LoyaltyService;
}

export interface BookingsContext extends RequestContext {
  readonly app: BookingsApp;
  readonly loaders: {
    readonly bookingById: DataLoader<string, Booking | null>;
    readonly loyaltyByUserId: DataLoader<string, LoyaltyAccount>;
  };
}

export function createBookingsApp({ dataSource }: SubgraphDeps): BookingsApp {
  return { bookings: new BookingService(dataSource), loyalty: new LoyaltyService(dataSource) };
}

export function createBookingsContext(base: RequestContext, app: BookingsApp): BookingsContext {
  return {
    ...base,
    app,
    loaders: {
      bookingById: new DataLoader((ids) => app.bookings.byIds(ids)),
      loyaltyByUserId: new DataLoader((ids) => app.loyalty.accountsFor(ids)),
    },
  };
}

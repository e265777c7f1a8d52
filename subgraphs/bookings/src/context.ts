import DataLoader from 'dataloader';
import type { RequestContext, SubgraphDeps } from '../../../runtime/subgraph-server';
import type { Booking } from './booking/booking.entity';
import { BookingService } from './booking/booking.service';

export interface BookingsApp {
  readonly bookings: BookingService;
}

export interface BookingsContext extends RequestContext {
  readonly app: BookingsApp;
  readonly loaders: { readonly bookingById: DataLoader<string, Booking | null> };
}

export function createBookingsApp({ dataSource }: SubgraphDeps): BookingsApp {
  return { bookings: new BookingService(dataSource) };
}

export function createBookingsContext(base: RequestContext, app: BookingsApp): BookingsContext {
  return {
    ...base,
    app,
    loaders: { bookingById: new DataLoader((ids) => app.bookings.byIds(ids)) },
  };
}

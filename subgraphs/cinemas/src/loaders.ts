import DataLoader from 'dataloader';
import type { CinemasApp, CinemasContext, CinemasLoaders } from './context.types';
import type { Showtime } from './showtime/showtime.entity';

/** One set of loaders per event, shared by every subscription of this process it reaches. */
const loadersByEvent = new WeakMap<object, CinemasLoaders>();

/**
 * Gives a subscription's context fresh loaders for `event` (issue 8 item 6: the seat map in
 * events 1, 2, 3 all said version 1, read once for the life of the subscription). Safe
 * because graphql-js executes one subscription's events one after another. The loaders hold
 * nothing about the viewer (`heldByMe` is computed outside them), so all subscriptions that
 * receive the same event object share one read of each showtime, seat map and snapshot.
 */
export function useEventLoaders(ctx: CinemasContext, event: object): void {
  let loaders = loadersByEvent.get(event);
  if (!loaders) {
    loaders = createLoaders(ctx.app);
    loadersByEvent.set(event, loaders);
  }
  ctx.loaders = loaders;
}

/** A fresh set of the cinemas loaders (per request, or per event for subscriptions). */
export function createLoaders(app: CinemasApp): CinemasLoaders {
  const byWindow = new Map<string, DataLoader<string, Showtime[]>>();
  return {
    cinemaById: new DataLoader((ids) => app.cinemas.cinemasByIds(ids)),
    hallById: new DataLoader((ids) => app.cinemas.hallsByIds(ids)),
    hallsByCinemaId: new DataLoader((ids) => app.cinemas.hallsByCinemaIds(ids)),
    seatsByHallId: new DataLoader((ids) => app.cinemas.seatsByHallIds(ids)),
    seatById: new DataLoader((ids) => app.cinemas.seatsByIds(ids)),
    reservedSeats: new DataLoader(async (ids) => {
      const reserved = await app.seats.liveReservations(ids);
      return ids.map((id) => reserved.get(id)!);
    }),
    holdSnapshot: new DataLoader((ids) => app.seats.snapshots(ids)),
    availableSeats: new DataLoader(
      async (showtimes) => {
        const sellable = await app.cinemas.sellableSeatCounts(showtimes.map((s) => s.hallId));
        return app.seats.availableCounts(showtimes, sellable);
      },
      { cacheKeyFn: (s) => s.id },
    ),
    showtimeById: new DataLoader((ids) => app.showtimes.byIds(ids)),
    showtimesByMovieId(window) {
      const key = JSON.stringify([window.from, window.to, window.city, window.limit]);
      let loader = byWindow.get(key);
      if (!loader) {
        loader = new DataLoader((ids) => app.showtimes.byMovieIds(ids, window));
        byWindow.set(key, loader);
      }
      return loader;
    },
  };
}

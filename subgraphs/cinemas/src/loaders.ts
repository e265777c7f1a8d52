import DataLoader from 'dataloader';
import { batchPerTurn } from '../../../runtime/loaders';
import type { CinemasApp, CinemasContext, CinemasLoaders, SharedReads } from './context.types';
import type { Showtime } from './showtime/showtime.entity';
import type { ShowtimeWindow } from './showtime/showtime.service';

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

/**
 * The reads behind every request's loaders, batched per turn of the event loop across
 * requests: when a thousand buyers open the same seat map at once, the requests that arrive
 * together share one read of the showtime, its hall and cinema, its live reservations and its
 * hold snapshot, where each had made its own (five round trips, and an entity hydrated per
 * row, per request). Nothing is cached: a load is always answered by a read that started
 * after it was made (`batchPerTurn`), so a request sees every write that finished before it
 * asked, its own included, and a reservations-then-snapshot order within a request holds.
 * One key's failure is its own (a snapshot refused, a read failing for one showtime), never
 * its batch-mates'; the services query only well-formed ids, so no caller's malformed id
 * can fail anyone else's read. What they answer is shared by the requests of the batch and
 * only ever read.
 */
export function sharedReads(app: Pick<CinemasApp, 'showtimes' | 'cinemas' | 'seats'>): SharedReads {
  return {
    showtimes: batchPerTurn((ids) => app.showtimes.byIds(ids)),
    halls: batchPerTurn((ids) => app.cinemas.hallsByIds(ids)),
    cinemas: batchPerTurn((ids) => app.cinemas.cinemasByIds(ids)),
    reservations: batchPerTurn(async (ids) => {
      const reserved = await app.seats.liveReservations(ids);
      return ids.map((id) => reserved.get(id)!);
    }),
    snapshots: batchPerTurn((ids) =>
      Promise.all(
        ids.map((id) =>
          app.seats
            .snapshot(id)
            .catch((err: unknown) => (err instanceof Error ? err : new Error(String(err)))),
        ),
      ),
    ),
  };
}

/** A fresh set of the cinemas loaders (per request, or per event for subscriptions). */
export function createLoaders(app: CinemasApp): CinemasLoaders {
  return new CinemasLoaderSet(app);
}

/**
 * Each loader is made the first time it is used: a request uses one or two of them (a hold
 * none), and making every one of them for every request would cost more than the hold's own
 * work. Getters on the class, so that a request's set is one small object.
 */
class CinemasLoaderSet implements CinemasLoaders {
  private cinemas?: CinemasLoaders['cinemaById'];
  private halls?: CinemasLoaders['hallById'];
  private hallsOfCinemas?: CinemasLoaders['hallsByCinemaId'];
  private layouts?: CinemasLoaders['seatsByHallId'];
  private seats?: CinemasLoaders['seatById'];
  private reserved?: CinemasLoaders['reservedSeats'];
  private snapshots?: CinemasLoaders['holdSnapshot'];
  private available?: CinemasLoaders['availableSeats'];
  private showtimes?: CinemasLoaders['showtimeById'];
  private byWindow?: Map<string, DataLoader<string, Showtime[]>>;

  constructor(private readonly app: CinemasApp) {}

  get cinemaById(): CinemasLoaders['cinemaById'] {
    return (this.cinemas ??= new DataLoader((ids) => this.app.reads.cinemas.loadMany(ids)));
  }

  get hallById(): CinemasLoaders['hallById'] {
    return (this.halls ??= new DataLoader((ids) => this.app.reads.halls.loadMany(ids)));
  }

  get hallsByCinemaId(): CinemasLoaders['hallsByCinemaId'] {
    return (this.hallsOfCinemas ??= new DataLoader((ids) =>
      this.app.cinemas.hallsByCinemaIds(ids),
    ));
  }

  // Layouts are kept in memory (they change with the hall only): a seat map reads no seats.
  get seatsByHallId(): CinemasLoaders['seatsByHallId'] {
    return (this.layouts ??= new DataLoader(async (ids) =>
      (await this.app.seats.facts.hallsByIds(ids)).map((hall) => [...hall.seats]),
    ));
  }

  get seatById(): CinemasLoaders['seatById'] {
    return (this.seats ??= new DataLoader((ids) => this.app.cinemas.seatsByIds(ids)));
  }

  get reservedSeats(): CinemasLoaders['reservedSeats'] {
    return (this.reserved ??= new DataLoader((ids) => this.app.reads.reservations.loadMany(ids)));
  }

  get holdSnapshot(): CinemasLoaders['holdSnapshot'] {
    return (this.snapshots ??= new DataLoader((ids) => this.app.reads.snapshots.loadMany(ids)));
  }

  get availableSeats(): CinemasLoaders['availableSeats'] {
    return (this.available ??= new DataLoader(
      async (showtimes: readonly Showtime[]) => {
        const sellable = await this.app.cinemas.sellableSeatCounts(showtimes.map((s) => s.hallId));
        return this.app.seats.availableCounts(showtimes, sellable);
      },
      { cacheKeyFn: (s) => s.id },
    ));
  }

  get showtimeById(): CinemasLoaders['showtimeById'] {
    return (this.showtimes ??= new DataLoader((ids) => this.app.reads.showtimes.loadMany(ids)));
  }

  /** One loader per distinct window, so a list of movies costs one query per window. */
  showtimesByMovieId(window: ShowtimeWindow): DataLoader<string, Showtime[]> {
    this.byWindow ??= new Map();
    const key = JSON.stringify([window.from, window.to, window.city, window.limit]);
    let loader = this.byWindow.get(key);
    if (!loader) {
      loader = new DataLoader((ids) => this.app.showtimes.byMovieIds(ids, window));
      this.byWindow.set(key, loader);
    }
    return loader;
  }
}

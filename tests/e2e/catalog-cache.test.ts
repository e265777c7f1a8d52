import { IDENTITY_HEADER, signIdentity } from '../../runtime/identity';
import { buildDemoPlan } from '../../scripts/seed/demo-plan';
import type { CatalogCacheStats } from '../../gateway/src/cache/catalog-cache';
import { contractOperation } from '../support/contract';
import { startTestStack, type TestStack } from '../support/test-stack';
import { waitFor } from '../support/wait-for';
import { subscribe } from '../support/ws-client';

/**
 * The catalog cache with the subgraphs' real cache hints (`runtime/cache-hints.ts`): public
 * catalog answers are kept for anonymous callers, free-seat counts and seat maps never, and
 * a change reaches the next anonymous reader once the owning subgraph's event is delivered.
 */
const plan = buildDemoPlan();
const movie = plan.movies.find((m) => m.status === 'NOW_SHOWING')!;
const showtime = plan.showtimes.find(
  (s) => s.movieId === movie.id && new Date(s.startsAt).getTime() > Date.now() + 3_600_000,
)!;

describe('the catalog cache through the gateway', () => {
  let t: TestStack;
  beforeAll(async () => {
    t = await startTestStack();
  });
  afterAll(async () => {
    await t?.stop();
  });

  const stats = async (): Promise<CatalogCacheStats> => {
    const res = await fetch(new URL('/internal/catalog-cache', t.gatewayUrl), {
      headers: {
        [IDENTITY_HEADER]: signIdentity(
          { userId: null, role: null, service: 'test' },
          t.config.internalSecret,
          'gateway',
        ),
      },
    });
    expect(res.status).toBe(200);
    return (await res.json()) as CatalogCacheStats;
  };
  const title = async (token?: string) => {
    const res = await t.query(
      'query ($id: ID!) { movie(id: $id) { id title } }',
      { id: movie.id },
      {
        token,
      },
    );
    expect(res.errors).toBeUndefined();
    return res.data!.movie.title as string;
  };
  const freeSeats = async () => {
    const res = await t.query('query ($id: ID!) { showtime(id: $id) { id availableSeats } }', {
      id: showtime.id,
    });
    expect(res.errors).toBeUndefined();
    return res.data!.showtime.availableSeats as number;
  };

  /** Whether a request, repeated, was answered (at least partly) from the cache. */
  const servedFromCache = async (request: () => Promise<unknown>): Promise<true | undefined> => {
    await request();
    const before = await stats();
    await request();
    const after = await stats();
    return after.hits + after.resultHits > before.hits + before.resultHits ? true : undefined;
  };

  it('has the subgraphs mark only anonymous answers cacheable (signed-in ones carry no header)', async () => {
    // A subgraph called as the gateway calls it: the same catalog read, once for nobody and
    // once for a signed-in user. The gateway's catalog cache keeps only the first kind.
    const ask = async (userId: string | null) => {
      const res = await fetch(t.stack.subgraphs.movies.url, {
        method: 'POST',
        headers: {
          'content-type': 'application/json',
          [IDENTITY_HEADER]: signIdentity(
            { userId, role: userId ? 'CUSTOMER' : null },
            t.config.internalSecret,
            'movies',
          ),
        },
        body: JSON.stringify({
          query: 'query ($id: ID!) { movie(id: $id) { id title } }',
          variables: { id: movie.id },
        }),
      });
      expect(res.status).toBe(200);
      return { cacheControl: res.headers.get('cache-control'), body: await res.json() };
    };
    const anonymous = await ask(null);
    const signedIn = await ask('user_cache_control');
    expect(anonymous.cacheControl).toBe('max-age=60, public');
    expect(signedIn.cacheControl).toBeNull();
    expect(signedIn.body).toEqual(anonymous.body);
    expect(anonymous.body).toEqual({ data: { movie: { id: movie.id, title: movie.title } } });
  });

  it('answers a repeated anonymous MovieDetail partly from the cache, identically', async () => {
    // The demo data's events (showtimes scheduled...) invalidate Movie and Showtime answers
    // until the subgraphs have caught up with them.
    const movieDetail = () => t.query(contractOperation('MovieDetail'), { id: movie.id });
    await waitFor(() => servedFromCache(movieDetail), 'a cached MovieDetail', 60_000);
    const [first, second] = [await movieDetail(), await movieDetail()];
    expect(first.errors).toBeUndefined();
    expect(second.data).toEqual(first.data);
    // The wait above can take a while on a loaded machine.
  }, 120_000);

  it('never keeps free-seat counts: a hold shows in the next anonymous read', async () => {
    const free = await freeSeats();
    expect(await freeSeats()).toBe(free);
    const seat = plan.seats.find((s) => s.hallId === showtime.hallId && !s.blocked)!;
    const held = await t.query(
      contractOperation('HoldSeats'),
      { showtimeId: showtime.id, seatIds: [seat.id] },
      { token: t.token('user_cache_holder') },
    );
    expect(held.errors).toBeUndefined();
    expect(await freeSeats()).toBe(free - 1);
  });

  it('serves a changed movie once its event is delivered, and never the old one after', async () => {
    await waitFor(() => servedFromCache(() => title()), 'a cached title', 60_000);
    const old = await title();
    const renamed = `${old} (bản đặc biệt)`;
    const res = await t.query(
      'mutation ($id: ID!, $input: UpdateMovieInput!) { updateMovie(id: $id, input: $input) { title } }',
      { id: movie.id, input: { title: renamed } },
      { token: t.token('user_cache_admin', 'ADMIN') },
    );
    expect(res.errors).toBeUndefined();
    await waitFor(async () => ((await title()) === renamed ? true : undefined), 'the new title');
    for (let i = 0; i < 5; i++) expect(await title()).toBe(renamed);
    // Signed-in callers are never served from the cache, and see the same.
    expect(await title(t.token('user_cache_reader'))).toBe(renamed);
  });

  it("answers seat events' movie from the cache, and a renamed movie once its event is delivered", async () => {
    const sub = subscribe(t.gatewayUrl, contractOperation('SeatUpdates'), {
      showtimeId: showtime.id,
    });
    try {
      await sub.connected;
      await waitFor(
        async () => ((await t.redisSubscribers(showtime.id)) >= 1 ? true : undefined),
        'the upstream subscription',
      );
      // Each change by a user of its own (one seat each: no holder limit gets in the way).
      const seats = plan.seats.filter((s) => s.hallId === showtime.hallId && !s.blocked).reverse();
      let changes = 0;
      const eventTitle = async (): Promise<string> => {
        const n = changes++;
        const held = await t.query(
          contractOperation('HoldSeats'),
          { showtimeId: showtime.id, seatIds: [seats[n].id] },
          { token: t.token(`user_cache_events_${n}`) },
        );
        expect(held.errors).toBeUndefined();
        const event = await sub.next();
        expect(event.errors).toBeUndefined();
        return event.data!.seatUpdates.showtime.movie.title as string;
      };
      // The first event fetches the title from movies and keeps it; the next ones find it.
      await waitFor(async () => {
        await eventTitle();
        const before = await stats();
        const current = await eventTitle();
        const after = await stats();
        expect(current).toBe(await title());
        return after.hits > before.hits ? true : undefined;
      }, "a seat event's movie answered from the cache");

      const renamed = `${await title()} (suất chiếu sớm)`;
      const res = await t.query(
        'mutation ($id: ID!, $input: UpdateMovieInput!) { updateMovie(id: $id, input: $input) { title } }',
        { id: movie.id, input: { title: renamed } },
        { token: t.token('user_cache_admin', 'ADMIN') },
      );
      expect(res.errors).toBeUndefined();
      await waitFor(
        async () => ((await eventTitle()) === renamed ? true : undefined),
        'the new title in seat events',
      );
      for (let i = 0; i < 3; i++) expect(await eventTitle()).toBe(renamed);
    } finally {
      await sub.close();
    }
  });
});

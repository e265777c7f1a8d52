/**
 * The peers benchmark's query mix: the contract's NowShowing, MovieDetail, SeatMap and Me
 * (signed in), each with fixed variables (one request sent over and over) and with varied
 * variables (a request drawn at random per send from a pool). The ids come from the demo
 * data, read through our gateway before anything is measured.
 */
import { DEMO_USERS } from '../../scripts/seed/demo-catalogue';
import { mintToken } from '../../scripts/dev-token';
import { contractOperation } from '../../tests/support/contract';
import { postGraphQL } from '../common/load';
import type { RequestVariant } from './cannon';
import { AUTHORIZED_PARTY } from './peer-stack';

export const QUERIES = ['NowShowing', 'MovieDetail', 'SeatMap', 'Me'] as const;
export type QueryName = (typeof QUERIES)[number];
export type VariablesKind = 'fixed' | 'varied';

export interface MixRow {
  readonly query: QueryName;
  readonly variables: VariablesKind;
  /** What is fixed or varied, in words, for the table and the results file. */
  readonly describe: string;
  readonly pool: readonly RequestVariant[];
  /** The variables (and the user) of each request of the pool, to name a mismatch. */
  readonly labels: readonly string[];
}

export interface Mix {
  readonly rows: readonly MixRow[];
  /** What the demo data gave: counts and the fixed ids. */
  readonly data: Record<string, unknown>;
}

const JSON_HEADERS = { 'content-type': 'application/json' } as const;
/** Varied SeatMap draws from at most this many showtimes (every one is checked first). */
const MAX_SHOWTIMES = 200;
/** Tokens outlive the longest run by far. */
const TOKEN_SECONDS = 6 * 3600;
/** How long the city projection may take to fill after seeding, and stay put to count as filled. */
const PROJECTION_TIMEOUT_MS = 60_000;
const PROJECTION_STABLE_MS = 2_000;

type Page = {
  movies: {
    totalCount: number;
    pageInfo: { hasNextPage: boolean; endCursor: string | null };
    edges: Array<{ node: { id: string } }>;
  };
};

function request(
  query: string,
  operationName: string,
  variables: Record<string, unknown>,
  headers: Record<string, string> = JSON_HEADERS,
): RequestVariant {
  return { body: JSON.stringify({ query, operationName, variables }), headers };
}

const pause = (ms: number) => new Promise((r) => setTimeout(r, ms));

/**
 * The movies subgraph learns each showtime's city from the event stream after seeding:
 * NowShowing by city fills gradually. Waits until every city's count is above 0 and has not
 * changed for a while, so that both gateways are compared and measured on the same answers.
 */
async function settleCityProjection(url: string, nowShowing: string, cities: string[]) {
  const counts = async () =>
    Promise.all(
      cities.map(async (city) => {
        const data = await postGraphQL<Page>(
          url,
          JSON_HEADERS,
          request(nowShowing, 'NowShowing', { city, first: 1 }).body,
        );
        return data.movies.totalCount;
      }),
    );
  const deadline = Date.now() + PROJECTION_TIMEOUT_MS;
  let last = await counts();
  let stableSince = Date.now();
  while (Date.now() - stableSince < PROJECTION_STABLE_MS || last.some((n) => n === 0)) {
    if (Date.now() > deadline) {
      process.stderr.write(
        `bench: WARNING: NowShowing by city still changing after ${PROJECTION_TIMEOUT_MS / 1000} s (${last.join(', ')}); going on\n`,
      );
      return;
    }
    await pause(250);
    const next = await counts();
    if (next.join() !== last.join()) stableSince = Date.now();
    last = next;
  }
}

/** Every movie now showing, in NowShowing's order. */
async function nowShowingIds(url: string, nowShowing: string): Promise<string[]> {
  const ids: string[] = [];
  let after: string | null = null;
  do {
    const data: Page = await postGraphQL<Page>(
      url,
      JSON_HEADERS,
      request(nowShowing, 'NowShowing', { first: 100, after }).body,
    );
    ids.push(...data.movies.edges.map((e) => e.node.id));
    after = data.movies.pageInfo.hasNextPage ? data.movies.pageInfo.endCursor : null;
  } while (after);
  return ids;
}

/** `n` items spread evenly over `items`, in order. */
function spread<T>(items: readonly T[], n: number): T[] {
  if (items.length <= n) return [...items];
  return Array.from({ length: n }, (_, i) => items[Math.floor((i * items.length) / n)]);
}

/**
 * Reads the demo data through `url` (our gateway) and builds the rows of the mix, in the
 * order of {@link QUERIES}, fixed before varied; `only` keeps some queries.
 */
export async function buildMix(
  url: string,
  privateKeyPem: string,
  only: readonly QueryName[],
): Promise<Mix> {
  const nowShowing = contractOperation('NowShowing');
  const movieDetail = contractOperation('MovieDetail');
  const seatMap = contractOperation('SeatMap');
  const me = contractOperation('Me');

  const { cinemas } = await postGraphQL<{ cinemas: Array<{ city: string }> }>(
    url,
    JSON_HEADERS,
    JSON.stringify({ query: 'query BenchCities { cinemas { city } }' }),
  );
  const cities = [...new Set(cinemas.map((c) => c.city))].sort();
  if (cities.length === 0) throw new Error('the demo data has no cinema');
  process.stderr.write(
    `bench: waiting for NowShowing by city (${cities.join(', ')}) to settle...\n`,
  );
  await settleCityProjection(url, nowShowing, cities);

  const movieIds = await nowShowingIds(url, nowShowing);
  if (movieIds.length === 0) throw new Error('no movie is now showing in the demo data');
  const showtimesOf = new Map<string, string[]>();
  for (const id of movieIds) {
    const data = await postGraphQL<{ movie: { showtimes: Array<{ id: string }> } | null }>(
      url,
      JSON_HEADERS,
      request(movieDetail, 'MovieDetail', { id }).body,
    );
    showtimesOf.set(id, data.movie?.showtimes.map((s) => s.id) ?? []);
  }
  const fixedMovie = movieIds[0];
  const fixedShowtime = showtimesOf.get(fixedMovie)?.[0];
  const allShowtimes = [...showtimesOf.values()].flat();
  if (!fixedShowtime) throw new Error(`movie ${fixedMovie} has no showtime in the demo data`);
  const showtimes = spread(allShowtimes, MAX_SHOWTIMES);

  const tokenOf = (user: (typeof DEMO_USERS)[number]) =>
    mintToken(privateKeyPem, {
      userId: user.id,
      role: user.role,
      email: user.email,
      azp: AUTHORIZED_PARTY,
      expiresIn: TOKEN_SECONDS,
    });
  const signedIn = DEMO_USERS.map((user) => ({
    user,
    headers: { ...JSON_HEADERS, authorization: `Bearer ${tokenOf(user)}` },
  }));
  // The demo customer is the one with bookings.
  const customer = signedIn.find((s) => s.user.id === 'demo-customer') ?? signedIn[0];

  const nowShowingVariables = [undefined, ...cities].flatMap((city) =>
    [5, 10, 20].map((first) => (city ? { first, city } : { first })),
  );
  const rows: MixRow[] = [
    {
      query: 'NowShowing',
      variables: 'fixed',
      describe: '{ first: 20 }',
      pool: [request(nowShowing, 'NowShowing', { first: 20 })],
      labels: ['{"first":20}'],
    },
    {
      query: 'NowShowing',
      variables: 'varied',
      describe: `first 5/10/20 × city (any or one of ${cities.length})`,
      pool: nowShowingVariables.map((v) => request(nowShowing, 'NowShowing', v)),
      labels: nowShowingVariables.map((v) => JSON.stringify(v)),
    },
    {
      query: 'MovieDetail',
      variables: 'fixed',
      describe: `one movie (${showtimesOf.get(fixedMovie)?.length ?? 0} showtimes)`,
      pool: [request(movieDetail, 'MovieDetail', { id: fixedMovie })],
      labels: [JSON.stringify({ id: fixedMovie })],
    },
    {
      query: 'MovieDetail',
      variables: 'varied',
      describe: `a random movie of ${movieIds.length} now showing`,
      pool: movieIds.map((id) => request(movieDetail, 'MovieDetail', { id })),
      labels: movieIds.map((id) => JSON.stringify({ id })),
    },
    {
      query: 'SeatMap',
      variables: 'fixed',
      describe: 'one showtime',
      pool: [request(seatMap, 'SeatMap', { showtimeId: fixedShowtime })],
      labels: [JSON.stringify({ showtimeId: fixedShowtime })],
    },
    {
      query: 'SeatMap',
      variables: 'varied',
      describe: `a random showtime of ${showtimes.length}`,
      pool: showtimes.map((showtimeId) => request(seatMap, 'SeatMap', { showtimeId })),
      labels: showtimes.map((showtimeId) => JSON.stringify({ showtimeId })),
    },
    {
      query: 'Me',
      variables: 'fixed',
      describe: `signed in as ${customer.user.id} (with bookings)`,
      pool: [request(me, 'Me', {}, customer.headers)],
      labels: [`user ${customer.user.id}`],
    },
    {
      query: 'Me',
      variables: 'varied',
      describe: `signed in as a random one of ${signedIn.length} demo users`,
      pool: signedIn.map((s) => request(me, 'Me', {}, s.headers)),
      labels: signedIn.map((s) => `user ${s.user.id}`),
    },
  ];
  return {
    rows: rows.filter((r) => only.includes(r.query)),
    data: {
      cities,
      moviesNowShowing: movieIds.length,
      showtimesOfMoviesNowShowing: allShowtimes.length,
      seatMapShowtimes: showtimes.length,
      fixed: {
        movieId: fixedMovie,
        movieShowtimes: showtimesOf.get(fixedMovie)?.length ?? 0,
        showtimeId: fixedShowtime,
        userId: customer.user.id,
      },
      users: DEMO_USERS.map((u) => u.id),
    },
  };
}

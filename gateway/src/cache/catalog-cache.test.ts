import { composeServices } from '@apollo/composition';
import { waitFor } from '../../../tests/support/wait-for';
import {
  LocalGraphQLDataSource,
  type GraphQLDataSource,
  type GraphQLDataSourceProcessOptions,
} from '@apollo/gateway';
import { ApolloServer } from '@apollo/server';
import { buildSubgraphSchema } from '@apollo/subgraph';
import gql from 'graphql-tag';
import { randomUUID } from 'node:crypto';
import { InProcessTransport } from '../../../runtime/events/in-process-transport';
import { ANONYMOUS, type Identity } from '../../../runtime/identity';
import { closeRedis, createRedis, type RedisClient } from '../../../runtime/redis';
import { testRedisUrl } from '../../../tests/support/services';
import { ExecutionGateway } from '../execution/execution-gateway';
import { CatalogCache, sharedMaxAge, type InvalidatedType } from './catalog-cache';
import { catalogCacheUsableFor } from './catalog-cache-service';
import { startCatalogInvalidation, typesChangedBy } from './catalog-invalidation';

interface TestContext {
  readonly identity: Identity;
}

const moviesTypeDefs = gql`
  extend schema @link(url: "https://specs.apollo.dev/federation/v2.3", import: ["@key"])
  type Query {
    movie(id: ID!): Movie
    movies: [Movie!]!
    seats(id: ID!): Int
  }
  type Mutation {
    touch(id: ID!): Movie
  }
  type Movie @key(fields: "id") {
    id: ID!
    title: String!
  }
`;
const cinemasTypeDefs = gql`
  extend schema @link(url: "https://specs.apollo.dev/federation/v2.3", import: ["@key"])
  type Movie @key(fields: "id") {
    id: ID!
    showtimes: [Showtime!]!
  }
  type Showtime {
    id: ID!
    startsAt: String!
  }
`;

/** The subgraphs' data and gates: tests change titles and hold fetches in flight. */
const titles = new Map<string, string>([['m1', 'Mai v1']]);
let gate: Promise<void> = Promise.resolve();

const schemas = {
  movies: buildSubgraphSchema({
    typeDefs: moviesTypeDefs,
    resolvers: {
      Query: {
        movie: async (_: unknown, { id }: { id: string }) => {
          const title = titles.get(id);
          await gate;
          return title ? { id, title } : null;
        },
        movies: () => [...titles].map(([id, title]) => ({ id, title })),
        seats: () => 42,
      },
      Mutation: { touch: (_: unknown, { id }: { id: string }) => ({ id, title: titles.get(id) }) },
      Movie: {
        __resolveReference: ({ id }: { id: string }) => ({ id, title: titles.get(id) }),
      },
    },
  }),
  cinemas: buildSubgraphSchema({
    typeDefs: cinemasTypeDefs,
    resolvers: {
      Movie: {
        __resolveReference: ({ id }: { id: string }) => ({ id }),
        showtimes: ({ id }: { id: string }) => [{ id: `${id}-s1`, startsAt: '2026-12-06T10:00' }],
      },
    },
  }),
} as const;

const composed = composeServices([
  { name: 'movies', url: 'http://movies.invalid/graphql', typeDefs: moviesTypeDefs },
  { name: 'cinemas', url: 'http://cinemas.invalid/graphql', typeDefs: cinemasTypeDefs },
]);
if (composed.errors) throw new Error(composed.errors.map((e) => e.message).join('\n'));

/** The Cache-Control each subgraph answers with, as its hints would make Apollo Server say. */
const cacheControl: Record<string, (query: string) => string> = {
  movies: (query) =>
    query.includes('seats')
      ? 'no-store'
      : query.includes('mutation')
        ? 'no-store'
        : 'max-age=60, public',
  cinemas: () => 'max-age=30, public',
};

/** A local subgraph with its Cache-Control, counting the fetches that reach it. */
class CountingSource implements GraphQLDataSource<Record<string, unknown>> {
  fetches = 0;
  private readonly local: LocalGraphQLDataSource;
  constructor(private readonly name: 'movies' | 'cinemas') {
    this.local = new LocalGraphQLDataSource(schemas[name]);
  }
  async process(options: GraphQLDataSourceProcessOptions<Record<string, unknown>>) {
    this.fetches += 1;
    const response = await this.local.process(options);
    const header = cacheControl[this.name](options.request.query ?? '');
    return { ...response, http: { headers: new Map([['cache-control', header]]) } } as never;
  }
}

const silentLog = { warn: () => undefined, error: () => undefined };

/** One gateway instance: its cache (sharing `redis` when given), its subgraphs, its server. */
async function instance(
  redis?: { commands: RedisClient; subscriber: RedisClient; prefix: string },
  options: { sharedCharsPerSecond?: number; now?: () => number } = {},
) {
  const cache = new CatalogCache({
    redis: redis?.commands,
    subscriber: redis?.subscriber,
    keyPrefix: redis?.prefix ?? 'local:',
    log: silentLog,
    ...options,
  });
  await cache.start();
  const sources = { movies: new CountingSource('movies'), cinemas: new CountingSource('cinemas') };
  const gateway = new ExecutionGateway({
    supergraphSdl: composed.supergraphSdl!,
    buildService: (name) => sources[name as 'movies'],
    logger: undefined,
    fetchCache: {
      cache,
      usableFor: (context) => catalogCacheUsableFor((context as TestContext).identity),
    },
  });
  const server = new ApolloServer<TestContext>({
    gateway,
    includeStacktraceInErrorResponses: false,
  });
  await server.start();
  const query = async (
    text: string,
    variables: Record<string, unknown> = {},
    identity = ANONYMOUS,
  ) => {
    const response = await server.executeOperation(
      { query: text, variables },
      { contextValue: { identity } },
    );
    if (response.body.kind !== 'single') throw new Error('expected a single result');
    return response.body.singleResult;
  };
  return {
    cache,
    sources,
    query,
    fetches: () => sources.movies.fetches + sources.cinemas.fetches,
    stop: async () => {
      await server.stop();
      await cache.stop();
    },
  };
}

const MOVIE = 'query M($id: ID!) { movie(id: $id) { title showtimes { id startsAt } } }';

/** Resolves when `cache` hears that `type` was invalidated (here or by another instance). */
const invalidated = (cache: CatalogCache, type: InvalidatedType) =>
  new Promise<void>((resolve) => {
    const off = cache.onInvalidated((types) => {
      if (!types.includes(type)) return;
      off();
      resolve();
    });
  });

describe('sharedMaxAge', () => {
  it('reads max-age only where a shared cache may keep the answer', () => {
    expect(sharedMaxAge('max-age=60, public')).toBe(60);
    expect(sharedMaxAge('public, max-age=5')).toBe(5);
    expect(sharedMaxAge('max-age=60, private')).toBe(0);
    expect(sharedMaxAge('max-age=60')).toBe(0);
    expect(sharedMaxAge('no-store')).toBe(0);
    expect(sharedMaxAge('max-age=0, public')).toBe(0);
    expect(sharedMaxAge('max-age=abc, public')).toBe(0);
    expect(sharedMaxAge(null)).toBe(0);
  });

  it('maps the subgraphs’ events to the types they change', () => {
    expect(typesChangedBy({ type: 'movie.updated' })).toEqual({ now: ['Movie'], later: [] });
    expect(typesChangedBy({ type: 'showtime.cancelled' }).now).toEqual(['Showtime', 'Movie']);
    expect(typesChangedBy({ type: 'booking.confirmed' })).toEqual({ now: [], later: [] });
  });
});

describe('CatalogCache in one process (no Redis)', () => {
  let one: Awaited<ReturnType<typeof instance>>;
  beforeEach(async () => {
    titles.set('m1', 'Mai v1');
    gate = Promise.resolve();
    one = await instance();
  });
  afterEach(() => one.stop());

  it('answers a repeated anonymous query from the cache, every fetch of it', async () => {
    const first = await one.query(MOVIE, { id: 'm1' });
    expect(first.data).toEqual({
      movie: { title: 'Mai v1', showtimes: [{ id: 'm1-s1', startsAt: '2026-12-06T10:00' }] },
    });
    expect(one.fetches()).toBe(2);
    const again = await one.query(MOVIE, { id: 'm1' });
    expect(again).toEqual(first);
    expect(one.fetches()).toBe(2);
    // Served whole: every answer in it was cached.
    expect(one.cache.stats()).toMatchObject({ hits: 0, misses: 2, stores: 2, resultHits: 1 });
    // Other variables are other answers.
    titles.set('m2', 'Lật Mặt');
    expect((await one.query(MOVIE, { id: 'm2' })).data).toMatchObject({
      movie: { title: 'Lật Mặt' },
    });
    expect(one.fetches()).toBe(4);
  });

  it('never serves or keeps a signed-in caller’s fetches, uncacheable answers or mutations', async () => {
    const customer: Identity = { userId: 'u1', role: 'CUSTOMER', email: null };
    await one.query(MOVIE, { id: 'm1' }, customer);
    await one.query(MOVIE, { id: 'm1' }, customer);
    expect(one.fetches()).toBe(4);
    expect(one.cache.stats().stores).toBe(0);
    // no-store from the subgraph: fetched every time.
    await one.query('{ seats(id: "s") }');
    await one.query('{ seats(id: "s") }');
    expect(one.sources.movies.fetches).toBe(4);
    await one.query('mutation { touch(id: "m1") { title } }');
    await one.query('mutation { touch(id: "m1") { title } }');
    expect(one.sources.movies.fetches).toBe(6);
    // An answer with errors is not kept either.
    await one.query(MOVIE, {});
    expect(one.cache.stats().stores).toBe(0);
  });

  it('never serves an answer once its type is invalidated', async () => {
    await one.query(MOVIE, { id: 'm1' });
    titles.set('m1', 'Mai v2');
    expect((await one.query(MOVIE, { id: 'm1' })).data).toMatchObject({
      movie: { title: 'Mai v1' },
    });
    await one.cache.invalidate(['Movie']);
    expect((await one.query(MOVIE, { id: 'm1' })).data).toMatchObject({
      movie: { title: 'Mai v2' },
    });
  });

  it('never keeps, for later requests, an answer fetched before an invalidation', async () => {
    let open: () => void = () => undefined;
    gate = new Promise<void>((resolve) => (open = resolve));
    // In flight with the old title when the movie changes...
    const stale = one.query(MOVIE, { id: 'm1' });
    for (let turn = 0; turn < 1000 && one.sources.movies.fetches === 0; turn++) {
      await new Promise((resolve) => setImmediate(resolve));
    }
    titles.set('m1', 'Mai v2');
    await one.cache.invalidate(['Movie']);
    open();
    // ...it answers what it read, and is stored under the old generation: nobody finds it.
    expect((await stale).data).toMatchObject({ movie: { title: 'Mai v1' } });
    expect((await one.query(MOVIE, { id: 'm1' })).data).toMatchObject({
      movie: { title: 'Mai v2' },
    });
  });

  it('is invalidated by the subgraphs’ events: stale answers end when the event is delivered', async () => {
    const transport = new InProcessTransport();
    const invalidation = startCatalogInvalidation({
      cache: one.cache,
      transport,
      consumer: 'gateway-test',
      log: silentLog,
    });
    try {
      await one.query(MOVIE, { id: 'm1' });
      titles.set('m1', 'Mai v2');
      expect((await one.query(MOVIE, { id: 'm1' })).data).toMatchObject({
        movie: { title: 'Mai v1' },
      });
      const delivered = invalidated(one.cache, 'Movie');
      await transport.publish('movies', [
        {
          id: randomUUID(),
          type: 'movie.updated',
          aggregateId: 'm1',
          payload: { movieId: 'm1', title: 'Mai v2', durationMinutes: 120, status: 'NOW_SHOWING' },
          occurredAt: new Date().toISOString(),
        },
      ]);
      await delivered;
      expect((await one.query(MOVIE, { id: 'm1' })).data).toMatchObject({
        movie: { title: 'Mai v2' },
      });
    } finally {
      await invalidation.stop();
      await transport.close();
    }
  });

  it('keeps a result made only of cached answers, and lets it go with them', async () => {
    const first = await one.query(MOVIE, { id: 'm1' });
    const second = await one.query(MOVIE, { id: 'm1' });
    // The same result object: parsed, merged and shaped once.
    expect(second.data).toBe((await one.query(MOVIE, { id: 'm1' })).data);
    expect(second).toEqual(first);
    titles.set('m1', 'Mai v2');
    await one.cache.invalidate(['Showtime']);
    const after = await one.query(MOVIE, { id: 'm1' });
    expect(after.data).not.toBe(second.data);
    // Only the Showtime answer was dropped: the movie's title is still the cached one.
    expect(after.data).toMatchObject({ movie: { title: 'Mai v1' } });
    await one.cache.invalidate(['Movie']);
    expect((await one.query(MOVIE, { id: 'm1' })).data).toMatchObject({
      movie: { title: 'Mai v2' },
    });
  });

  it('never keeps a result with an answer that was not cacheable', async () => {
    const query = 'query Q($id: ID!) { movie(id: $id) { title } seats(id: $id) }';
    const a = await one.query(query, { id: 'm1' });
    const b = await one.query(query, { id: 'm1' });
    expect(b).toEqual(a);
    expect(b.data).not.toBe(a.data);
  });

  it('lets an answer go after its max-age', async () => {
    let now = Date.now();
    const timed = new CatalogCache({ keyPrefix: 't:', log: silentLog, now: () => now });
    const fetch = {
      kind: 'Fetch' as const,
      serviceName: 'movies',
      operation: '{ movies { id title } }',
      operationName: undefined,
      operationKind: 'query' as never,
    };
    const schema = (await import('graphql')).buildSchema(
      'type Query { movies: [Movie] } type Movie { id: ID title: String }',
    );
    const first = await timed.lookup(fetch, {}, schema);
    first!.store({
      data: { movies: [] },
      http: { headers: { get: () => 'max-age=10, public' } },
    });
    now += 9_000;
    expect((await timed.lookup(fetch, {}, schema))?.hit?.maxAgeSeconds).toBe(1);
    now += 1_000;
    expect((await timed.lookup(fetch, {}, schema))?.hit).toBeUndefined();
  });
});

describe('CatalogCache shared through Redis by two gateway instances', () => {
  const connections: RedisClient[] = [];
  const prefix = `moviehub-test:catalog-${randomUUID()}:`;
  const connect = () => {
    const redis = createRedis(testRedisUrl);
    connections.push(redis);
    return redis;
  };
  let a: Awaited<ReturnType<typeof instance>>;
  let b: Awaited<ReturnType<typeof instance>>;

  beforeEach(async () => {
    titles.set('m1', 'Mai v1');
    gate = Promise.resolve();
    a = await instance({ commands: connect(), subscriber: connect(), prefix });
    b = await instance({ commands: connect(), subscriber: connect(), prefix });
  });
  afterEach(async () => {
    await a.stop();
    await b.stop();
    const redis = connect();
    const keys = await redis.keys(`${prefix}*`);
    if (keys.length > 0) await redis.del(...keys);
    await Promise.all(connections.splice(0).map((r) => closeRedis(r)));
  });

  it('serves in one instance what another fetched', async () => {
    await a.query(MOVIE, { id: 'm1' });
    expect(a.fetches()).toBe(2);
    expect((await b.query(MOVIE, { id: 'm1' })).data).toMatchObject({ movie: { title: 'Mai v1' } });
    expect(b.fetches()).toBe(0);
    expect(b.cache.stats()).toMatchObject({ hits: 2, localHits: 0 });
    // Now kept in b's own memory, the whole result too.
    await b.query(MOVIE, { id: 'm1' });
    expect(b.cache.stats()).toMatchObject({ hits: 2, localHits: 0, resultHits: 1 });
    expect(b.fetches()).toBe(0);
  });

  it('drops an answer everywhere when one instance invalidates it', async () => {
    await a.query(MOVIE, { id: 'm1' });
    await b.query(MOVIE, { id: 'm1' });
    titles.set('m1', 'Mai v2');
    const heard = invalidated(b.cache, 'Movie');
    await a.cache.invalidate(['Movie']);
    expect((await a.query(MOVIE, { id: 'm1' })).data).toMatchObject({ movie: { title: 'Mai v2' } });
    await heard;
    expect((await b.query(MOVIE, { id: 'm1' })).data).toMatchObject({ movie: { title: 'Mai v2' } });
  });

  it('keeps the Showtime answers of a movie apart from its Movie answers', async () => {
    await a.query(MOVIE, { id: 'm1' });
    const before = a.fetches();
    await a.cache.invalidate(['Showtime']);
    await a.query(MOVIE, { id: 'm1' });
    // Only the cinemas fetch (showtimes) read a Showtime: only it is fetched again.
    expect(a.fetches()).toBe(before + 1);
    expect(a.sources.cinemas.fetches).toBe(2);
  });

  it('writes to Redis within a budget: a flood of distinct queries stays in the instance that fetched it', async () => {
    // A budget of 2 KiB a second (10 KiB at once), on a clock that does not move by itself.
    let now = Date.now();
    const flooded = await instance(
      { commands: connect(), subscriber: connect(), prefix },
      { sharedCharsPerSecond: 2048, now: () => now },
    );
    try {
      const ids = Array.from({ length: 200 }, (_, i) => `flood-${i}`);
      for (const id of ids) titles.set(id, `Film ${id} ${'x'.repeat(200)}`);
      for (const id of ids) await flooded.query(MOVIE, { id });
      const { stores, notShared } = flooded.cache.stats();
      expect(notShared).toBeGreaterThan(0);
      expect(stores - notShared).toBeLessThan(stores / 2);
      const shared = () => connect().keys(`${prefix}catalog-cache:answer:*`);
      // The writes are not awaited by the queries: wait for them to land.
      await waitFor(async () => (await shared()).length === stores - notShared, 'the writes');
      // The budget comes back with time (a second: 2 KiB): an answer later is shared again.
      now += 1_000;
      titles.set('later', 'Later');
      await flooded.query(MOVIE, { id: 'later' });
      expect(flooded.cache.stats().notShared).toBe(notShared);
      await waitFor(async () => (await shared()).length === stores - notShared + 2, 'later');
      expect((await b.query(MOVIE, { id: 'later' })).data).toMatchObject({
        movie: { title: 'Later' },
      });
      expect(b.fetches()).toBe(0);
    } finally {
      await flooded.stop();
      for (const id of ['later', ...Array.from({ length: 200 }, (_, i) => `flood-${i}`)])
        titles.delete(id);
    }
  });
});

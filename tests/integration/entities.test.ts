import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { SUBGRAPH_NAMES, type SubgraphName } from '../../runtime/config';
import { IDENTITY_HEADER, signIdentity, type Identity } from '../../runtime/identity';
import { projectRoot } from '../../runtime/paths';
import { buildDemoPlan } from '../../scripts/seed/demo-plan';
import { postGraphQL, startTestStack, type TestStack } from '../support/test-stack';

/** Every `type X @key(...)` a subgraph declares, read from its committed SDL. */
function declaredKeys(name: SubgraphName): string[] {
  const sdl = readFileSync(join(projectRoot(), 'schema', `${name}.graphql`), 'utf8');
  return [...sdl.matchAll(/^type (\w+)\s+@key\(fields: "id"(?:, resolvable: (\w+))?\)/gm)]
    .filter((m) => m[2] !== 'false')
    .map((m) => m[1]);
}

const plan = buildDemoPlan();
const ADMIN: Identity = { userId: 'demo-admin', role: 'ADMIN' };

/** For each subgraph and key: a representation from the demo data and a field to select. */
const CASES: Record<
  SubgraphName,
  Record<string, { id: string; selection: string; expect: object }>
> = {
  users: {
    User: {
      id: 'demo-customer',
      selection: 'id name',
      expect: { id: 'demo-customer', name: plan.users.find((u) => u.id === 'demo-customer')!.name },
    },
  },
  movies: {
    Movie: {
      id: plan.movies[0].id,
      selection: 'id title',
      expect: { id: plan.movies[0].id, title: plan.movies[0].title },
    },
  },
  cinemas: {
    Showtime: {
      id: plan.showtimes[0].id,
      selection: 'id format',
      expect: { id: plan.showtimes[0].id, format: plan.showtimes[0].format },
    },
    Movie: {
      id: plan.movies[0].id,
      selection: 'id showtimes(from: "2000-01-01T00:00:00Z", to: "2000-01-02T00:00:00Z") { id }',
      expect: { id: plan.movies[0].id, showtimes: [] },
    },
  },
  bookings: {
    Booking: {
      id: plan.bookings[0].id,
      selection: 'id bookingCode',
      expect: { id: plan.bookings[0].id, bookingCode: plan.bookings[0].bookingCode },
    },
    User: {
      id: 'demo-customer',
      selection: 'id bookings(first: 5) { totalCount }',
      expect: { id: 'demo-customer', bookings: { totalCount: 2 } },
    },
  },
};

describe('each subgraph resolves every @key it declares through _entities', () => {
  let t: TestStack;
  beforeAll(async () => {
    t = await startTestStack();
  });
  afterAll(async () => {
    await t?.stop();
  });

  const call = (name: SubgraphName, query: string, variables: object, identity = ADMIN) =>
    postGraphQL(t.stack.subgraphs[name].url, query, variables as Record<string, unknown>, {
      headers: { [IDENTITY_HEADER]: signIdentity(identity, t.config.internalSecret, name) },
    });

  it.each(SUBGRAPH_NAMES)('%s: the test covers every declared key', (name) => {
    expect(Object.keys(CASES[name]).sort()).toEqual(declaredKeys(name).sort());
  });

  const rows = SUBGRAPH_NAMES.flatMap((name) =>
    Object.entries(CASES[name]).map(([typename, c]) => [name, typename, c] as const),
  );
  it.each(rows)('%s resolves %s', async (name, typename, c) => {
    const res = await call(
      name,
      `query($r: [_Any!]!) { _entities(representations: $r) { ... on ${typename} { ${c.selection} } } }`,
      { r: [{ __typename: typename, id: c.id }] },
    );
    expect(res.errors).toBeUndefined();
    expect(res.data!._entities).toEqual([c.expect]);
  });

  it('answers null for an unknown or malformed id, in order with the known ones', async () => {
    // A malformed one too: the movies reads are shared by the requests of one turn
    // (`movieReads`), and one caller's id must never fail the read for the others.
    const res = await call(
      'movies',
      'query($r: [_Any!]!) { _entities(representations: $r) { ... on Movie { id } } }',
      {
        r: [
          { __typename: 'Movie', id: '00000000-0000-4000-8000-000000000000' },
          { __typename: 'Movie', id: 'not-a-uuid' },
          { __typename: 'Movie', id: plan.movies[1].id },
        ],
      },
    );
    expect(res.errors).toBeUndefined();
    expect(res.data!._entities).toEqual([null, null, { id: plan.movies[1].id }]);
  });

  it('answers null for a malformed showtime id, and the others of the request as usual', async () => {
    // The cinemas reads are shared by the requests of one turn (`sharedReads`): a malformed
    // id must be no showtime, never a failed query for the whole batch.
    const showtime = plan.showtimes[0];
    const res = await call(
      'cinemas',
      'query($r: [_Any!]!) { _entities(representations: $r) { ... on Showtime { id } } }',
      {
        r: [
          { __typename: 'Showtime', id: 'not-a-uuid' },
          { __typename: 'Showtime', id: "'; drop table showtimes; --" },
          { __typename: 'Showtime', id: showtime.id },
        ],
      },
    );
    expect(res.errors).toBeUndefined();
    expect(res.data!._entities).toEqual([null, null, { id: showtime.id }]);
  });

  it('hides a booking from another customer behind _entities', async () => {
    const res = await call(
      'bookings',
      'query($r: [_Any!]!) { _entities(representations: $r) { ... on Booking { id } } }',
      { r: [{ __typename: 'Booking', id: plan.bookings[0].id }] },
      { userId: 'someone-else', role: 'CUSTOMER' },
    );
    expect(res.data!._entities).toEqual([null]);
  });

  it.each(SUBGRAPH_NAMES)('%s refuses a call without a valid identity header', async (name) => {
    const url = t.stack.subgraphs[name].url;
    const bare = await postGraphQL(url, '{ __typename }');
    expect(bare.status).toBe(401);
    expect(bare.errors?.[0].extensions?.code).toBe('UNAUTHENTICATED');
    const forged = await postGraphQL(
      url,
      '{ __typename }',
      {},
      {
        headers: {
          [IDENTITY_HEADER]: signIdentity(ADMIN, 'a-secret-that-is-not-the-internal-one', name),
        },
      },
    );
    expect(forged.status).toBe(401);
    // A genuine header meant for another subgraph is refused too (the audience is signed).
    const other = SUBGRAPH_NAMES.find((n) => n !== name)!;
    const misdirected = await postGraphQL(
      url,
      '{ __typename }',
      {},
      { headers: { [IDENTITY_HEADER]: signIdentity(ADMIN, t.config.internalSecret, other) } },
    );
    expect(misdirected.status).toBe(401);
    // An unsigned caller's body is not even parsed: refused as unsigned, not as malformed.
    const unread = await fetch(url, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: '{"query": ',
    });
    expect(unread.status).toBe(401);
    expect(await unread.json()).toMatchObject({
      errors: [{ extensions: { code: 'UNAUTHENTICATED' } }],
    });
  });
});

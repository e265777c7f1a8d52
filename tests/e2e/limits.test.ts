import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createClient } from 'graphql-ws';
import WebSocket from 'ws';
import { startGateway } from '../../gateway/src/gateway';
import { withOverrides } from '../../runtime/config';
import { ANONYMOUS, IDENTITY_HEADER, signIdentity } from '../../runtime/identity';
import { projectRoot } from '../../runtime/paths';
import { buildDemoPlan } from '../../scripts/seed/demo-plan';
import { contractOperation } from '../support/contract';
import { postGraphQL, startTestStack, type TestStack } from '../support/test-stack';
import { TestSubscription } from '../support/ws-client';

const plan = buildDemoPlan();
const DAY_MS = 86_400_000;

/** `query Q { ...F0 }` where each fragment spreads the next twice: 2^levels fields expanded. */
function fragmentChain(levels: number): string {
  let doc = 'query Q { ...F0 }\n';
  for (let i = 0; i < levels; i++) doc += `fragment F${i} on Query { ...F${i + 1} ...F${i + 1} }\n`;
  return doc + `fragment F${levels} on Query { movies { totalCount } }\n`;
}

/** A signed request straight to a subgraph, as the gateway sends them. */
function postToSubgraph(t: TestStack, name: 'movies' | 'cinemas', query: string, variables = {}) {
  return postGraphQL(t.stack.subgraphs[name].url, query, variables, {
    headers: { [IDENTITY_HEADER]: signIdentity(ANONYMOUS, t.config.internalSecret, name) },
  });
}

async function postRaw(url: string, body: string, headers: Record<string, string> = {}) {
  const res = await fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...headers },
    body,
  });
  return { status: res.status, type: res.headers.get('content-type'), text: await res.text() };
}

const upcoming = plan.showtimes.filter((s) => s.startsAt.getTime() > Date.now() + DAY_MS);
const showtimeId = upcoming[0].id;

describe('request limits, with the default settings', () => {
  let t: TestStack;
  beforeAll(async () => {
    t = await startTestStack();
  });
  afterAll(async () => {
    await t?.stop();
  });

  it('refuses a fragment fan-out at once, and /health sent beside it answers', async () => {
    // 2^25 fields when each spread is expanded: the old check walked them all (about 40 s).
    const started = performance.now();
    const [complex, health] = await Promise.all([
      t.query(fragmentChain(25)),
      fetch(t.gatewayUrl.replace(/\/graphql$/, '/health')),
    ]);
    console.log(`fragment chain refused in ${Math.round(performance.now() - started)} ms`);
    expect(health.status).toBe(200);
    expect(complex.status).toBe(400);
    expect(complex.errors).toEqual([
      expect.objectContaining({
        message: 'The document chains fragment spreads more than the limit of 16 fragments deep',
        extensions: expect.objectContaining({ code: 'QUERY_TOO_COMPLEX' }),
      }),
    ]);
    // Within the chain limit (15 fragments), its 2^14 fields are counted and refused.
    const counted = await t.query(fragmentChain(14));
    expect(counted.status).toBe(400);
    expect(counted.errors).toEqual([
      expect.objectContaining({
        message: expect.stringContaining('1500 fields'),
        extensions: expect.objectContaining({ code: 'QUERY_TOO_COMPLEX' }),
      }),
    ]);
  });

  it('refuses a document over the token limit while parsing', async () => {
    const res = await t.query(`{ ${'__typename '.repeat(6000)} }`);
    expect(res.status).toBe(400);
    expect(res.errors?.[0].extensions?.code).toBe('GRAPHQL_PARSE_FAILED');
    expect(res.errors?.[0].message).toMatch(
      /more than 5000 tokens, the limit \(QUERY_MAX_TOKENS\)/,
    );
  });

  it('refuses movie → showtimes → movie → showtimes … (lists multiplied)', async () => {
    const res = await t.query(
      `query($id: ID!) { movie(id: $id) { showtimes { movie { showtimes { movie {
        showtimes { id } } } } } } }`,
      { id: plan.movies[0].id },
    );
    expect(res.status).toBe(400);
    expect(res.errors?.[0].extensions?.code).toBe('QUERY_TOO_COMPLEX');
    expect(res.errors?.[0].message).toMatch(/limit of 50000 \(QUERY_MAX_COST\)/);
  });

  it('refuses the seat maps of a whole list of showtimes, and aliased copies of one', async () => {
    const from = new Date(Date.now() + DAY_MS);
    const list = await t.query(
      `query($from: DateTime!, $to: DateTime!) {
        showtimes(city: "Hà Nội", from: $from, to: $to) { id seatMap { seats { seatId status } } }
      }`,
      { from: from.toISOString(), to: new Date(from.getTime() + 7 * DAY_MS).toISOString() },
    );
    expect(list.errors?.[0].extensions?.code).toBe('QUERY_TOO_COMPLEX');

    const copy = (n: number) =>
      `s${n}: showtime(id: $id) { seatMap { seats { seatId row number type status heldByMe } } }`;
    const one = await t.query(`query($id: ID!) { ${copy(0)} }`, { id: showtimeId });
    expect(one.errors).toBeUndefined();
    const six = await t.query(`query($id: ID!) { ${[0, 1, 2, 3, 4, 5].map(copy).join(' ')} }`, {
      id: showtimeId,
    });
    expect(six.errors?.[0].extensions?.code).toBe('QUERY_TOO_COMPLEX');
  });

  it('refuses more aliases than the limit, naming it', async () => {
    const aliases = Array.from({ length: 101 }, (_, i) => `m${i}: movie(id: $id) { id }`);
    const res = await t.query(`query($id: ID!) { ${aliases.join(' ')} }`, {
      id: plan.movies[0].id,
    });
    expect(res.errors?.[0].extensions?.code).toBe('QUERY_TOO_COMPLEX');
    expect(res.errors?.[0].message).toMatch(/limit of 100 aliases/);
  });

  it('bounds showtime lists: a window of at most 14 days, at most `limit` items', async () => {
    const from = new Date(Date.now() + DAY_MS);
    const wide = await t.query(
      `query($from: DateTime!, $to: DateTime!) { showtimes(city: "Hà Nội", from: $from, to: $to) { id } }`,
      { from: from.toISOString(), to: new Date(from.getTime() + 15 * DAY_MS).toISOString() },
    );
    expect(wide.errors?.[0].extensions).toMatchObject({ code: 'BAD_USER_INPUT', field: 'to' });

    const few = await t.query(
      `query($from: DateTime!, $to: DateTime!, $id: ID!) {
        showtimes(city: "Hà Nội", from: $from, to: $to, limit: 5) { id startsAt }
        movie(id: $id) { showtimes(limit: 2) { id startsAt } }
      }`,
      {
        from: from.toISOString(),
        to: new Date(from.getTime() + 7 * DAY_MS).toISOString(),
        id: upcoming[0].movieId,
      },
    );
    expect(few.errors).toBeUndefined();
    expect(few.data!.showtimes).toHaveLength(5);
    const starts = few.data!.showtimes.map((s: any) => Date.parse(s.startsAt));
    expect(starts).toEqual([...starts].sort((a, b) => a - b));
    expect(few.data!.movie.showtimes).toHaveLength(2);

    // Each field gets its own limit, however the request shares its loaders.
    const aliased = await t.query(
      `query($id: ID!) { movie(id: $id) { one: showtimes(limit: 1) { id } three: showtimes(limit: 3) { id } } }`,
      { id: upcoming[0].movieId },
    );
    expect(aliased.errors).toBeUndefined();
    expect(aliased.data!.movie.one).toHaveLength(1);
    expect(aliased.data!.movie.three).toHaveLength(3);

    const tooMany = await t.query(
      `query($id: ID!) { movie(id: $id) { showtimes(limit: 501) { id } } }`,
      {
        id: upcoming[0].movieId,
      },
    );
    expect(tooMany.errors?.[0].extensions).toMatchObject({
      code: 'BAD_USER_INPUT',
      field: 'limit',
    });
  });

  it('refuses text arguments with control characters as BAD_USER_INPUT naming the field', async () => {
    const inline = await t.query('{ movies(filter: { search: "a\\u0000b" }) { totalCount } }');
    expect(inline.errors?.[0].extensions).toMatchObject({
      code: 'BAD_USER_INPUT',
      field: 'search',
    });
    const variable = await t.query(contractOperation('SearchMovies'), { text: 'lat\u0007mat' });
    expect(variable.errors?.[0].extensions).toMatchObject({
      code: 'BAD_USER_INPUT',
      field: 'search',
    });
    const profile = await t.query(
      contractOperation('UpdateProfile'),
      { name: 'Nguyễn\u0000Văn A' },
      { token: t.token('user_nul') },
    );
    expect(profile.errors?.[0].extensions).toMatchObject({ code: 'BAD_USER_INPUT', field: 'name' });
    // Tabs and line breaks are text.
    const fine = await t.query(contractOperation('SearchMovies'), { text: 'lat\tmat\n' });
    expect(fine.errors).toBeUndefined();
  });

  it('answers malformed JSON and oversized bodies with coded JSON errors, gateway and subgraphs', async () => {
    // A subgraph reads the body of a signed caller only (an unsigned one gets 401 unread).
    const signed = {
      [IDENTITY_HEADER]: signIdentity(ANONYMOUS, t.config.internalSecret, 'movies'),
    };
    for (const [url, headers] of [
      [t.gatewayUrl, {}],
      [t.stack.subgraphs.movies.url, signed],
    ] as const) {
      const malformed = await postRaw(url, '{"query": "{ movies { totalCount } }"', headers);
      expect(malformed.status).toBe(400);
      expect(malformed.type).toMatch(/application\/json/);
      expect(JSON.parse(malformed.text)).toEqual({
        errors: [
          {
            message: 'The request body is not valid JSON',
            extensions: { code: 'BAD_REQUEST' },
          },
        ],
      });

      const big = await postRaw(
        url,
        JSON.stringify({ query: `{ ${'x'.repeat(1024 * 1024)} }` }),
        headers,
      );
      expect(big.status).toBe(413);
      expect(JSON.parse(big.text)).toEqual({
        errors: [
          {
            message: 'The request body is over the 1 MiB limit',
            extensions: { code: 'PAYLOAD_TOO_LARGE' },
          },
        ],
      });
      expect(big.text).not.toMatch(/at .*\.js/);
    }
  });

  it('subgraphs apply the limits too, over HTTP and over graphql-ws', async () => {
    const http = await postToSubgraph(
      t,
      'cinemas',
      `query($id: ID!) { showtime(id: $id) { hall { cinema { halls { seats { id row number } } } } } }`,
      { id: showtimeId },
    );
    expect(http.errors?.[0].extensions?.code).toBe('QUERY_TOO_COMPLEX');

    const url = t.stack.subgraphs.cinemas.url.replace(/^http/, 'ws');
    const client = createClient({
      url,
      webSocketImpl: WebSocket,
      lazy: false,
      retryAttempts: 0,
      connectionParams: {
        headers: { [IDENTITY_HEADER]: signIdentity(ANONYMOUS, t.config.internalSecret, 'cinemas') },
      },
    });
    const sub = new TestSubscription(
      url,
      `subscription($id: ID!) { seatUpdates(showtimeId: $id) {
        showtime { hall { cinema { halls { seats { id row number } } } } } } }`,
      { id: showtimeId },
      client,
    );
    try {
      const refused = await sub.next();
      expect(refused.errors?.[0]).toMatchObject({
        message: expect.stringContaining('QUERY_MAX_COST'),
        extensions: expect.objectContaining({ code: 'QUERY_TOO_COMPLEX' }),
      });
    } finally {
      await sub.close();
    }
  });

  it('sets statement_timeout on every subgraph connection', async () => {
    for (const name of ['users', 'movies', 'cinemas', 'bookings'] as const) {
      const rows = await t.stack.subgraphs[name].dataSource.query('SHOW statement_timeout');
      expect(rows).toEqual([{ statement_timeout: '5s' }]);
    }
  });

  describe('SUPERGRAPH_PATH', () => {
    let dir: string;
    beforeAll(() => {
      dir = mkdtempSync(join(tmpdir(), 'moviehub-supergraph-'));
    });
    afterAll(() => {
      rmSync(dir, { recursive: true, force: true });
    });

    const gatewayConfig = (supergraphPath: string) =>
      withOverrides(t.config, {
        http: { host: '127.0.0.1', port: 0 },
        subgraphUrls: Object.fromEntries(
          Object.entries(t.stack.subgraphs).map(([name, s]) => [name, s.url]),
        ),
        supergraphPath,
      });

    it('loads the supergraph from the file it names', async () => {
      // The committed supergraph with one description changed: visible through introspection.
      const path = join(dir, 'rollout.graphql');
      const committed = readFileSync(join(projectRoot(), 'schema', 'supergraph.graphql'), 'utf8');
      const rolledOut = committed.replace(
        '"""One movie, or null when unknown."""',
        '"""One movie (rolled out)."""',
      );
      expect(rolledOut).not.toBe(committed);
      writeFileSync(path, rolledOut);
      const gateway = await startGateway(gatewayConfig(path));
      try {
        const res = await postGraphQL(
          `http://127.0.0.1:${gateway.port}/graphql`,
          '{ __type(name: "Query") { fields { name description } } movies(first: 1) { totalCount } }',
        );
        expect(res.errors).toBeUndefined();
        expect(res.data!.movies.totalCount).toBeGreaterThan(0);
        expect(res.data!.__type.fields).toContainEqual({
          name: 'movie',
          description: 'One movie (rolled out).',
        });
      } finally {
        await gateway.stop();
      }
    });

    it('refuses to start with one sentence naming a missing or invalid file', async () => {
      const missing = join(dir, 'missing.graphql');
      await expect(startGateway(gatewayConfig(missing))).rejects.toThrow(
        `Cannot read the supergraph at ${missing} (SUPERGRAPH_PATH): no such file`,
      );
      const invalid = join(dir, 'invalid.graphql');
      writeFileSync(invalid, 'type Query { hello: String }');
      await expect(startGateway(gatewayConfig(invalid))).rejects.toThrow(
        `The supergraph at ${invalid} (SUPERGRAPH_PATH) could not be loaded: `,
      );
    });
  });
});

describe('request limits, with a small response cap and statement timeout', () => {
  let t: TestStack;
  beforeAll(async () => {
    t = await startTestStack({
      env: { RESPONSE_MAX_BYTES: '2048', DATABASE_STATEMENT_TIMEOUT_MS: '1000' },
    });
  });
  afterAll(async () => {
    await t?.stop();
  });

  it('answers RESPONSE_TOO_LARGE instead of a response over the cap, at the gateway', async () => {
    // Each subgraph's part fits (about 1.7 KiB each); together they do not.
    const res = await t.query(`{
      movies(first: 20) { edges { node { id title } } }
      cinemas { id name halls { id name } }
    }`);
    expect(res.errors).toEqual([
      {
        message:
          'The response would be over the 2 KiB limit (RESPONSE_MAX_BYTES): ask for less (smaller pages, fewer fields)',
        extensions: { code: 'RESPONSE_TOO_LARGE' },
      },
    ]);
    expect(res.data).toBeUndefined();
  });

  it('answers RESPONSE_TOO_LARGE at a subgraph, which reaches the client through the gateway', async () => {
    const direct = await postToSubgraph(
      t,
      'movies',
      '{ movies(first: 50) { edges { node { id title synopsis } } } }',
    );
    expect(direct.errors?.[0].extensions?.code).toBe('RESPONSE_TOO_LARGE');
    const res = await t.query('{ movies(first: 50) { edges { node { id title synopsis } } } }');
    expect(res.errors?.[0].extensions).toMatchObject({
      code: 'RESPONSE_TOO_LARGE',
      serviceName: 'movies',
    });
  });

  it('cancels a statement over the timeout with a coded error and no SQL', async () => {
    const runner = t.stack.subgraphs.movies.dataSource.createQueryRunner();
    await runner.connect();
    try {
      await runner.startTransaction();
      // Any read of movies now waits for this lock, until statement_timeout cancels it.
      await runner.query('LOCK TABLE movies IN ACCESS EXCLUSIVE MODE');
      const res = await t.query('query($id: ID!) { movie(id: $id) { id title } }', {
        id: plan.movies[0].id,
      });
      expect(res.errors?.[0]).toMatchObject({
        message: expect.stringContaining('1000 ms'),
        extensions: expect.objectContaining({
          code: 'SERVICE_UNAVAILABLE',
          serviceName: 'movies',
        }),
      });
      expect(JSON.stringify(res.errors)).not.toMatch(/SELECT|canceling statement/i);
    } finally {
      await runner.rollbackTransaction().catch(() => {});
      await runner.release();
    }
  });
});

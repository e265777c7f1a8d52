import type { GraphQLDataSourceProcessOptions } from '@apollo/gateway';
import { GraphQLDataSourceRequestKind } from '@apollo/gateway/dist/datasources/types';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { ANONYMOUS, IDENTITY_HEADER, verifyIdentity, type Identity } from '../../runtime/identity';
import { SubgraphClient, type GatewayContext } from './subgraph-client';
import { createUpstreamFetcher, type UpstreamFetcher } from './upstream-fetcher';

const SECRET = 'subgraph-client-test-secret';

/** One request the fake subgraph received and has not answered yet. */
interface Held {
  readonly headers: IncomingMessage['headers'];
  readonly body: string;
  answer(status: number, body: unknown, headers?: Record<string, string>): void;
}

/**
 * A subgraph that holds every request until the test answers it: requests in flight stay in
 * flight for as long as the test needs.
 */
async function holdingSubgraph(): Promise<{
  url: string;
  held: Held[];
  nextRequest(): Promise<Held>;
  close(): Promise<void>;
}> {
  const held: Held[] = [];
  const waiters: Array<(h: Held) => void> = [];
  let claimed = 0;
  const server: Server = createServer((req: IncomingMessage, res: ServerResponse) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const request: Held = {
        headers: req.headers,
        body: Buffer.concat(chunks).toString('utf8'),
        answer: (status, body, headers = {}) => {
          res.writeHead(status, { 'content-type': 'application/json', ...headers });
          res.end(typeof body === 'string' ? body : JSON.stringify(body));
        },
      };
      held.push(request);
      waiters.shift()?.(request);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}/graphql`,
    held,
    nextRequest: () =>
      new Promise<Held>((resolve) => {
        const unclaimed = held.length > claimed ? held[claimed] : undefined;
        claimed += 1;
        if (unclaimed) resolve(unclaimed);
        else waiters.push(resolve);
      }),
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

/** Turns of the event loop until `done()` holds (the client's hops before it sends). */
async function settled(done: () => boolean): Promise<void> {
  for (let turn = 0; turn < 1000 && !done(); turn++) {
    await new Promise((resolve) => setImmediate(resolve));
  }
}

const user = (userId: string): Identity => ({ userId, role: 'CUSTOMER', email: null });

function operation(
  query: string,
  identity: Identity,
  requestId = 'r1',
  variables: Record<string, unknown> = {},
  clientIp?: string,
  overallCachePolicy?: { restrict(hint: { maxAge?: number; scope?: string }): void },
): GraphQLDataSourceProcessOptions<GatewayContext> {
  const context: GatewayContext = { requestId, identity, ...(clientIp ? { clientIp } : {}) };
  // As the executor calls it; of the incoming request, only its headers (and the cache
  // policy a subgraph's Cache-Control restricts) are read.
  const incomingRequestContext = {
    request: {
      http: {
        method: 'POST',
        url: '/',
        headers: new Map<string, string>([['idempotency-key', 'key-1']]),
      },
    },
    context,
    overallCachePolicy,
  };
  return {
    kind: GraphQLDataSourceRequestKind.INCOMING_OPERATION,
    request: { query, variables },
    context,
    incomingRequestContext,
  } as unknown as GraphQLDataSourceProcessOptions<GatewayContext>;
}

describe('SubgraphClient with the upstream fetcher', () => {
  const disposers: Array<() => Promise<void> | void> = [];
  let subgraph: Awaited<ReturnType<typeof holdingSubgraph>>;
  let fetcher: UpstreamFetcher;
  let client: SubgraphClient;

  beforeEach(async () => {
    subgraph = await holdingSubgraph();
    fetcher = createUpstreamFetcher();
    client = new SubgraphClient('movies', subgraph.url, SECRET, { fetcher });
    disposers.push(
      () => fetcher.close(),
      () => subgraph.close(),
    );
  });
  afterEach(async () => {
    for (const dispose of disposers.splice(0).reverse()) await dispose();
  });

  const QUERY = 'query Q__movies__0 { movies { id title } }';

  it('sends identical queries in flight once; each caller gets its own objects', async () => {
    const first = client.process(operation(QUERY, ANONYMOUS, 'r1'));
    const second = client.process(operation(QUERY, ANONYMOUS, 'r2'));
    await settled(() => fetcher.stats().sent + fetcher.stats().shared === 2);
    expect(fetcher.stats()).toMatchObject({ sent: 1, shared: 1 });
    const request = await subgraph.nextRequest();
    request.answer(200, { data: { movies: [{ id: '1', title: 'A' }] } });
    const [a, b] = await Promise.all([first, second]);
    expect(subgraph.held).toHaveLength(1);
    expect(fetcher.stats()).toMatchObject({ sent: 1, shared: 1, inFlight: 0 });
    expect(a.data).toEqual({ movies: [{ id: '1', title: 'A' }] });
    expect(b.data).toEqual(a.data);
    // The executor merges into what it is given: one caller's changes never reach another.
    expect(b.data).not.toBe(a.data);
    (a.data as { movies: Array<{ title: string }> }).movies[0].title = 'changed';
    expect((b.data as { movies: Array<{ title: string }> }).movies[0].title).toBe('A');

    // Once answered, nothing is kept: the same query goes to the subgraph again.
    const third = client.process(operation(QUERY, ANONYMOUS));
    (await subgraph.nextRequest()).answer(200, { data: { movies: [] } });
    await third;
    expect(subgraph.held).toHaveLength(2);
  });

  it('never shares a fetch between two callers: each goes with its own identity', async () => {
    const alice = client.process(operation(QUERY, user('alice')));
    const bob = client.process(operation(QUERY, user('bob')));
    const anonymous = client.process(operation(QUERY, ANONYMOUS));
    await settled(() => fetcher.stats().sent + fetcher.stats().shared === 3);
    expect(fetcher.stats()).toMatchObject({ sent: 3, shared: 0 });
    const requests = [
      await subgraph.nextRequest(),
      await subgraph.nextRequest(),
      await subgraph.nextRequest(),
    ];
    const callers = requests.map(
      (r) => verifyIdentity(r.headers[IDENTITY_HEADER] as string, SECRET, 'movies')?.userId,
    );
    expect(callers.sort()).toEqual(['alice', 'bob', null].sort());
    for (const r of requests) {
      const who = verifyIdentity(r.headers[IDENTITY_HEADER] as string, SECRET, 'movies');
      r.answer(200, { data: { movies: [{ id: String(who?.userId), title: 'x' }] } });
    }
    const [a, b, c] = await Promise.all([alice, bob, anonymous]);
    expect(a.data).toEqual({ movies: [{ id: 'alice', title: 'x' }] });
    expect(b.data).toEqual({ movies: [{ id: 'bob', title: 'x' }] });
    expect(c.data).toEqual({ movies: [{ id: 'null', title: 'x' }] });
    expect(fetcher.stats().shared).toBe(0);
  });

  it('shares only identical bodies, and never a mutation', async () => {
    const one = client.process(operation(QUERY, ANONYMOUS, 'r1', { first: 1 }));
    const two = client.process(operation(QUERY, ANONYMOUS, 'r1', { first: 2 }));
    const mutation = 'mutation M__movies__0 { rate { ok } }';
    const m1 = client.process(operation(mutation, ANONYMOUS));
    const m2 = client.process(operation(mutation, ANONYMOUS));
    await settled(() => fetcher.stats().sent + fetcher.stats().shared === 4);
    expect(fetcher.stats()).toMatchObject({ sent: 4, shared: 0 });
    for (let i = 0; i < 4; i++) (await subgraph.nextRequest()).answer(200, { data: {} });
    await Promise.all([one, two, m1, m2]);
    expect(subgraph.held).toHaveLength(4);
    expect(fetcher.stats().shared).toBe(0);
  });

  it('gives every caller of a shared fetch the subgraph’s coded error', async () => {
    const first = client.process(operation(QUERY, ANONYMOUS));
    const second = client.process(operation(QUERY, ANONYMOUS));
    (await subgraph.nextRequest()).answer(400, {
      errors: [{ message: 'Bad id', extensions: { code: 'BAD_USER_INPUT' } }],
    });
    for (const result of await Promise.allSettled([first, second])) {
      expect(result).toMatchObject({
        status: 'rejected',
        reason: {
          message: 'Bad id',
          extensions: { code: 'BAD_USER_INPUT', serviceName: 'movies' },
        },
      });
    }
  });

  it('names the subgraph when it cannot be reached', async () => {
    await subgraph.close();
    await expect(client.process(operation(QUERY, ANONYMOUS))).rejects.toMatchObject({
      extensions: { code: 'SERVICE_UNAVAILABLE', serviceName: 'movies' },
    });
  });

  it('reuses a caller’s signed identity header, which the subgraph accepts', async () => {
    const identity = user('carol');
    const first = client.process(operation(QUERY, identity));
    const a = await subgraph.nextRequest();
    a.answer(200, { data: {} });
    await first;
    const second = client.process(operation(`${QUERY} `, identity));
    const b = await subgraph.nextRequest();
    b.answer(200, { data: {} });
    await second;
    expect(b.headers[IDENTITY_HEADER]).toBe(a.headers[IDENTITY_HEADER]);
    expect(verifyIdentity(b.headers[IDENTITY_HEADER] as string, SECRET, 'movies')).toEqual(
      identity,
    );
  });

  it("signs the client's address into a signed-in caller's mutations only", async () => {
    const dave = user('dave');
    const MUTATION = 'mutation StartPayment__movies__0 { startPayment { id } }';
    const ip = '203.0.113.7';
    const sent = async (query: string, identity: Identity, clientIp?: string) => {
      const pending = client.process(operation(query, identity, 'r1', {}, clientIp));
      const request = await subgraph.nextRequest();
      request.answer(200, { data: {} });
      await pending;
      return verifyIdentity(request.headers[IDENTITY_HEADER] as string, SECRET, 'movies');
    };
    expect(await sent(MUTATION, dave, ip)).toEqual({ ...dave, clientIp: ip });
    // Queries keep the header reused per identity; anonymous callers never carry an address.
    expect(await sent(QUERY, dave, ip)).toEqual(dave);
    expect(await sent(MUTATION, ANONYMOUS, ip)).toEqual(ANONYMOUS);
    // The identity object the gateway shares between a token's requests is left as it was.
    expect(dave).not.toHaveProperty('clientIp');
    // Without an address (or with one that is none), the subgraph's default applies.
    expect(await sent(MUTATION, dave)).toEqual(dave);
    expect(await sent(MUTATION, dave, 'not-an-address')).toEqual(dave);
  });

  it('posts the request as Apollo’s data source does: its body, our headers', async () => {
    const pending = client.process({
      ...operation(QUERY, ANONYMOUS, 'r7', { first: 2 }),
      request: {
        query: QUERY,
        variables: { first: 2 },
        operationName: 'Q__movies__0',
        http: { method: 'POST', url: '', headers: new Map([['X-Extra', 'yes']]) as never },
      },
    });
    const request = await subgraph.nextRequest();
    request.answer(200, { data: {} });
    await pending;
    expect(JSON.parse(request.body)).toEqual({
      query: QUERY,
      variables: { first: 2 },
      operationName: 'Q__movies__0',
    });
    expect(request.body.startsWith('{"query":')).toBe(true);
    expect(request.headers).toMatchObject({
      'content-type': 'application/json',
      'x-request-id': 'r7',
      'idempotency-key': 'key-1',
      'x-extra': 'yes',
    });
    expect(verifyIdentity(request.headers[IDENTITY_HEADER] as string, SECRET, 'movies')).toEqual(
      ANONYMOUS,
    );
  });

  it('restricts the request’s cache policy by the subgraph’s Cache-Control', async () => {
    const hints: Array<{ maxAge?: number; scope?: string }> = [];
    const policy = { restrict: (hint: { maxAge?: number; scope?: string }) => hints.push(hint) };
    for (const cacheControl of ['max-age=30, public', 'private, max-age=5', undefined]) {
      const pending = client.process(operation(QUERY, ANONYMOUS, 'r1', {}, undefined, policy));
      (await subgraph.nextRequest()).answer(
        200,
        { data: {} },
        cacheControl ? { 'cache-control': cacheControl } : {},
      );
      const response = await pending;
      // The answer keeps its response, whose headers the catalog cache reads.
      expect(response.http?.headers.get('cache-control') ?? null).toBe(cacheControl ?? null);
    }
    expect(hints).toEqual([
      { maxAge: 30, scope: 'PUBLIC' },
      { maxAge: 5, scope: 'PRIVATE' },
      { maxAge: 0 },
    ]);
  });

  it('refuses an answer that is not a JSON object, and a request without a query', async () => {
    const pending = client.process(operation(QUERY, ANONYMOUS));
    (await subgraph.nextRequest()).answer(200, 'not json', { 'content-type': 'text/plain' });
    await expect(pending).rejects.toThrow('Expected JSON response body, but received: not json');
    const list = client.process(operation(QUERY, ANONYMOUS));
    (await subgraph.nextRequest()).answer(200, [1]);
    await expect(list).rejects.toThrow('Expected JSON response body');
    await expect(client.process(operation('', ANONYMOUS))).rejects.toThrow('Missing query');
  });
});

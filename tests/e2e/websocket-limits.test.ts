import WebSocket from 'ws';
import { startGateway } from '../../gateway/src/gateway';
import { MAX_OPERATIONS_PER_SOCKET } from '../../gateway/src/websocket';
import { withOverrides } from '../../runtime/config';
import { isPublicCode } from '../../runtime/errors';
import type { RunningService } from '../../runtime/lifecycle';
import { buildDemoPlan } from '../../scripts/seed/demo-plan';
import { contractOperation } from '../support/contract';
import { startTestStack, type TestStack } from '../support/test-stack';
import { waitFor } from '../support/wait-for';
import {
  TestConnection,
  webSocketUrl,
  type ConnectOptions,
  type Received,
} from '../support/ws-client';

/**
 * Issue 8 item 3: what arrives over the gateway's WebSocket meets the same limits and the
 * same error formatting as HTTP, and one client can hold only so many subscriptions and
 * sockets.
 */
const plan = buildDemoPlan();
const upcoming = plan.showtimes.filter((s) => s.startsAt.getTime() > Date.now() + 86_400_000);
const SEAT_UPDATES = contractOperation('SeatUpdates');

const codeOf = (result: Received) => result.errors?.[0]?.extensions?.code;

/** `seatUpdates { ...F0 }` where each fragment spreads the next twice: 2^levels fields. */
function fragmentChain(levels: number): string {
  let doc = 'subscription($id: ID!) { seatUpdates(showtimeId: $id) { ...F0 } }\n';
  for (let i = 0; i < levels; i++) {
    doc += `fragment F${i} on SeatUpdate { ...F${i + 1} ...F${i + 1} }\n`;
  }
  return doc + `fragment F${levels} on SeatUpdate { version }\n`;
}

/** Depth 13: seatUpdates → showtime → hall → (cinema → halls) × 4 → cinema → name. */
const DEPTH_13 = `subscription($id: ID!) { seatUpdates(showtimeId: $id) { showtime { hall {
  cinema { halls { cinema { halls { cinema { halls { cinema { halls { cinema { name } } } } } } } } }
} } } }`;

/** A bare WebSocket upgrade: the HTTP status (101 when it opened) and the refusal's body. */
function upgrade(url: string, headers: Record<string, string>) {
  return new Promise<{ status: number; body: string }>((resolve, reject) => {
    const ws = new WebSocket(url, 'graphql-transport-ws', { headers });
    ws.once('open', () => {
      ws.close();
      resolve({ status: 101, body: '' });
    });
    ws.once('unexpected-response', (_req, res) => {
      let body = '';
      res.on('data', (chunk: Buffer) => (body += chunk.toString()));
      res.on('end', () => {
        // Aborting a refused handshake reports an error: expected here.
        ws.on('error', () => undefined);
        ws.terminate();
        resolve({ status: res.statusCode ?? 0, body });
      });
    });
    ws.once('error', reject);
  });
}

describe('the gateway WebSocket', () => {
  let t: TestStack;
  const connections: TestConnection[] = [];
  const connect = (options: ConnectOptions = {}, gatewayUrl = t.gatewayUrl) => {
    const connection = new TestConnection(webSocketUrl(gatewayUrl), options);
    connections.push(connection);
    return connection;
  };

  beforeAll(async () => {
    t = await startTestStack({
      env: { WS_MAX_SUBSCRIPTIONS_PER_SOCKET: '3', WS_MAX_SOCKETS_PER_ADDRESS: '3' },
    });
  });
  afterAll(async () => {
    await Promise.all(connections.map((c) => c.close()));
    await t?.stop();
  });

  it('refuses subscriptions over the HTTP limits before opening anything upstream', async () => {
    const showtimeId = upcoming[0].id;
    const conn = connect();
    const refused = [
      // 3,000 fields: 1,500 spreads of two. (The same field 3,000 times is refused by
      // graphql-js's own validation budget.)
      conn.subscribe(
        `subscription($id: ID!) { seatUpdates(showtimeId: $id) { ${'...F '.repeat(1500)} } }
        fragment F on SeatUpdate { version showtimeId }`,
        { id: showtimeId },
      ),
      conn.subscribe(DEPTH_13, { id: showtimeId }),
      // 2^20 fields once the fragments are expanded
      conn.subscribe(fragmentChain(20), { id: showtimeId }),
    ];
    for (const sub of refused) {
      const result = await sub.next();
      expect(result.errors).toEqual([
        {
          message: expect.any(String),
          // As over HTTP, without the HTTP status Apollo would have used.
          extensions: { code: 'QUERY_TOO_COMPLEX' },
        },
      ]);
      await sub.done;
    }
    const overTokens = conn.subscribe(
      `subscription($id: ID!) { seatUpdates(showtimeId: $id) { ${'version '.repeat(6000)} } }`,
      { id: showtimeId },
    );
    expect(await overTokens.next()).toMatchObject({
      errors: [
        {
          message: expect.stringMatching(/5000 tokens/),
          extensions: { code: 'GRAPHQL_PARSE_FAILED' },
        },
      ],
    });
    // Queries over the socket meet the same limits.
    const wideQuery = conn.subscribe(
      `query($id: ID!) { showtime(id: $id) { ${'...S '.repeat(1500)} } }
      fragment S on Showtime { id format }`,
      { id: showtimeId },
    );
    expect(codeOf(await wideQuery.next())).toBe('QUERY_TOO_COMPLEX');
    expect(await t.redisSubscribers(showtimeId)).toBe(0);
  });

  it('answers queries over the socket with coded errors, and the socket stays usable', async () => {
    const showtimeId = upcoming[1].id;
    const conn = connect();
    const anonymousMe = conn.subscribe('{ me { id } }');
    expect(codeOf(await anonymousMe.next())).toBe('UNAUTHENTICATED');
    const showtime = conn.subscribe('query($id: ID!) { showtime(id: $id) { id } }', {
      id: showtimeId,
    });
    expect(await showtime.next()).toEqual({ data: { showtime: { id: showtimeId } } });
  });

  it('runs at most MAX_OPERATIONS_PER_SOCKET queries at once on one socket (RATE_LIMITED beyond)', async () => {
    const showtimeId = upcoming[1].id;
    // An address of its own (through our proxy): the sockets of 127.0.0.1 are counted.
    const conn = connect({ headers: { 'x-forwarded-for': '203.0.113.50' } });
    const query = 'query($id: ID!) { showtime(id: $id) { id } }';
    // Sent in one burst: each runs a subgraph fetch, so the first ones are still running
    // when the last arrive.
    const sent = Array.from({ length: MAX_OPERATIONS_PER_SOCKET + 4 }, () =>
      conn.subscribe(query, { id: showtimeId }),
    );
    const answers = await Promise.all(sent.map((s) => s.next()));
    const refused = answers.filter((a) => a.errors);
    expect(answers.length - refused.length).toBeGreaterThanOrEqual(MAX_OPERATIONS_PER_SOCKET);
    expect(refused.length).toBeGreaterThanOrEqual(1);
    for (const answer of refused) {
      expect(answer.errors).toEqual([
        {
          message: expect.stringContaining(`At most ${MAX_OPERATIONS_PER_SOCKET} queries`),
          extensions: { code: 'RATE_LIMITED', retryAfter: 1 },
        },
      ]);
    }
    // Answered ones make room again, on the same socket.
    expect(await conn.subscribe(query, { id: showtimeId }).next()).toEqual({
      data: { showtime: { id: showtimeId } },
    });
  });

  it('holds at most WS_MAX_SUBSCRIPTIONS_PER_SOCKET subscriptions on one socket, and keeps the socket', async () => {
    const showtime = upcoming[2];
    const seat = plan.seats.find((s) => s.hallId === showtime.hallId && !s.blocked)!;
    const conn = connect();
    const first = [0, 1, 2].map(() => conn.subscribe(SEAT_UPDATES, { showtimeId: showtime.id }));
    const fourth = conn.subscribe(SEAT_UPDATES, { showtimeId: showtime.id });
    const refused = await fourth.next();
    expect(refused.errors).toEqual([
      {
        message: expect.stringContaining('WS_MAX_SUBSCRIPTIONS_PER_SOCKET'),
        extensions: { code: 'TOO_MANY_SUBSCRIPTIONS' },
      },
    ]);

    // Completing one frees its place at once, on the same socket.
    await first[0].close();
    const fifth = conn.subscribe(SEAT_UPDATES, { showtimeId: showtime.id });
    // An operation sent after it is answered after it started: a barrier, not a wait.
    expect(await conn.subscribe('{ __typename }').next()).toEqual({
      data: { __typename: 'Query' },
    });
    await waitFor(
      async () => ((await t.redisSubscribers(showtime.id)) >= 1 ? true : undefined),
      'the upstream subscription',
    );
    const held = await t.query(
      contractOperation('HoldSeats'),
      { showtimeId: showtime.id, seatIds: [seat.id] },
      { token: t.token('user_cap') },
    );
    expect(held.errors).toBeUndefined();
    for (const sub of [first[1], first[2], fifth]) {
      expect((await sub.next()).data?.seatUpdates.seats).toEqual([
        { seatId: seat.id, status: 'HELD', heldByMe: false },
      ]);
    }
  });

  it('opens at most WS_MAX_SOCKETS_PER_ADDRESS sockets per client address (HTTP 429 beyond)', async () => {
    const url = webSocketUrl(t.gatewayUrl);
    // Behind a proxy of our own network (here 127.0.0.1) the client is the address the
    // proxy appended last; what a client writes before it is its own claim and not read.
    const from = (forwardedFor: string) => ({ 'x-forwarded-for': forwardedFor });
    const three = [
      connect({ headers: from('203.0.113.7') }),
      connect({ headers: from('198.51.100.1, 203.0.113.7') }),
      connect({ headers: from('192.0.2.1, 203.0.113.7') }),
    ];
    await Promise.all(three.map((c) => c.connected));

    const refused = await upgrade(url, from('198.51.100.2, 203.0.113.7'));
    expect(refused.status).toBe(429);
    expect(JSON.parse(refused.body)).toEqual({
      errors: [
        {
          message: expect.stringContaining('WS_MAX_SOCKETS_PER_ADDRESS'),
          extensions: { code: 'TOO_MANY_SUBSCRIPTIONS' },
        },
      ],
    });
    // Through graphql-ws the refusal ends the connection attempt.
    const alsoRefused = connect({ headers: from('203.0.113.7') });
    expect((await alsoRefused.closed).code).toBe(1006);

    // Another address has its own count.
    await connect({ headers: from('203.0.113.8') }).connected;

    // A socket that closes gives its place back (the server sees the close after the client).
    await three[0].close();
    await waitFor(
      async () => ((await upgrade(url, from('203.0.113.7'))).status === 101 ? true : undefined),
      'a free place for 203.0.113.7',
    );
  });

  describe('under load', () => {
    // The gateway's load gate, with a load signal the test sets (500 ms: saturated).
    const signal = { delayMs: 0, eventLoopDelayMs: () => signal.delayMs, stop: () => {} };
    let gateway: RunningService | undefined;
    const url = () => `http://127.0.0.1:${gateway!.port}/graphql`;
    beforeAll(async () => {
      const urls = Object.fromEntries(Object.values(t.stack.subgraphs).map((s) => [s.name, s.url]));
      gateway = await startGateway(
        withOverrides(t.config, { http: { host: '127.0.0.1', port: 0 }, subgraphUrls: urls }),
        { loadShedding: { signal, minInFlight: 0, maxInFlight: 4 } },
      );
    });
    afterAll(async () => {
      await gateway?.stop();
    });

    it('cannot leak its count by sending an operation id again while it still runs', async () => {
      const showtimeId = upcoming[4].id;
      // Never cached: each execution asks cinemas, and is still running when the next
      // message of the burst arrives.
      const query = 'query($id: ID!) { showtime(id: $id) { id availableSeats } }';
      const ws = new WebSocket(webSocketUrl(url()), 'graphql-transport-ws', {
        headers: { 'x-forwarded-for': '203.0.113.61' },
      });
      const received: { type: string; id?: string; payload?: unknown }[] = [];
      ws.on('message', (data: Buffer) => received.push(JSON.parse(data.toString())));
      await new Promise((resolve) => ws.once('open', resolve));
      ws.send(JSON.stringify({ type: 'connection_init' }));
      await waitFor(() => received.some((m) => m.type === 'connection_ack'), 'the ack');
      const message = (type: string, payload?: unknown) =>
        JSON.stringify({ type, id: 'x', ...(payload ? { payload } : {}) });
      // graphql-ws forgets "x" at each complete while its query still runs: more times than
      // the gate's cap (4), in one burst.
      for (let i = 0; i < 6; i++) {
        ws.send(message('subscribe', { query, variables: { id: showtimeId } }));
        ws.send(message('complete'));
      }
      // Every execution admitted ends, and with it its count; had a second admission of the
      // id overwritten the first, one would stay counted for good.
      const inFlight = async () => {
        const text = await (await fetch(url().replace(/\/graphql$/, '/metrics'))).text();
        const line = /^moviehub_http_requests_in_flight(?:\{[^}]*\})? (\d+)$/m.exec(text);
        return line ? Number(line[1]) : NaN;
      };
      await waitFor(async () => (await inFlight()) === 0, 'nothing left in flight', 5_000);
      ws.close();
    });

    it('refuses new queries, mutations and subscriptions over a socket as HTTP refuses requests, and admits them again once the load drops', async () => {
      const showtimeId = upcoming[4].id;
      const conn = connect({ headers: { 'x-forwarded-for': '203.0.113.60' } }, url());
      const query = 'query($id: ID!) { showtime(id: $id) { id } }';
      expect(await conn.subscribe(query, { id: showtimeId }).next()).toEqual({
        data: { showtime: { id: showtimeId } },
      });
      signal.delayMs = 500;
      try {
        const refused = {
          errors: [
            {
              message: expect.stringContaining('overloaded'),
              extensions: { code: 'SERVICE_UNAVAILABLE', retryAfter: 1 },
            },
          ],
        };
        expect(await conn.subscribe(query, { id: showtimeId }).next()).toEqual(refused);
        expect(await conn.subscribe(SEAT_UPDATES, { showtimeId }).next()).toEqual(refused);
        const http = await fetch(url(), {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify({ query, variables: { id: showtimeId } }),
        });
        expect(http.status).toBe(503);
      } finally {
        signal.delayMs = 0;
      }
      expect(await conn.subscribe(query, { id: showtimeId }).next()).toEqual({
        data: { showtime: { id: showtimeId } },
      });
    });
  });

  describe('in production', () => {
    const production = () => {
      if (!gateway) throw new Error('the production gateway did not start');
      return `http://127.0.0.1:${gateway.port}/graphql`;
    };
    let gateway: RunningService | undefined;
    beforeAll(async () => {
      const urls = Object.fromEntries(Object.values(t.stack.subgraphs).map((s) => [s.name, s.url]));
      gateway = await startGateway(
        withOverrides(t.config, {
          isProduction: true,
          http: { host: '127.0.0.1', port: 0 },
          subgraphUrls: urls,
        }),
      );
    });
    afterAll(async () => {
      await Promise.all(connections.map((c) => c.close()));
      await gateway?.stop();
    });

    /** Only registered codes, and nothing but the extensions clients are promised. */
    const expectPublic = (result: Received) => {
      expect(result.errors?.length).toBeGreaterThan(0);
      for (const error of result.errors ?? []) {
        expect(isPublicCode(error.extensions?.code)).toBe(true);
        expect(
          Object.keys(error.extensions ?? {}).filter((k) => k !== 'code' && k !== 'serviceName'),
        ).toEqual([]);
      }
    };

    it('sends only registered codes and public extensions, whatever the path', async () => {
      const showtimeId = upcoming[3].id;
      const conn = connect({}, production());
      const invalid = await conn
        .subscribe('subscription($id: ID!) { seatUpdates(showtimeId: $id) { nope } }', {
          id: showtimeId,
        })
        .next();
      expectPublic(invalid);
      expect(codeOf(invalid)).toBe('GRAPHQL_VALIDATION_FAILED');

      const deep = await conn.subscribe(DEPTH_13, { id: showtimeId }).next();
      expectPublic(deep);
      expect(codeOf(deep)).toBe('QUERY_TOO_COMPLEX');

      const anonymousMe = await conn.subscribe('{ me { id } }').next();
      expectPublic(anonymousMe);
      expect(codeOf(anonymousMe)).toBe('UNAUTHENTICATED');

      const badVariable = await conn.subscribe(SEAT_UPDATES, { showtimeId: 42.5 }).next();
      expectPublic(badVariable);
    });
  });
});

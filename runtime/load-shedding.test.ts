import express from 'express';
import type { Server } from 'node:http';
import { connect, type Socket } from 'node:net';
import { startHttpService } from './http-service';
import {
  createLoadGate,
  normalize,
  type LoadSheddingOptions,
  type LoadSignal,
} from './load-shedding';
import { createLogger } from './logger';
import { waitFor } from '../tests/support/wait-for';

/** A load signal set by hand: the test decides when the service is saturated. */
function fakeSignal(): LoadSignal & { delayMs: number; stopped: boolean } {
  const signal = {
    delayMs: 0,
    stopped: false,
    eventLoopDelayMs: () => signal.delayMs,
    stop: () => void (signal.stopped = true),
  };
  return signal;
}

const QUERY = JSON.stringify({ query: '{ ok }' });

/**
 * A service at the edge (it sheds load) with `/graphql` behind a JSON body parser, as the
 * gateway's: a request with `?hold` waits for `release()` before it answers, and `arrived()`
 * counts those waiting; `stall(n)` opens `n` connections that send a POST's headers and no
 * body, and `headers()` counts the requests whose headers the server has read.
 */
async function startEdge(
  loadShedding: LoadSheddingOptions,
  options: { audience: string; metrics?: boolean },
) {
  const held: (() => void)[] = [];
  const stalled: Socket[] = [];
  let headers = 0;
  let server!: Server;
  const release = (count = held.length) => {
    for (const answer of held.splice(held.length - count, count)) answer();
  };
  const service = await startHttpService(
    {
      name: 'edge',
      host: '127.0.0.1',
      port: 0,
      log: createLogger('edge', 'silent'),
      requestIds: 'validate',
      health: {
        internalSecret: 'load-shedding-test-secret-of-32-characters',
        audience: options.audience,
      },
      ...(options.metrics ? { metrics: { open: true } } : {}),
      loadShedding,
    },
    ({ app, httpServer }) => {
      server = httpServer;
      // After the app's own listener: the gate has seen the request.
      httpServer.on('request', () => (headers += 1));
      app.post('/graphql', express.json(), (req, res) => {
        const answer = () => void res.json({ data: { ok: true } });
        if (!('hold' in req.query)) return answer();
        held.push(answer);
      });
      return Promise.resolve({ readiness: () => ({}), value: undefined });
    },
  );
  const url = `http://127.0.0.1:${service.port}/graphql`;
  return {
    service,
    server: () => server,
    base: `http://127.0.0.1:${service.port}`,
    post: (search = '') => fetch(`${url}${search}`, { method: 'POST' }),
    graphql: (search = '') =>
      fetch(`${url}${search}`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: QUERY,
      }),
    arrived: () => held.length,
    headers: () => headers,
    /** Answers the last `count` requests held (all by default). */
    release,
    /** Sends `count` POSTs' headers announcing a JSON body of {@link QUERY}, and no body. */
    stall: (count: number, search = '') => {
      for (let i = 0; i < count; i++) {
        const socket = connect(service.port, '127.0.0.1');
        socket.on('error', () => undefined);
        socket.write(
          `POST /graphql${search} HTTP/1.1\r\nHost: edge\r\nContent-Type: application/json\r\n` +
            `Content-Length: ${Buffer.byteLength(QUERY)}\r\n\r\n`,
        );
        stalled.push(socket);
      }
    },
    /** Sends the stalled requests' bodies at last. */
    sendBodies: () => {
      for (const socket of stalled) socket.write(QUERY);
    },
    stop: async () => {
      release();
      for (const socket of stalled.splice(0)) socket.destroy();
      await service.stop();
    },
  };
}

describe('the paths the gate exempts', () => {
  it('are read as Express routes them: any case, trailing slashes ignored', () => {
    const paths = [
      '/Health',
      '/health/',
      '/HEALTH///',
      '/',
      '///',
      '',
      '/a//b/',
      '/x' + '/'.repeat(16_000) + 'y',
    ];
    // What the gate read them as before (a regular expression, quadratic in a run of slashes
    // followed by something else: ~100 ms for this last path; the loop is linear).
    const before = (path: string) => path.toLowerCase().replace(/\/+$/, '') || '/';
    expect(paths.map(normalize)).toEqual(paths.map(before));
  });
});

describe('load shedding at the edge', () => {
  const signal = fakeSignal();
  let edge: Awaited<ReturnType<typeof startEdge>>;
  let base: string;

  beforeAll(async () => {
    // A clock that stands still: no request ever looks queued here.
    edge = await startEdge(
      { signal, now: () => 0, maxEventLoopDelayMs: 100, minInFlight: 0, maxInFlight: 3 },
      { audience: 'edge', metrics: true },
    );
    base = edge.base;
  });

  afterAll(() => edge?.stop());

  const graphql = (search = '') =>
    fetch(`${base}/graphql${search}`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ query: '{ ok }' }),
    });

  const expectShed = async (res: Response) => {
    expect(res.status).toBe(503);
    expect(res.headers.get('retry-after')).toBe('1');
    expect(await res.json()).toEqual({
      errors: [
        {
          message: expect.stringContaining('overloaded'),
          extensions: { code: 'SERVICE_UNAVAILABLE', retryAfter: 1 },
        },
      ],
    });
  };

  it('admits requests while the load is under the bounds', async () => {
    const res = await graphql();
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({ data: { ok: true } });
  });

  it('refuses GraphQL requests with a coded 503 while the event loop is late, and still answers health and metrics', async () => {
    signal.delayMs = 500;
    try {
      await expectShed(await graphql());
      expect((await fetch(`${base}/health`)).status).toBe(200);
      // As Express routes it: any case, a trailing slash.
      expect((await fetch(`${base}/Ready/`)).status).toBe(200);
      // Not a way around the gate: the GraphQL route with a slash is refused as well.
      await expectShed(await graphql('/'));
      const metrics = await fetch(`${base}/metrics`);
      expect(metrics.status).toBe(200);
      expect(await metrics.text()).toMatch(
        /^moviehub_http_requests_shed_total\{reason="event_loop_delay",service="edge"\} 2$/m,
      );
    } finally {
      signal.delayMs = 0;
    }
    expect((await graphql()).status).toBe(200);
  });

  it('refuses new requests while too many are in flight, and admits again once they finish', async () => {
    const inFlight = [graphql('?hold'), graphql('?hold'), graphql('?hold')];
    await waitFor(() => edge.arrived() === 3, 'three requests in flight');
    await expectShed(await graphql());
    edge.release();
    for (const res of await Promise.all(inFlight)) expect(res.status).toBe(200);
    expect((await graphql()).status).toBe(200);
  });
});

describe('load shedding with few requests in flight', () => {
  it('does not count a late event loop as overload until minInFlight requests are in flight', async () => {
    const signal = fakeSignal();
    signal.delayMs = 10_000;
    const edge = await startEdge({ signal, now: () => 0, minInFlight: 2 }, { audience: 'edge3' });
    const { post } = edge;
    try {
      // One request alone, the event loop late: admitted.
      expect((await post()).status).toBe(200);
      const admitted = [post('?hold'), post('?hold')];
      await waitFor(() => edge.arrived() === 2, 'two requests in flight');
      expect((await post()).status).toBe(503);
      edge.release();
      for (const res of await Promise.all(admitted)) expect(res.status).toBe(200);
    } finally {
      await edge.stop();
    }
  });
});

describe('load shedding on a standing queue', () => {
  it('refuses new requests while answers are slow and none quick for the interval, and admits again once the proof is stale or a quick answer comes', async () => {
    let clock = 0;
    const edge = await startEdge(
      {
        signal: fakeSignal(),
        now: () => clock,
        minInFlight: 2,
        queueingTargetMs: 500,
        maxQueueingIntervalMs: 1000,
      },
      { audience: 'edge4' },
    );
    const { post } = edge;
    try {
      const slow = [post('?hold'), post('?hold'), post('?hold'), post('?hold')];
      await waitFor(() => edge.arrived() === 4, 'four requests in flight');
      // Four in flight, and a quick answer 900 ms later: no queue stands.
      clock = 900;
      expect((await post()).status).toBe(200);
      clock = 1900;
      expect((await post()).status).toBe(200);
      // No answer for over a second is no proof of a queue: requests may be held on purpose.
      clock = 3000;
      expect((await post()).status).toBe(200);
      // One answered 3.1 s after it arrived, and none quickly for a second: a queue stands.
      clock = 3100;
      edge.release(1);
      expect((await slow[3]).status).toBe(200);
      clock = 4001;
      const refused = await post();
      expect(refused.status).toBe(503);
      expect(await refused.json()).toMatchObject({
        errors: [{ extensions: { code: 'SERVICE_UNAVAILABLE' } }],
      });
      clock = 4100;
      expect((await post()).status).toBe(503);
      // Refusals prove nothing: once no slow answer came for the interval, the gate opens.
      clock = 4101;
      expect((await post()).status).toBe(200);
      // Another slow answer, and a second of none quick: refused again...
      clock = 4500;
      edge.release(1);
      expect((await slow[2]).status).toBe(200);
      clock = 4900;
      const quick = post('?hold');
      await waitFor(() => edge.arrived() === 3, 'a new request in flight');
      clock = 5102;
      expect((await post()).status).toBe(503);
      // ... until an admitted request is answered quickly again.
      clock = 5200;
      edge.release(1);
      expect((await quick).status).toBe(200);
      clock = 5300;
      expect((await post()).status).toBe(200);
      // The slow ones end; with nothing in flight there is no queue.
      edge.release();
      for (const res of await Promise.all(slow.slice(0, 2))) expect(res.status).toBe(200);
      expect((await post()).status).toBe(200);
    } finally {
      await edge.stop();
    }
  });
});

describe('load shedding and requests whose body has not arrived', () => {
  it('does not count them in flight: headers without a body cannot make a standing queue', async () => {
    let clock = 0;
    // The defaults: 64 in flight before a queue can be seen.
    const edge = await startEdge({ signal: fakeSignal(), now: () => clock }, { audience: 'edge5' });
    try {
      expect((await edge.graphql()).status).toBe(200);
      edge.stall(64);
      await waitFor(() => edge.headers() === 65, '64 requests without their body');
      expect((await edge.graphql()).status).toBe(200);
      // A quiet 2.5 s, then a minute: nothing of ours waits, nothing is refused.
      clock = 2500;
      expect((await edge.graphql()).status).toBe(200);
      expect((await edge.graphql()).status).toBe(200);
      clock = 62_500;
      expect((await edge.graphql()).status).toBe(200);
    } finally {
      await edge.stop();
    }
  });

  it('does not count them toward maxInFlight, and counts them once their body has arrived', async () => {
    const edge = await startEdge(
      { signal: fakeSignal(), now: () => 0, minInFlight: 0, maxInFlight: 8 },
      { audience: 'edge6' },
    );
    try {
      edge.stall(8, '?hold');
      await waitFor(() => edge.headers() === 8, 'eight requests without their body');
      expect((await edge.graphql()).status).toBe(200);
      edge.sendBodies();
      await waitFor(() => edge.arrived() === 8, 'eight requests in flight');
      expect((await edge.graphql()).status).toBe(503);
      edge.release();
      expect((await edge.graphql()).status).toBe(200);
    } finally {
      await edge.stop();
    }
  });

  it('gives a client at the edge 30 s to send its request and 15 s for its headers, idle connections 65 s', async () => {
    const edge = await startEdge({ signal: fakeSignal() }, { audience: 'edge7' });
    try {
      const server = edge.server();
      expect(server.requestTimeout).toBe(30_000);
      expect(server.headersTimeout).toBe(15_000);
      expect(server.keepAliveTimeout).toBe(65_000);
    } finally {
      await edge.stop();
    }
  });
});

describe('load shedding behind the edge', () => {
  it('is off by default for a service that trusts its callers', async () => {
    const signal = fakeSignal();
    signal.delayMs = 10_000;
    const service = await startHttpService(
      {
        name: 'inner',
        host: '127.0.0.1',
        port: 0,
        log: createLogger('inner', 'silent'),
        requestIds: 'trust',
        health: { internalSecret: 'load-shedding-test-secret-of-32-characters', audience: 'inner' },
      },
      ({ app }) => {
        app.post('/graphql', (_req, res) => void res.json({ data: { ok: true } }));
        return Promise.resolve({ readiness: () => ({}), value: undefined });
      },
    );
    try {
      const res = await fetch(`http://127.0.0.1:${service.port}/graphql`, { method: 'POST' });
      expect(res.status).toBe(200);
    } finally {
      await service.stop();
    }
  });

  it('stops its load signal with the service', async () => {
    const signal = fakeSignal();
    const edge = await startEdge({ signal }, { audience: 'edge2' });
    await edge.stop();
    expect(signal.stopped).toBe(true);
  });
});

describe('operations that do not come as HTTP requests (a WebSocket)', () => {
  const log = createLogger('gate', 'silent');

  it('are refused while a request would be, and admitted once the load drops', () => {
    const signal = fakeSignal();
    const gate = createLoadGate({ signal, now: () => 0, minInFlight: 0 }, { log });
    signal.delayMs = 500;
    expect(gate.admit()).toEqual({
      refused: true,
      message: expect.stringContaining('overloaded'),
      retryAfter: 1,
    });
    expect(gate.admit({ counted: false })).toMatchObject({ refused: true });
    signal.delayMs = 0;
    expect(gate.admit()).toMatchObject({ refused: false });
  });

  it('count in flight until done (once), toward maxInFlight; a subscription starting is checked, not counted', () => {
    const gate = createLoadGate(
      { signal: fakeSignal(), now: () => 0, minInFlight: 0, maxInFlight: 2 },
      { log },
    );
    const first = gate.admit();
    expect(gate.admit({ counted: false })).toMatchObject({ refused: false });
    expect(gate.inFlight()).toBe(1);
    const second = gate.admit();
    expect(gate.inFlight()).toBe(2);
    expect(gate.admit()).toMatchObject({ refused: true });
    expect(gate.admit({ counted: false })).toMatchObject({ refused: true });
    if (first.refused || second.refused) throw new Error('admitted above');
    first.done();
    first.done();
    expect(gate.inFlight()).toBe(1);
    expect(gate.admit()).toMatchObject({ refused: false });
  });

  it('prove a standing queue when answered slowly, as requests do', () => {
    let clock = 0;
    const gate = createLoadGate(
      {
        signal: fakeSignal(),
        now: () => clock,
        minInFlight: 1,
        queueingTargetMs: 100,
        maxQueueingIntervalMs: 1000,
      },
      { log },
    );
    const held = gate.admit();
    const slow = gate.admit();
    clock = 1500;
    if (slow.refused || held.refused) throw new Error('admitted');
    slow.done();
    expect(gate.admit()).toMatchObject({ refused: true });
  });
});

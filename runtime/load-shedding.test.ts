import { startHttpService } from './http-service';
import type { LoadSheddingOptions, LoadSignal } from './load-shedding';
import { createLogger } from './logger';
import { deferred, waitFor } from '../tests/support/wait-for';

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

/**
 * A service at the edge (it sheds load) with `/graphql`: a request with `?hold` waits for
 * `release()` before it answers, and `arrived()` counts those in flight.
 */
async function startEdge(
  loadShedding: LoadSheddingOptions,
  options: { audience: string; metrics?: boolean },
) {
  let held = deferred();
  let arrived = 0;
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
    ({ app }) => {
      app.post('/graphql', (req, res) => {
        const answer = () => res.json({ data: { ok: true } });
        if (!('hold' in req.query)) return answer();
        arrived += 1;
        void held.promise.then(answer);
      });
      return Promise.resolve({ readiness: () => ({}), value: undefined });
    },
  );
  return {
    service,
    base: `http://127.0.0.1:${service.port}`,
    post: (search = '') =>
      fetch(`http://127.0.0.1:${service.port}/graphql${search}`, { method: 'POST' }),
    arrived: () => arrived,
    /** Answers the held requests; later ones are held again. */
    release: () => {
      held.resolve();
      held = deferred();
      arrived = 0;
    },
    stop: async () => {
      held.resolve();
      await service.stop();
    },
  };
}

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
  it('refuses new requests once none has been answered quickly for the interval', async () => {
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
      const slow = [post('?hold'), post('?hold')];
      await waitFor(() => edge.arrived() === 2, 'two requests in flight');
      // Two in flight, and a quick answer 900 ms later: no queue stands.
      clock = 900;
      expect((await post()).status).toBe(200);
      clock = 1900;
      expect((await post()).status).toBe(200);
      // Nothing answered quickly for over 1 s since: refused.
      clock = 2901;
      const refused = await post();
      expect(refused.status).toBe(503);
      expect(await refused.json()).toMatchObject({
        errors: [{ extensions: { code: 'SERVICE_UNAVAILABLE' } }],
      });
      // The slow ones end; with nothing in flight there is no queue.
      edge.release();
      for (const res of await Promise.all(slow)) expect(res.status).toBe(200);
      expect((await post()).status).toBe(200);
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

import { SpanKind } from '@opentelemetry/api';
import { spawn, type ChildProcess } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { join } from 'node:path';
import type { SubgraphName } from '../../runtime/config';
import { internalReadinessHeaders } from '../../runtime/health';
import { projectRoot } from '../../runtime/paths';
import { contractOperation } from '../support/contract';
import { postGraphQL } from '../support/http-client';
import { startTestStack, type TestStack } from '../support/test-stack';
import { deferred, waitFor } from '../support/wait-for';
import { subscribe } from '../support/ws-client';
import { codeOf, createBooking, holdSeats, ok, scheduleShowtime } from './booking-kit';
import type { SpanRecord } from './traced-stack.child';

/** One series of a Prometheus text exposition. */
interface Series {
  name: string;
  labels: Record<string, string>;
  value: number;
}

/** Parses Prometheus' text format; `value` sums the series of `name` that carry `labels`. */
function parseMetrics(text: string) {
  const series: Series[] = [];
  for (const line of text.split('\n')) {
    if (line === '' || line.startsWith('#')) continue;
    const match = /^([a-zA-Z_:][\w:]*)(?:\{(.*)\})?\s+(\S+)$/.exec(line);
    if (!match) throw new Error(`Not a Prometheus sample: ${line}`);
    const labels: Record<string, string> = {};
    for (const [, name, value] of (match[2] ?? '').matchAll(/(\w+)="((?:[^"\\]|\\.)*)"/g)) {
      labels[name] = value;
    }
    series.push({ name: match[1], labels, value: Number(match[3]) });
  }
  const matching = (name: string, labels: Record<string, string>) =>
    series.filter(
      (s) => s.name === name && Object.entries(labels).every(([k, v]) => s.labels[k] === v),
    );
  return {
    series,
    has: (name: string, labels: Record<string, string> = {}) => matching(name, labels).length > 0,
    value: (name: string, labels: Record<string, string> = {}) =>
      matching(name, labels).reduce((sum, s) => sum + s.value, 0),
  };
}

type Scrape = ReturnType<typeof parseMetrics>;
type Service = 'gateway' | SubgraphName;

describe('/metrics of every service', () => {
  let t: TestStack;

  beforeAll(async () => {
    t = await startTestStack();
  }, 120_000);

  afterAll(async () => {
    await t?.stop();
  });

  const origin = (service: Service) =>
    (service === 'gateway' ? t.gatewayUrl : t.stack.subgraphs[service].url).replace(
      /\/graphql$/,
      '',
    );

  /** A service's /metrics: the gateway's open (not production), a subgraph's as the gateway. */
  async function scrape(service: Service): Promise<Scrape> {
    const res = await fetch(`${origin(service)}/metrics`, {
      headers:
        service === 'gateway' ? {} : internalReadinessHeaders(t.config.internalSecret, service),
    });
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toMatch(/^text\/plain/);
    return parseMetrics(await res.text());
  }

  /** How much `name{labels}` of `service` moved while `act` ran. */
  async function moved(
    service: Service,
    act: () => Promise<unknown>,
  ): Promise<(name: string, labels?: Record<string, string>) => number> {
    const before = await scrape(service);
    await act();
    const after = await scrape(service);
    return (name, labels = {}) => after.value(name, labels) - before.value(name, labels);
  }

  it("each service shows its own figures and Node's, under its own name", async () => {
    for (const service of ['gateway', 'users', 'movies', 'cinemas', 'bookings'] as const) {
      await scrape(service);
      const metrics = await scrape(service);
      expect(metrics.series.length).toBeGreaterThan(20);
      // One process runs all five: each /metrics still shows only its own service.
      expect(metrics.series.filter((s) => s.labels.service !== service)).toEqual([]);
      expect(metrics.value('process_cpu_user_seconds_total')).toBeGreaterThan(0);
      expect(metrics.has('nodejs_heap_size_used_bytes')).toBe(true);
      // The scrape before this one, counted once answered.
      expect(
        metrics.value('moviehub_http_requests_total', { route: '/metrics', status: '2xx' }),
      ).toBeGreaterThanOrEqual(1);
    }
  });

  it('requests, operations (errors included) and subgraph fetches move the gateway counters', async () => {
    const token = t.token('user_observed');
    const gateway = await moved('gateway', async () => {
      ok(
        await t.query(
          'query ObservedCatalog { me { id } movies(first: 2) { edges { node { id title } } } }',
          {},
          { token },
        ),
      );
      // Refused by the cinemas subgraph (NOT_FOUND): an answer with errors.
      const missing = await t.query(
        'mutation ObservedMissing($id: ID!, $seat: ID!) { holdSeats(showtimeId: $id, seatIds: [$seat]) { expiresAt } }',
        { id: randomUUID(), seat: randomUUID() },
        { token },
      );
      expect(codeOf(missing)).toBe('NOT_FOUND');
      // Refused by the gateway before anything runs.
      expect((await t.query('query ObservedInvalid { nope }')).status).toBe(400);
    });
    const operation = (name: string, type: string, result: string) =>
      gateway('moviehub_graphql_operations_total', { operation: name, type, result });
    expect(operation('ObservedCatalog', 'query', 'ok')).toBe(1);
    expect(operation('ObservedMissing', 'mutation', 'error')).toBe(1);
    expect(operation('invalid', 'invalid', 'error')).toBe(1);
    expect(
      gateway('moviehub_graphql_operation_duration_seconds_count', {
        operation: 'ObservedCatalog',
      }),
    ).toBe(1);
    expect(
      gateway('moviehub_http_requests_total', { route: '/graphql', method: 'POST', status: '2xx' }),
    ).toBe(2);
    expect(
      gateway('moviehub_http_requests_total', { route: '/graphql', method: 'POST', status: '4xx' }),
    ).toBe(1);
    expect(gateway('moviehub_http_request_duration_seconds_count', { route: '/graphql' })).toBe(3);
    for (const subgraph of ['users', 'movies']) {
      expect(
        gateway('moviehub_gateway_subgraph_requests_total', { subgraph, outcome: 'ok' }),
      ).toBeGreaterThanOrEqual(1);
    }
    expect(
      gateway('moviehub_gateway_subgraph_requests_total', {
        subgraph: 'cinemas',
        outcome: 'errors',
      }),
    ).toBe(1);
    expect(
      gateway('moviehub_gateway_subgraph_request_duration_seconds_count', { subgraph: 'cinemas' }),
    ).toBe(1);
  });

  it('the subgraphs count what they answer; a 404 is "unmatched", whatever its path', async () => {
    const movies = await moved('movies', async () => {
      ok(
        await t.query(
          '{ movies(first: 1) { edges { node { id } } } }',
          {},
          {
            token: t.token('user_observed'),
          },
        ),
      );
      expect((await fetch(`${origin('movies')}/made-up-${randomUUID()}`)).status).toBe(404);
    });
    expect(
      movies('moviehub_http_requests_total', { route: '/graphql', method: 'POST', status: '2xx' }),
    ).toBe(1);
    expect(movies('moviehub_http_requests_total', { route: 'unmatched', status: '4xx' })).toBe(1);
  });

  it('holds, bookings, payments and VNPay notifications move the cinemas and bookings counters', async () => {
    const show = await scheduleShowtime(t, { minutesAhead: 3 * 24 * 60, price: 95_000 });
    const [first, second] = show.seats.map((s) => s.seatId);
    let paymentUrl = '';
    const cinemas = await moved('cinemas', async () => {
      await holdSeats(t, 'user_obs_a', show.showtimeId, [first, second]);
      const taken = await t.query(
        contractOperation('HoldSeats'),
        { showtimeId: show.showtimeId, seatIds: [first] },
        { token: t.token('user_obs_b') },
      );
      expect(codeOf(taken)).toBe('SEAT_UNAVAILABLE');
    });
    expect(cinemas('moviehub_seat_holds_total', { outcome: 'ok' })).toBe(1);
    expect(cinemas('moviehub_seat_holds_total', { outcome: 'SEAT_UNAVAILABLE' })).toBe(1);
    expect(cinemas('moviehub_seats_held_total')).toBe(2);

    const bookings = await moved('bookings', async () => {
      const booking = ok(
        await createBooking(t, 'user_obs_a', {
          showtimeId: show.showtimeId,
          seatIds: [first, second],
        }),
      ).data!.createBooking as { id: string };
      const started = ok(
        await t.query(
          contractOperation('StartPayment'),
          { bookingId: booking.id },
          { token: t.token('user_obs_a') },
        ),
      ).data!.startPayment as { paymentUrl: string };
      paymentUrl = started.paymentUrl;
      const paid = await t.stack.vnpay!.pay(paymentUrl, 'approve');
      expect(paid.ipn?.RspCode).toBe('00');
    });
    expect(bookings('moviehub_bookings_total', { event: 'created' })).toBe(1);
    expect(bookings('moviehub_bookings_total', { event: 'confirmed' })).toBe(1);
    expect(bookings('moviehub_payments_total', { event: 'started' })).toBe(1);
    expect(bookings('moviehub_payments_total', { event: 'completed' })).toBe(1);
    expect(bookings('moviehub_payment_ipn_total', { code: '00' })).toBe(1);
  });

  it('open subscriptions and upstreams at the gateway; outbox and event stream backlogs', async () => {
    const show = await scheduleShowtime(t, { minutesAhead: 2 * 24 * 60 });
    const gauge = async (name: string) => (await scrape('gateway')).value(name);
    const subscription = subscribe(
      t.gatewayUrl,
      'subscription($id: ID!) { seatUpdates(showtimeId: $id) { version } }',
      { id: show.showtimeId },
    );
    try {
      await waitFor(
        async () => (await gauge('moviehub_gateway_subscriptions_open')) === 1,
        'the subscription to be counted',
      );
      expect(await gauge('moviehub_gateway_websockets_open')).toBe(1);
      expect(await gauge('moviehub_gateway_upstream_subscriptions_open')).toBe(1);
      expect(await gauge('moviehub_gateway_upstream_connections_open')).toBe(1);
    } finally {
      await subscription.close();
    }
    await waitFor(
      async () =>
        (await gauge('moviehub_gateway_subscriptions_open')) === 0 &&
        (await gauge('moviehub_gateway_upstream_connections_open')) === 0,
      'the subscription and its upstream to be gone',
    );

    const bookings = await scrape('bookings');
    for (const outbox of ['events', 'mail']) {
      expect(bookings.has('moviehub_outbox_pending', { outbox })).toBe(true);
      expect(bookings.has('moviehub_outbox_oldest_pending_seconds', { outbox })).toBe(true);
    }
    // Each consumer group is reported by the service that consumes it.
    const cinemas = await scrape('cinemas');
    for (const name of ['moviehub_event_stream_pending', 'moviehub_event_stream_lag']) {
      expect(cinemas.has(name, { stream: 'bookings', group: 'cinemas-seat-reservations' })).toBe(
        true,
      );
    }
    expect(
      (await scrape('movies')).has('moviehub_event_stream_pending', { group: 'movies-showings' }),
    ).toBe(true);
    expect(cinemas.value('moviehub_metric_sample_failures_total')).toBe(0);
  });

  it('operation names past the first 200 share "other": no client grows the series without bound', async () => {
    const names = Array.from({ length: 210 }, (_, i) => `Flood${i}`);
    for (let i = 0; i < names.length; i += 30) {
      await Promise.all(
        names
          .slice(i, i + 30)
          .map(async (name) => ok(await t.query(`query ${name} { __typename }`))),
      );
    }
    const metrics = await scrape('gateway');
    const queries = metrics.series.filter(
      (s) => s.name === 'moviehub_graphql_operations_total' && s.labels.type === 'query',
    );
    expect(new Set(queries.map((s) => s.labels.operation)).size).toBeLessThanOrEqual(201);
    expect(
      metrics.value('moviehub_graphql_operations_total', { operation: 'other' }),
    ).toBeGreaterThan(0);
  });
});

/**
 * Compiles TypeScript as Jest does (@swc/core with the project's .swcrc), for the child
 * process, which runs outside Jest.
 */
const TYPESCRIPT_HOOK = `
const { transformSync } = require('@swc/core');
const { readFileSync } = require('node:fs');
require.extensions['.ts'] = (module, filename) => {
  const { code } = transformSync(readFileSync(filename, 'utf8'), { filename, swcrc: true });
  module._compile(code, filename);
};
require(process.argv[1]);
`;

describe('traces', () => {
  let child: ChildProcess;
  let output = '';
  let exited: Promise<unknown>;
  const stack: { gatewayUrl?: string; token?: string } = {};
  /** The child's next message of each type. */
  const waiting = new Map<string, ReturnType<typeof deferred<Record<string, any>>>>();
  const next = (type: string) => {
    const message = deferred<Record<string, any>>();
    waiting.set(type, message);
    return message;
  };

  beforeAll(async () => {
    const ready = next('ready');
    child = spawn(
      process.execPath,
      ['-e', TYPESCRIPT_HOOK, join(__dirname, 'traced-stack.child.ts')],
      { cwd: projectRoot(), stdio: ['ignore', 'pipe', 'pipe', 'ipc'] },
    );
    child.stdout!.on('data', (chunk: Buffer) => (output += chunk.toString()));
    child.stderr!.on('data', (chunk: Buffer) => (output += chunk.toString()));
    child.on('message', (message: { type: string }) => waiting.get(message.type)?.resolve(message));
    exited = new Promise((resolve) => child.once('exit', resolve));
    void exited.then(() => ready.resolve({ failed: output }));
    const started = await ready.wait('the traced stack to start', 110_000);
    if (started.failed !== undefined) throw new Error(`The traced stack failed:\n${output}`);
    Object.assign(stack, started);
  }, 120_000);

  afterAll(async () => {
    if (child?.exitCode === null && child.connected) child.send({ type: 'stop' });
    await exited;
  }, 30_000);

  async function finishedSpans(): Promise<SpanRecord[]> {
    const answer = next('spans');
    child.send({ type: 'spans' });
    return (await answer.wait('the spans')).spans as SpanRecord[];
  }

  it('one trace crosses the gateway, a subgraph and PostgreSQL', async () => {
    const res = await postGraphQL(
      stack.gatewayUrl!,
      'query TracedMe { me { id } }',
      {},
      {
        token: stack.token,
      },
    );
    expect(res.errors).toBeUndefined();

    const gatewaySpan = (spans: SpanRecord[]) =>
      spans.find(
        (s) =>
          s.kind === SpanKind.SERVER &&
          s.attributes['moviehub.service'] === 'gateway' &&
          s.attributes['graphql.operation.name'] === 'TracedMe',
      );
    // The gateway's span ends last, with its answer.
    const all = await waitFor(async () => {
      const finished = await finishedSpans();
      return gatewaySpan(finished) && finished;
    }, "the gateway request's span");
    const root = gatewaySpan(all)!;
    const spans = all.filter((s) => s.traceId === root.traceId);
    const byId = new Map(spans.map((s) => [s.spanId, s]));
    const ancestors = (span: SpanRecord): SpanRecord[] => {
      const chain: SpanRecord[] = [];
      for (let at = byId.get(span.parentSpanId ?? ''); at; at = byId.get(at.parentSpanId ?? '')) {
        chain.push(at);
      }
      return chain;
    };

    // The gateway's fetch to the users subgraph carried the trace (traceparent) ...
    const users = spans.find(
      (s) => s.kind === SpanKind.SERVER && s.attributes['moviehub.service'] === 'users',
    );
    expect(users).toBeDefined();
    expect(byId.get(users!.parentSpanId!)?.kind).toBe(SpanKind.CLIENT);
    expect(ancestors(users!)).toContain(root);
    // ... and the subgraph's GraphQL execution and PostgreSQL queries hang under it.
    const queries = spans.filter((s) => s.scope === '@opentelemetry/instrumentation-pg');
    expect(queries.length).toBeGreaterThan(0);
    for (const query of queries) expect(ancestors(query)).toContain(users);
    expect(
      spans.some(
        (s) =>
          s.scope === '@opentelemetry/instrumentation-graphql' && ancestors(s).includes(users!),
      ),
    ).toBe(true);
    // Traces start where requests come in: work outside any request (building schemas at
    // start, pollers) starts none of its own.
    expect(all.filter((s) => !s.parentSpanId && s.kind !== SpanKind.SERVER)).toEqual([]);
  });
});

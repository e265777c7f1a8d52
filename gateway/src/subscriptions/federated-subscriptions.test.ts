import { composeServices } from '@apollo/composition';
import { RemoteGraphQLDataSource, type GraphQLDataSourceProcessOptions } from '@apollo/gateway';
import { ApolloServer } from '@apollo/server';
import { ApolloServerPluginDrainHttpServer } from '@apollo/server/plugin/drainHttpServer';
import { ApolloServerPluginInlineTraceDisabled } from '@apollo/server/plugin/disabled';
import { buildSubgraphSchema } from '@apollo/subgraph';
import { expressMiddleware } from '@as-integrations/express5';
import express from 'express';
import { parse, type ExecutionResult, type GraphQLSchema } from 'graphql';
import gql from 'graphql-tag';
import { useServer } from 'graphql-ws/use/ws';
import { createServer, type Server } from 'node:http';
import { createServer as createTcpServer, connect, type AddressInfo, type Socket } from 'node:net';
import { WebSocketServer } from 'ws';
import {
  FederatedSubscriptions,
  type FederatedSubscriptionsOptions,
} from './federated-subscriptions';

/** What the tests' gateway knows about a caller. */
interface TestContext {
  readonly user: string;
}

interface TickPayload {
  readonly n: number;
  readonly itemId: string;
  readonly fail?: boolean;
}

/**
 * In-memory pub/sub the test drives. A listener exists from the moment the subgraph's resolver
 * asks for the iterator, so `until(count === 1)` means "the upstream subscription is live".
 */
class TestPubSub<T> {
  private readonly channels = new Map<string, Set<Listener<T>>>();
  private readonly watchers = new Set<() => void>();

  subscribe(channel: string): AsyncIterableIterator<T> {
    const listeners = this.channels.get(channel) ?? new Set<Listener<T>>();
    this.channels.set(channel, listeners);
    const listener = new Listener<T>(() => {
      listeners.delete(listener);
      this.changed();
    });
    listeners.add(listener);
    this.changed();
    return listener;
  }

  publish(channel: string, value: T): void {
    for (const listener of this.channels.get(channel) ?? []) listener.push(value);
  }

  /** Ends every subscription on the channel (the source stream completes). */
  end(channel: string): void {
    for (const listener of [...(this.channels.get(channel) ?? [])]) listener.end();
  }

  count(channel: string): number {
    return this.channels.get(channel)?.size ?? 0;
  }

  /** Resolves once `predicate` holds (checked now and on every subscribe/unsubscribe). */
  until(predicate: () => boolean): Promise<void> {
    if (predicate()) return Promise.resolve();
    return new Promise((resolve) => {
      const check = () => {
        if (!predicate()) return;
        this.watchers.delete(check);
        resolve();
      };
      this.watchers.add(check);
    });
  }

  private changed(): void {
    for (const watcher of [...this.watchers]) watcher();
  }
}

class Listener<T> implements AsyncIterableIterator<T> {
  private readonly queue: T[] = [];
  private waiting: ((result: IteratorResult<T>) => void) | undefined;
  private done = false;

  constructor(private readonly onClose: () => void) {}

  push(value: T): void {
    if (this.waiting) {
      const waiting = this.waiting;
      this.waiting = undefined;
      waiting({ done: false, value });
    } else {
      this.queue.push(value);
    }
  }

  end(): void {
    this.finish();
  }

  next(): Promise<IteratorResult<T>> {
    const value = this.queue.shift();
    if (value !== undefined) return Promise.resolve({ done: false, value });
    if (this.done) return Promise.resolve({ done: true, value: undefined });
    return new Promise((resolve) => (this.waiting = resolve));
  }

  async return(): Promise<IteratorResult<T>> {
    this.finish();
    return { done: true, value: undefined };
  }

  [Symbol.asyncIterator](): this {
    return this;
  }

  private finish(): void {
    if (this.done) return;
    this.done = true;
    this.onClose();
    const waiting = this.waiting;
    this.waiting = undefined;
    waiting?.({ done: true, value: undefined });
  }
}

const pubsub = new TestPubSub<TickPayload>();

const subgraphA = {
  typeDefs: gql`
    extend schema @link(url: "https://specs.apollo.dev/federation/v2.3", import: ["@key"])

    type Query {
      ping: String
    }

    type Subscription {
      ticks(channel: ID!): Tick!
    }

    type Tick {
      n: Int!
      item: Item!
      "Who the subgraph thinks is subscribed: from the upstream connection's headers."
      seenBy: String
      note: String
      label(prefix: String!): String
    }

    type Item @key(fields: "id", resolvable: false) {
      id: ID!
    }
  `,
  resolvers: {
    Query: { ping: () => 'pong' },
    Subscription: {
      ticks: {
        subscribe: (_: unknown, { channel }: { channel: string }) => pubsub.subscribe(channel),
        resolve: (payload: TickPayload) => payload,
      },
    },
    Tick: {
      item: (tick: TickPayload) => ({ id: tick.itemId }),
      seenBy: (_: TickPayload, __: unknown, context: { user: string | null }) => context.user,
      note: (tick: TickPayload) => {
        if (tick.fail) throw new Error('note is broken for this tick');
        return `tick ${tick.n}`;
      },
      label: (tick: TickPayload, { prefix }: { prefix: string }) => `${prefix} ${tick.n}`,
    },
  },
};

const subgraphB = {
  typeDefs: gql`
    extend schema @link(url: "https://specs.apollo.dev/federation/v2.3", import: ["@key"])

    type Item @key(fields: "id") {
      id: ID!
      name: String!
      "Per caller: from the gateway's request headers."
      viewerTag: String
    }
  `,
  resolvers: {
    Item: {
      // A caller the subgraph knows nothing about gets no item at all.
      __resolveReference: ({ id }: { id: string }, context: { user: string | null }) =>
        context.user === 'stranger' ? null : { id, name: `Item ${id}` },
      viewerTag: (_: unknown, __: unknown, context: { user: string | null }) =>
        context.user ? `seen by ${context.user}` : null,
    },
  },
};

interface RunningSubgraph {
  readonly url: string;
  readonly wsUrl: string;
  stop(): Promise<void>;
}

function userOf(header: string | string[] | undefined): string | null {
  return typeof header === 'string' ? header : null;
}

/** A subgraph on port 0: HTTP for queries and `_entities`, optionally graphql-ws as well. */
async function startSubgraph(
  schema: GraphQLSchema,
  withWebSocket: boolean,
): Promise<RunningSubgraph> {
  const app = express();
  const httpServer: Server = createServer(app);
  const apollo = new ApolloServer({
    schema,
    plugins: [
      ApolloServerPluginDrainHttpServer({ httpServer }),
      ApolloServerPluginInlineTraceDisabled(),
    ],
  });
  await apollo.start();
  app.use(
    '/graphql',
    express.json(),
    expressMiddleware(apollo, {
      context: async ({ req }) => ({ user: userOf(req.headers['x-user']) }),
    }),
  );
  const wsServer = withWebSocket
    ? new WebSocketServer({ server: httpServer, path: '/graphql' })
    : undefined;
  const wsHandler = wsServer
    ? useServer(
        { schema, context: (ctx) => ({ user: userOf(ctx.extra.request.headers['x-user']) }) },
        wsServer,
      )
    : undefined;
  await new Promise<void>((resolve) => httpServer.listen(0, '127.0.0.1', resolve));
  const { port } = httpServer.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}/graphql`,
    wsUrl: `ws://127.0.0.1:${port}/graphql`,
    stop: async () => {
      await wsHandler?.dispose();
      if (wsServer) await new Promise<void>((resolve) => wsServer.close(() => resolve()));
      await apollo.stop();
    },
  };
}

/** The gateway's data source: forwards the caller as `x-user`, like a signed identity header. */
class UserDataSource extends RemoteGraphQLDataSource<TestContext> {
  override willSendRequest({ request, context }: GraphQLDataSourceProcessOptions<TestContext>) {
    if (context.user) request.http?.headers.set('x-user', context.user);
  }
}

/** Iterators a test opened: returned after each test, so one failure does not leak into others. */
const opened = new Set<AsyncIterableIterator<ExecutionResult>>();

function iteratorOf(
  result: AsyncIterableIterator<ExecutionResult> | ExecutionResult,
): AsyncIterableIterator<ExecutionResult> {
  if (!(Symbol.asyncIterator in result)) {
    throw new Error(`expected a subscription, got ${JSON.stringify(result)}`);
  }
  opened.add(result);
  return result;
}

function singleResult(
  result: AsyncIterableIterator<ExecutionResult> | ExecutionResult,
): ExecutionResult {
  if (Symbol.asyncIterator in result) throw new Error('expected a single result');
  return result;
}

/**
 * A TCP proxy between the gateway and a subgraph, to break the path the ways networks do:
 * `silence()` (connections stay open, nothing passes: a dead peer nobody is told about) and
 * `cut()` (connections reset, nothing listens any more).
 */
class TcpProxy {
  private readonly pairs = new Set<{ client: Socket; upstream: Socket; silent: boolean }>();
  private readonly server = createTcpServer((client) => {
    const upstream = connect(this.targetPort, '127.0.0.1');
    const pair = { client, upstream, silent: false };
    this.pairs.add(pair);
    client.on('data', (chunk) => void (pair.silent || upstream.write(chunk)));
    upstream.on('data', (chunk) => void (pair.silent || client.write(chunk)));
    const close = () => {
      if (pair.silent) return;
      this.pairs.delete(pair);
      client.destroy();
      upstream.destroy();
    };
    client.on('close', close).on('error', close);
    upstream.on('close', close).on('error', close);
  });

  private constructor(private readonly targetPort: number) {}

  static async start(targetUrl: string): Promise<TcpProxy> {
    const proxy = new TcpProxy(Number(new URL(targetUrl).port));
    await new Promise<void>((resolve) => proxy.server.listen(0, '127.0.0.1', resolve));
    return proxy;
  }

  get wsUrl(): string {
    return `ws://127.0.0.1:${(this.server.address() as AddressInfo).port}/graphql`;
  }

  /** Open connections go silent; new ones pass (the route changed, the old one died). */
  silence(): void {
    for (const pair of this.pairs) pair.silent = true;
  }

  /** Resets every connection and stops listening: reconnecting is refused. */
  async cut(): Promise<void> {
    const closed = new Promise<void>((resolve) => this.server.close(() => resolve()));
    for (const pair of this.pairs) {
      pair.client.destroy();
      pair.upstream.destroy();
    }
    this.pairs.clear();
    await closed;
  }
}

/** A logger that keeps what it is told, for the tests to read instead of the console. */
function recordingLogger() {
  const lines: string[] = [];
  const record = (message: unknown) => void lines.push(String(message));
  return { lines, debug: record, info: record, warn: record, error: record };
}

/** A port nothing listens on. */
async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

const TICKS = parse(`
  subscription Ticks($channel: ID!) {
    ticks(channel: $channel) {
      n
      item {
        id
        name
      }
    }
  }
`);

describe('FederatedSubscriptions', () => {
  let a: RunningSubgraph;
  let b: RunningSubgraph;
  let supergraphSdl: string;
  let serviceMap: Record<string, UserDataSource>;
  let subscriptions: FederatedSubscriptions<TestContext>;
  const extraInstances: FederatedSubscriptions<TestContext>[] = [];
  const proxies: TcpProxy[] = [];
  const log = recordingLogger();

  function newInstance(
    options: Partial<FederatedSubscriptionsOptions<TestContext>> = {},
  ): FederatedSubscriptions<TestContext> {
    const instance = new FederatedSubscriptions<TestContext>({
      supergraphSdl,
      serviceMap,
      subscriptionUrl: () => a.wsUrl,
      upstreamHeaders: (context) => ({ 'x-user': context.user }),
      logger: log,
      ...options,
    });
    extraInstances.push(instance);
    return instance;
  }

  beforeAll(async () => {
    a = await startSubgraph(buildSubgraphSchema([subgraphA]), true);
    b = await startSubgraph(buildSubgraphSchema([subgraphB]), false);
    const composed = composeServices([
      { name: 'a', url: a.url, typeDefs: subgraphA.typeDefs },
      { name: 'b', url: b.url, typeDefs: subgraphB.typeDefs },
    ]);
    if (composed.errors) throw new Error(composed.errors.map((e) => e.message).join('\n'));
    supergraphSdl = composed.supergraphSdl;
    serviceMap = {
      a: new UserDataSource({ url: a.url }),
      b: new UserDataSource({ url: b.url }),
    };
    subscriptions = new FederatedSubscriptions<TestContext>({
      supergraphSdl,
      serviceMap,
      subscriptionUrl: (serviceName) => {
        if (serviceName !== 'a') throw new Error(`no subscriptions on ${serviceName}`);
        return a.wsUrl;
      },
      upstreamHeaders: (context) => ({ 'x-user': context.user }),
      logger: log,
    });
  });

  afterEach(async () => {
    await Promise.all([...opened].map((iterator) => iterator.return?.()));
    opened.clear();
  });

  afterAll(async () => {
    await subscriptions?.dispose();
    await Promise.all(extraInstances.map((instance) => instance.dispose()));
    await Promise.all(proxies.map((proxy) => proxy.cut()));
    await a?.stop();
    await b?.stop();
  });

  it('resolves fields of another subgraph on every event', async () => {
    const ticks = iteratorOf(
      await subscriptions.subscribe({
        document: parse(
          'subscription { ticks(channel: "x") { n seenBy item { id name viewerTag } } }',
        ),
        variables: {},
        context: { user: 'u1' },
      }),
    );
    const first = ticks.next();
    await pubsub.until(() => pubsub.count('x') === 1);

    pubsub.publish('x', { n: 1, itemId: 'i1' });
    pubsub.publish('x', { n: 2, itemId: 'i2' });

    expect(await first).toEqual({
      done: false,
      value: {
        data: {
          ticks: {
            n: 1,
            seenBy: 'u1',
            item: { id: 'i1', name: 'Item i1', viewerTag: 'seen by u1' },
          },
        },
      },
    });
    expect(await ticks.next()).toEqual({
      done: false,
      value: {
        data: {
          ticks: {
            n: 2,
            seenBy: 'u1',
            item: { id: 'i2', name: 'Item i2', viewerTag: 'seen by u1' },
          },
        },
      },
    });

    await ticks.return?.();
    expect(subscriptions.activeUpstreamCount()).toBe(0);
    await pubsub.until(() => pubsub.count('x') === 0);
  });

  it('shares one upstream subscription between identical subscribers until the last leaves', async () => {
    const subscribe = (user: string) =>
      subscriptions.subscribe({
        document: parse('subscription { ticks(channel: "shared") { n item { name viewerTag } } }'),
        variables: {},
        context: { user },
      });
    const one = iteratorOf(await subscribe('u1'));
    const two = iteratorOf(await subscribe('u2'));
    expect(subscriptions.activeUpstreamCount()).toBe(1);

    const oneFirst = one.next();
    const twoFirst = two.next();
    await pubsub.until(() => pubsub.count('shared') === 1);
    pubsub.publish('shared', { n: 1, itemId: 'i1' });
    pubsub.publish('shared', { n: 2, itemId: 'i2' });

    // Both get every event; fields of other subgraphs are fetched with each one's own context.
    const tick = (n: number, user: string) => ({
      done: false,
      value: {
        data: { ticks: { n, item: { name: `Item i${n}`, viewerTag: `seen by ${user}` } } },
      },
    });
    expect(await oneFirst).toEqual(tick(1, 'u1'));
    expect(await twoFirst).toEqual(tick(1, 'u2'));
    expect(await one.next()).toEqual(tick(2, 'u1'));
    expect(await two.next()).toEqual(tick(2, 'u2'));
    expect(pubsub.count('shared')).toBe(1);

    await one.return?.();
    expect(subscriptions.activeUpstreamCount()).toBe(1);
    const twoThird = two.next();
    pubsub.publish('shared', { n: 3, itemId: 'i3' });
    expect(await twoThird).toEqual(tick(3, 'u2'));
    expect(await one.next()).toEqual({ done: true, value: undefined });

    await two.return?.();
    expect(subscriptions.activeUpstreamCount()).toBe(0);
    // The subgraph sees the subscription closed: its source stream was returned.
    await pubsub.until(() => pubsub.count('shared') === 0);
    expect(await two.next()).toEqual({ done: true, value: undefined });
  });

  it("carries no subscriber's fields into another's result from a shared event", async () => {
    const subscribe = (user: string) =>
      subscriptions.subscribe({
        document: parse('subscription { ticks(channel: "isolated") { n item { viewerTag } } }'),
        context: { user },
      });
    const known = iteratorOf(await subscribe('u1'));
    const stranger = iteratorOf(await subscribe('stranger'));
    expect(subscriptions.activeUpstreamCount()).toBe(1);

    const knownFirst = known.next();
    await pubsub.until(() => pubsub.count('isolated') === 1);
    pubsub.publish('isolated', { n: 1, itemId: 'i1' });
    expect(await knownFirst).toEqual({
      done: false,
      value: { data: { ticks: { n: 1, item: { viewerTag: 'seen by u1' } } } },
    });
    // Executed only now, after u1's entity data was merged into u1's copy of the same event.
    expect(await stranger.next()).toEqual({
      done: false,
      value: { data: { ticks: { n: 1, item: { viewerTag: null } } } },
    });

    await Promise.all([known.return?.(), stranger.return?.()]);
    await pubsub.until(() => pubsub.count('isolated') === 0);
  });

  it('keeps subscribers apart whose shareKey differs, each upstream with its own headers', async () => {
    const perUser = newInstance({ shareKey: (context) => context.user });
    const subscribe = (user: string) =>
      perUser.subscribe({
        document: TICKS,
        variables: { channel: 'per-user' },
        context: { user },
      });
    const one = iteratorOf(await subscribe('u1'));
    const two = iteratorOf(await subscribe('u2'));
    const oneAgain = iteratorOf(await subscribe('u1'));
    expect(perUser.activeUpstreamCount()).toBe(2);

    const nexts = [one.next(), two.next(), oneAgain.next()];
    await pubsub.until(() => pubsub.count('per-user') === 2);
    pubsub.publish('per-user', { n: 7, itemId: 'i7' });
    const results = await Promise.all(nexts);
    for (const result of results) {
      expect(result).toEqual({
        done: false,
        value: { data: { ticks: { n: 7, item: { id: 'i7', name: 'Item i7' } } } },
      });
    }

    // seenBy is computed by the subscription's own subgraph from the upstream headers.
    const seen = iteratorOf(
      await perUser.subscribe({
        document: parse('subscription { ticks(channel: "per-user-2") { seenBy } }'),
        context: { user: 'u2' },
      }),
    );
    const seenFirst = seen.next();
    await pubsub.until(() => pubsub.count('per-user-2') === 1);
    pubsub.publish('per-user-2', { n: 1, itemId: 'i1' });
    expect(await seenFirst).toEqual({ done: false, value: { data: { ticks: { seenBy: 'u2' } } } });

    await Promise.all([one, two, oneAgain, seen].map((iterator) => iterator.return?.()));
    expect(perUser.activeUpstreamCount()).toBe(0);
    await pubsub.until(() => pubsub.count('per-user') + pubsub.count('per-user-2') === 0);
  });

  it('forwards per-event errors of the subscription subgraph with the data it sent', async () => {
    const ticks = iteratorOf(
      await subscriptions.subscribe({
        document: parse('subscription { ticks(channel: "errors") { n note item { name } } }'),
        context: { user: 'u1' },
      }),
    );
    const first = ticks.next();
    await pubsub.until(() => pubsub.count('errors') === 1);
    pubsub.publish('errors', { n: 1, itemId: 'i1', fail: true });

    const { value } = await first;
    expect(value?.data).toEqual({ ticks: { n: 1, note: null, item: { name: 'Item i1' } } });
    expect(value?.errors).toHaveLength(1);
    expect(value?.errors?.[0]?.message).toBe('note is broken for this tick');
    expect(value?.errors?.[0]?.path).toEqual(['ticks', 'note']);
    expect(value?.errors?.[0]?.extensions).toMatchObject({ serviceName: 'a' });

    await ticks.return?.();
    await pubsub.until(() => pubsub.count('errors') === 0);
  });

  it('ends the iterator when the upstream subscription completes', async () => {
    const ticks = iteratorOf(
      await subscriptions.subscribe({
        document: TICKS,
        variables: { channel: 'ending' },
        context: { user: 'u1' },
      }),
    );
    const first = ticks.next();
    await pubsub.until(() => pubsub.count('ending') === 1);
    pubsub.publish('ending', { n: 1, itemId: 'i1' });
    pubsub.end('ending');

    expect((await first).value?.data).toEqual({
      ticks: { n: 1, item: { id: 'i1', name: 'Item i1' } },
    });
    expect(await ticks.next()).toEqual({ done: true, value: undefined });
    expect(subscriptions.activeUpstreamCount()).toBe(0);
  });

  it('drops a subscriber that does not pull its events, freeing the upstream', async () => {
    const small = newInstance({ maxBufferedEvents: 2 });
    const ticks = iteratorOf(
      await small.subscribe({
        document: TICKS,
        variables: { channel: 'slow' },
        context: { user: 'u1' },
      }),
    );
    await pubsub.until(() => pubsub.count('slow') === 1);
    for (const n of [1, 2, 3]) pubsub.publish('slow', { n, itemId: `i${n}` });
    // The third event overflows the buffer: the subscriber is detached, the upstream completed.
    await pubsub.until(() => pubsub.count('slow') === 0);
    expect(small.activeUpstreamCount()).toBe(0);

    const { value } = await ticks.next();
    expect(value?.errors?.[0]?.extensions.code).toBe('SUBSCRIPTION_BUFFER_OVERFLOW');
    expect(await ticks.next()).toEqual({ done: true, value: undefined });
  });

  it('ends every subscription and closes upstreams on dispose()', async () => {
    const instance = newInstance();
    const ticks = iteratorOf(
      await instance.subscribe({
        document: TICKS,
        variables: { channel: 'dispose' },
        context: { user: 'u1' },
      }),
    );
    const first = ticks.next();
    await pubsub.until(() => pubsub.count('dispose') === 1);

    await instance.dispose();
    expect(await first).toEqual({ done: true, value: undefined });
    expect(instance.activeUpstreamCount()).toBe(0);
    await pubsub.until(() => pubsub.count('dispose') === 0);
    const late = singleResult(
      await instance.subscribe({
        document: TICKS,
        variables: { channel: 'dispose' },
        context: { user: 'u1' },
      }),
    );
    expect(late.errors?.[0]?.extensions.code).toBe('SERVICE_UNAVAILABLE');
  });

  it('rejects invalid operations without opening anything', async () => {
    const invalid = singleResult(
      await subscriptions.subscribe({
        document: parse('subscription { ticks(channel: "x") { n nope } }'),
        context: { user: 'u1' },
      }),
    );
    expect(invalid.errors?.length).toBeGreaterThan(0);
    expect(invalid.errors?.[0]?.message).toMatch(/nope/);
    expect(invalid.errors?.map((e) => e.extensions.code)).toEqual(
      invalid.errors?.map(() => 'GRAPHQL_VALIDATION_FAILED'),
    );

    const missingVariable = singleResult(
      await subscriptions.subscribe({ document: TICKS, context: { user: 'u1' } }),
    );
    expect(missingVariable.errors?.[0]?.extensions.code).toBe('BAD_USER_INPUT');

    const query = singleResult(
      await subscriptions.subscribe({ document: parse('{ ping }'), context: { user: 'u1' } }),
    );
    expect(query.errors?.[0]?.extensions.code).toBe('BAD_REQUEST');

    expect(subscriptions.activeUpstreamCount()).toBe(0);
  });

  it('turns an unreachable subscription subgraph into an error result', async () => {
    const port = await closedPort();
    const down = newInstance({ subscriptionUrl: () => `ws://127.0.0.1:${port}/graphql` });
    const ticks = iteratorOf(
      await down.subscribe({
        document: TICKS,
        variables: { channel: 'down' },
        context: { user: 'u1' },
      }),
    );

    const { done, value } = await ticks.next();
    expect(done).toBe(false);
    expect(value?.data).toBeUndefined();
    expect(value?.errors?.[0]?.extensions).toEqual({
      code: 'SERVICE_UNAVAILABLE',
      serviceName: 'a',
    });
    // Where the subgraph lives is for the log, not for clients.
    expect(value?.errors?.[0]?.message).toBe('Subscription to service "a" failed');
    expect(log.lines.some((line) => line.includes(`127.0.0.1:${port}`))).toBe(true);
    expect(await ticks.next()).toEqual({ done: true, value: undefined });
    expect(down.activeUpstreamCount()).toBe(0);
  });

  it('shares one upstream whatever the aliases and variable names, each subscriber in its own shape', async () => {
    const first = iteratorOf(
      await subscriptions.subscribe({
        document: parse(`subscription($channel: ID!) {
          ticks(channel: $channel) {
            n
            short: label(prefix: "s")
            other: label(prefix: "long")
            item { id name }
          }
        }`),
        variables: { channel: 'aliases' },
        context: { user: 'u1' },
      }),
    );
    const second = iteratorOf(
      await subscriptions.subscribe({
        document: parse(`subscription Renamed($c: ID!) {
          mine: ticks(channel: $c) {
            number: n
            ...Labels
            thing: item { name ident: id }
          }
        }
        fragment Labels on Tick { tag: label(prefix: "s") long: label(prefix: "long") n }`),
        variables: { c: 'aliases' },
        context: { user: 'u2' },
      }),
    );
    expect(subscriptions.activeUpstreamCount()).toBe(1);

    const firstNext = first.next();
    const secondNext = second.next();
    await pubsub.until(() => pubsub.count('aliases') === 1);
    pubsub.publish('aliases', { n: 4, itemId: 'i4' });
    expect(await firstNext).toEqual({
      done: false,
      value: {
        data: {
          ticks: { n: 4, short: 's 4', other: 'long 4', item: { id: 'i4', name: 'Item i4' } },
        },
      },
    });
    expect(await secondNext).toEqual({
      done: false,
      value: {
        data: {
          mine: {
            number: 4,
            tag: 's 4',
            long: 'long 4',
            n: 4,
            thing: { name: 'Item i4', ident: 'i4' },
          },
        },
      },
    });

    await Promise.all([first.return?.(), second.return?.()]);
    expect(subscriptions.activeUpstreamCount()).toBe(0);
    await pubsub.until(() => pubsub.count('aliases') === 0);
  });

  it('notices a silent upstream through its pings, tells the subscribers, reconnects and resubscribes', async () => {
    const proxy = await TcpProxy.start(a.url);
    proxies.push(proxy);
    const watched = newInstance({
      subscriptionUrl: () => proxy.wsUrl,
      keepAlive: 100,
      retryAttempts: 3,
      retryWait: async () => undefined,
    });
    const ticks = iteratorOf(
      await watched.subscribe({
        document: TICKS,
        variables: { channel: 'silent' },
        context: { user: 'u1' },
      }),
    );
    const first = ticks.next();
    await pubsub.until(() => pubsub.count('silent') === 1);
    pubsub.publish('silent', { n: 1, itemId: 'i1' });
    expect((await first).value?.data).toEqual({
      ticks: { n: 1, item: { id: 'i1', name: 'Item i1' } },
    });

    // Nothing passes any more and nothing is closed: only an unanswered ping can tell.
    proxy.silence();
    const notice = await ticks.next();
    expect(notice.done).toBe(false);
    expect(notice.value?.data).toBeUndefined();
    expect(notice.value?.errors?.[0]?.extensions).toEqual({
      code: 'SERVICE_UNAVAILABLE',
      serviceName: 'a',
    });
    expect(notice.value?.errors?.[0]?.message).toMatch(/fetch the current state again/);

    // Resubscribed on a new connection (the silent one's subscription still counts upstream).
    await pubsub.until(() => pubsub.count('silent') === 2);
    const second = ticks.next();
    pubsub.publish('silent', { n: 2, itemId: 'i2' });
    expect((await second).value?.data).toEqual({
      ticks: { n: 2, item: { id: 'i2', name: 'Item i2' } },
    });
    expect(watched.activeUpstreamCount()).toBe(1);

    await ticks.return?.();
    await proxy.cut();
    await pubsub.until(() => pubsub.count('silent') === 0);
  });

  it('ends the subscribers with SERVICE_UNAVAILABLE when the upstream cannot be restored', async () => {
    const proxy = await TcpProxy.start(a.url);
    proxies.push(proxy);
    const watched = newInstance({
      subscriptionUrl: () => proxy.wsUrl,
      keepAlive: 1000,
      retryAttempts: 2,
      retryWait: async () => undefined,
    });
    const ticks = iteratorOf(
      await watched.subscribe({
        document: TICKS,
        variables: { channel: 'cut' },
        context: { user: 'u1' },
      }),
    );
    const first = ticks.next();
    await pubsub.until(() => pubsub.count('cut') === 1);
    pubsub.publish('cut', { n: 1, itemId: 'i1' });
    expect((await first).value?.data).toBeDefined();

    await proxy.cut();
    const notice = await ticks.next();
    expect(notice.done).toBe(false);
    expect(notice.value?.errors?.[0]?.extensions).toEqual({
      code: 'SERVICE_UNAVAILABLE',
      serviceName: 'a',
    });
    const last = await ticks.next();
    expect(last.done).toBe(false);
    expect(last.value?.errors?.[0]).toMatchObject({
      message: 'Subscription to service "a" failed',
      extensions: { code: 'SERVICE_UNAVAILABLE', serviceName: 'a' },
    });
    expect(await ticks.next()).toEqual({ done: true, value: undefined });
    expect(watched.activeUpstreamCount()).toBe(0);
    await pubsub.until(() => pubsub.count('cut') === 0);
  });
});

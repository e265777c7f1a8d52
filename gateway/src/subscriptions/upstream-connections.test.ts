import type { ClientOptions } from 'graphql-ws';
import { FederatedSubscriptions, type FederatedSubscriptionsOptions } from './index';
import { FakeClient, recordingLogger, resolvable, type Resolvable } from './testing/fakes.fixture';
import {
  closedPort,
  startTicksSubgraphs,
  TcpProxy,
  type TicksSubgraphs,
} from './testing/servers.fixture';
import { iteratorOf, opened, pubsub, TICKS, type TestContext } from './testing/ticks.fixture';
import { UpstreamConnections, type UpstreamConnectionsOptions } from './upstream-connections';

/** A pool on fake clients: `clients` in order of creation. */
function fakePool(options: Partial<UpstreamConnectionsOptions<TestContext>> = {}) {
  const clients: FakeClient[] = [];
  const pool = new UpstreamConnections<TestContext>({
    url: (serviceName) => `ws://${serviceName}.invalid/graphql`,
    headers: (context, serviceName) => ({ 'x-user': context.user, 'x-service': serviceName }),
    createClient: (clientOptions: ClientOptions) => {
      const client = new FakeClient(clientOptions);
      clients.push(client);
      return client;
    },
    ...options,
  });
  return { pool, clients };
}

const holder = () => {
  const told = { count: 0 };
  return { told, interrupted: () => void (told.count += 1) };
};

describe('UpstreamConnections', () => {
  afterEach(() => {
    jest.useRealTimers();
  });

  it('shares one connection per (subgraph, shareKey) and closes it when the last holder lets go', () => {
    const { pool, clients } = fakePool();
    const first = pool.acquire('a', '', { user: 'u1' });
    const again = pool.acquire('a', '', { user: 'u2' });
    const other = pool.acquire('a', 'u3', { user: 'u3' });
    const elsewhere = pool.acquire('b', '', { user: 'u1' });
    expect(again).toBe(first);
    expect(first.refs).toBe(2);
    expect(new Set([first, other, elsewhere]).size).toBe(3);
    expect(clients).toHaveLength(3);
    expect(pool.size).toBe(3);

    pool.release('a', '');
    expect(first.refs).toBe(1);
    expect(clients[0].disposeCalls).toBe(0);
    pool.release('a', '');
    expect(clients[0].disposeCalls).toBe(1);
    expect(pool.size).toBe(2);
    // Released past zero, or never acquired: nothing happens.
    pool.release('a', '');
    pool.release('c', '');
    expect(clients[0].disposeCalls).toBe(1);

    // The next subscriber opens a new connection.
    expect(pool.acquire('a', '', { user: 'u1' })).not.toBe(first);
    expect(clients).toHaveLength(4);
  });

  it("opens a connection lazily, to the subgraph's URL, with the headers of the subscriber who opened it", () => {
    const { pool, clients } = fakePool({ retryAttempts: 3, keepAlive: 250 });
    pool.acquire('cinemas', 'u1', { user: 'u1' });
    pool.acquire('cinemas', 'u1', { user: 'someone else' });
    const [{ options }] = clients;
    expect(options).toMatchObject({
      url: 'ws://cinemas.invalid/graphql',
      lazy: true,
      retryAttempts: 3,
      keepAlive: 250,
      connectionAckWaitTimeout: 250,
    });
    // Called on every (re)connection, so short-lived signatures stay fresh.
    const connectionParams = options.connectionParams as () => unknown;
    expect(connectionParams()).toEqual({ headers: { 'x-user': 'u1', 'x-service': 'cinemas' } });
  });

  it('terminates a connection whose ping stays unanswered for keepAlive', () => {
    jest.useFakeTimers();
    const { pool, clients } = fakePool({ keepAlive: 100 });
    pool.acquire('a', '', { user: 'u1' });
    const [client] = clients;
    client.connected();

    client.ping(false);
    jest.advanceTimersByTime(99);
    client.pong(true);
    jest.advanceTimersByTime(1000);
    expect(client.terminateCalls).toBe(0);

    client.ping(false);
    // A ping from the server is no answer to ours.
    client.ping(true);
    jest.advanceTimersByTime(100);
    expect(client.terminateCalls).toBe(1);
  });

  it('sets no ping deadline without keepAlive', () => {
    jest.useFakeTimers();
    const { pool, clients } = fakePool();
    pool.acquire('a', '', { user: 'u1' });
    clients[0].ping(false);
    expect(jest.getTimerCount()).toBe(0);
  });

  it('tells the holders of a connection that drops after its acknowledgement, once per drop', () => {
    const { pool, clients } = fakePool();
    const lease = pool.acquire('a', '', { user: 'u1' });
    const [client] = clients;
    const one = holder();
    const two = holder();
    lease.upstreams.add(one);
    lease.upstreams.add(two);

    // Never acknowledged: the subscriptions' own error reports the failure.
    client.closed();
    expect(one.told.count).toBe(0);

    client.connected();
    client.closed();
    client.closed();
    expect([one.told.count, two.told.count]).toEqual([1, 1]);

    // Reconnected, then dropped again.
    client.connected();
    client.closed();
    expect(one.told.count).toBe(2);
  });

  it('tells nobody of the close of a connection nobody holds, or after dispose()', async () => {
    const { pool, clients } = fakePool();
    const released = pool.acquire('a', '', { user: 'u1' });
    const heard = holder();
    released.upstreams.add(heard);
    clients[0].connected();
    pool.release('a', '');
    clients[0].closed();

    const disposed = pool.acquire('b', '', { user: 'u1' });
    disposed.upstreams.add(heard);
    clients[1].connected();
    await pool.dispose();
    clients[1].closed();
    expect(heard.told.count).toBe(0);
  });

  it('dispose() closes every connection and waits for those released and still closing', async () => {
    const { pool, clients } = fakePool();
    pool.acquire('a', '', { user: 'u1' });
    pool.acquire('b', '', { user: 'u1' });
    const [released, held] = clients;
    released.disposing = resolvable();
    held.disposing = resolvable();
    pool.release('a', '');

    let closed = false;
    const disposing = pool.dispose().then(() => (closed = true));
    expect(held.disposeCalls).toBe(1);
    expect(released.disposeCalls).toBe(1);
    expect(pool.size).toBe(0);

    (held.disposing as Resolvable).resolve();
    await new Promise(setImmediate);
    expect(closed).toBe(false);
    (released.disposing as Resolvable).resolve();
    await disposing;
    expect(closed).toBe(true);
  });
});

// The connections for real, through the front: a refused connection, a silent one noticed by
// its pings, and one that cannot be restored.
describe('upstream connections, through FederatedSubscriptions', () => {
  let subgraphs: TicksSubgraphs;
  let a: TicksSubgraphs['a'];
  const instances: FederatedSubscriptions<TestContext>[] = [];
  const proxies: TcpProxy[] = [];
  const log = recordingLogger();

  function newInstance(
    options: Partial<FederatedSubscriptionsOptions<TestContext>> = {},
  ): FederatedSubscriptions<TestContext> {
    const instance = new FederatedSubscriptions<TestContext>({
      supergraphSdl: subgraphs.supergraphSdl,
      serviceMap: subgraphs.serviceMap,
      subscriptionUrl: () => a.wsUrl,
      upstreamHeaders: (context) => ({ 'x-user': context.user }),
      logger: log,
      ...options,
    });
    instances.push(instance);
    return instance;
  }

  beforeAll(async () => {
    subgraphs = await startTicksSubgraphs();
    a = subgraphs.a;
  });

  afterEach(async () => {
    await Promise.all(
      [...opened].map(async (iterator) => {
        await iterator.return?.();
      }),
    );
    opened.clear();
  });

  afterAll(async () => {
    await Promise.all(instances.map((instance) => instance.dispose()));
    await Promise.all(proxies.map((proxy) => proxy.cut()));
    await subgraphs?.stop();
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

  it('notices a silent upstream through its pings, tells the subscribers, reconnects and resubscribes', async () => {
    const proxy = await TcpProxy.start(a.url);
    proxies.push(proxy);
    const watched = newInstance({
      subscriptionUrl: () => proxy.wsUrl,
      keepAlive: 100,
      retryAttempts: 3,
      retryWait: () => Promise.resolve(),
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
      retryWait: () => Promise.resolve(),
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

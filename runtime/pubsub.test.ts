import { randomUUID } from 'node:crypto';
import type { EventEmitter } from 'node:events';
import net from 'node:net';
import { RedisPubSub as RedisPubSubEngine } from 'graphql-redis-subscriptions';
import { Redis } from 'ioredis';
import { testRedisUrl } from '../tests/support/services';
import { deferred, waitFor } from '../tests/support/wait-for';
import {
  createPubSubTransport,
  engineInternals,
  PubSubUnavailableError,
  type ClosablePubSub,
} from './pubsub';
import { closeRedis, createRedis } from './redis';

// The transport's connections, as it made them: which one subscribes is what these tests cut.
jest.mock('./redis', () => {
  const actual = jest.requireActual('./redis');
  return { ...actual, createRedis: jest.fn(actual.createRedis) };
});

/**
 * The Redis transport against a real Redis, each run on channels of its own: one Redis
 * subscription per channel, and Redis down (refused, cut off mid-SUBSCRIBE, or dropped while
 * subscribed) is a `PubSubUnavailableError`, never an unhandled rejection, and leaves nothing
 * behind that would stop a later `listen` from subscribing again.
 */

const prefix = `pubsub-test:${randomUUID()}:`;

/** Resolves on the next `name` event (unlike `events.once`, an `error` does not reject). */
function nextEvent(emitter: EventEmitter, name: string): Promise<void> {
  return new Promise((resolve) => emitter.once(name, () => resolve()));
}

/** A turn of the event loop: the moment Node reports rejections nobody handled. */
const turn = () => new Promise((resolve) => setImmediate(resolve));

/**
 * A TCP proxy in front of the test Redis: it can swallow what clients send (a command that
 * never gets its reply) and be cut (Redis down: connections end, new ones are refused).
 */
class RedisProxy {
  readonly url: string;
  private readonly sockets = new Set<net.Socket>();
  private holding = false;
  /** What clients sent that went nowhere, and who waits for what in it. */
  private held = '';
  private readonly watchers: Array<{ text: string; arrived: () => void }> = [];

  private constructor(private readonly server: net.Server) {
    server.on('connection', (client) => this.pipe(client));
    this.url = `redis://127.0.0.1:${(server.address() as net.AddressInfo).port}`;
  }

  static async start(): Promise<RedisProxy> {
    const server = net.createServer();
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    return new RedisProxy(server);
  }

  /** From now on, what clients send goes nowhere. */
  hold(): void {
    this.holding = true;
  }

  /** Resolves once `text` was among what went nowhere. */
  swallowed(text: string): Promise<void> {
    const arrived = deferred();
    this.watchers.push({ text, arrived: arrived.resolve });
    this.check();
    return arrived.wait(`${text} to be sent`);
  }

  /** Ends every connection and refuses new ones. */
  async cut(): Promise<void> {
    if (!this.server.listening) return;
    const closed = new Promise((resolve) => this.server.close(resolve));
    for (const socket of this.sockets) socket.destroy();
    await closed;
  }

  private pipe(client: net.Socket): void {
    const { hostname, port } = new URL(testRedisUrl);
    const upstream = net.connect({ host: hostname, port: Number(port || 6379) });
    for (const socket of [client, upstream]) {
      this.sockets.add(socket);
      socket.on('error', () => {});
      socket.on('close', () => {
        this.sockets.delete(socket);
        client.destroy();
        upstream.destroy();
      });
    }
    client.on('data', (chunk: Buffer) => {
      if (!this.holding) {
        upstream.write(chunk);
        return;
      }
      this.held += chunk.toString();
      this.check();
    });
    upstream.on('data', (chunk: Buffer) => client.write(chunk));
  }

  private check(): void {
    for (const watcher of [...this.watchers]) {
      if (!this.held.includes(watcher.text)) continue;
      this.watchers.splice(this.watchers.indexOf(watcher), 1);
      watcher.arrived();
    }
  }
}

describe('the Redis pub/sub transport', () => {
  let admin: Redis;
  const disposals: Array<() => Promise<unknown>> = [];
  const unhandled: unknown[] = [];
  const onUnhandled = (reason: unknown) => unhandled.push(reason);

  beforeAll(() => {
    process.on('unhandledRejection', onUnhandled);
    admin = new Redis(testRedisUrl);
  });

  afterEach(async () => {
    jest.restoreAllMocks();
    await turn();
    expect(unhandled).toEqual([]);
  });

  afterAll(async () => {
    for (const dispose of disposals.splice(0).reverse()) await dispose();
    await closeRedis(admin);
    process.off('unhandledRejection', onUnhandled);
  });

  /** A transport, closed after the tests, and its subscribing connection. */
  function open(url = testRedisUrl): { pubSub: ClosablePubSub; subscriber: Redis } {
    const made = jest.mocked(createRedis).mock.results.length;
    const pubSub = createPubSubTransport(url, prefix);
    disposals.push(() => pubSub.close());
    const calls = jest.mocked(createRedis).mock.calls.slice(made);
    const index = calls.findIndex(([, options]) => options?.autoResubscribe === false);
    expect(index).toBeGreaterThanOrEqual(0);
    const subscriber = jest.mocked(createRedis).mock.results[made + index].value as Redis;
    return { pubSub, subscriber };
  }

  async function ready(redis: Redis): Promise<void> {
    if (redis.status !== 'ready') await nextEvent(redis, 'ready');
  }

  /** How many connections Redis has subscribed to `routingKey`'s channel. */
  async function numsub(routingKey: string): Promise<number> {
    const reply = (await admin.call('PUBSUB', 'NUMSUB', prefix + routingKey)) as [string, number];
    return Number(reply[1]);
  }

  async function proxy(): Promise<RedisProxy> {
    const started = await RedisProxy.start();
    disposals.push(() => started.cut());
    return started;
  }

  it('delivers in publish order to every listener, through one Redis subscription', async () => {
    const { pubSub } = open();
    const a = await pubSub.listen('order');
    const b = await pubSub.listen('order');
    expect(await numsub('order')).toBe(1);

    await pubSub.publish('order', { n: 1 });
    await admin.publish(prefix + 'order', 'not JSON: not ours, skipped');
    await pubSub.publish('order', { n: 2 });
    const fromA = [await a.next(), await a.next()];
    const fromB = [await b.next(), await b.next()];
    expect(fromA).toEqual([
      { value: { n: 1 }, done: false },
      { value: { n: 2 }, done: false },
    ]);
    expect(fromB).toEqual(fromA);
    // Parsed once: both listeners hold the same object.
    expect(fromB[0].value).toBe(fromA[0].value);

    await a.return!();
    expect(await a.next()).toEqual({ value: undefined, done: true });
    expect(await numsub('order')).toBe(1);
    await pubSub.publish('order', { n: 3 });
    expect(await b.next()).toEqual({ value: { n: 3 }, done: false });

    await b.return!();
    await waitFor(async () => (await numsub('order')) === 0, 'Redis to unsubscribe');
  });

  it('waits for the first connection, and refuses when it is not there', async () => {
    const { pubSub } = open();
    const early = await pubSub.listen('early');
    await pubSub.publish('early', 'first');
    expect(await early.next()).toEqual({ value: 'first', done: false });
    await early.return!();

    const nowhere = await proxy();
    await nowhere.cut();
    const { pubSub: down } = open(nowhere.url);
    await expect(down.listen('early')).rejects.toBeInstanceOf(PubSubUnavailableError);
    await expect(down.publish('early', 'lost')).rejects.toBeInstanceOf(PubSubUnavailableError);
  });

  it('refuses to listen at once, without calling the engine, while the subscriber is down', async () => {
    const via = await proxy();
    const { pubSub, subscriber } = open(via.url);
    await ready(subscriber);
    const closed = nextEvent(subscriber, 'close');
    await via.cut();
    await closed;

    const subscribe = jest.spyOn(RedisPubSubEngine.prototype, 'subscribe');
    await expect(pubSub.listen('down')).rejects.toBeInstanceOf(PubSubUnavailableError);
    await expect(pubSub.publish('down', 'lost')).rejects.toBeInstanceOf(PubSubUnavailableError);
    expect(subscribe).not.toHaveBeenCalled();
  });

  it('fails the listeners of a SUBSCRIBE cut off in flight and keeps no record of it', async () => {
    const via = await proxy();
    const { pubSub, subscriber } = open(via.url);
    await ready(subscriber);
    const subscribe = jest.spyOn(RedisPubSubEngine.prototype, 'subscribe');

    via.hold();
    // One channel with a lone listener (nobody else waits on the engine's own promise of
    // its SUBSCRIBE), one where a second listener joins the SUBSCRIBE in flight.
    const attempts = Promise.allSettled([
      pubSub.listen('alone'),
      pubSub.listen('joined'),
      pubSub.listen('joined'),
    ]);
    await Promise.all([via.swallowed(prefix + 'alone'), via.swallowed(prefix + 'joined')]);
    const engine = engineInternals(subscribe.mock.contexts[0] as RedisPubSubEngine);
    expect([...engine.subsPendingRefsMap.keys()]).toEqual([prefix + 'alone', prefix + 'joined']);
    await via.cut();

    const outcomes = await attempts;
    for (const outcome of outcomes) {
      expect(outcome).toMatchObject({ status: 'rejected' });
      expect((outcome as PromiseRejectedResult).reason).toBeInstanceOf(PubSubUnavailableError);
    }
    expect(engine.subscriptionMap).toEqual({});
    expect(engine.subsRefsMap.size).toBe(0);
    expect(engine.subsPendingRefsMap.size).toBe(0);
  });

  it('fails every listener when the subscriber drops, and subscribes afresh after', async () => {
    const { pubSub, subscriber } = open();
    await ready(subscriber);
    const connectionId = await subscriber.client('ID');
    const a = await pubSub.listen('drop');
    const b = await pubSub.listen('drop');
    await pubSub.publish('drop', { n: 1 });
    expect(await a.next()).toEqual({ value: { n: 1 }, done: false });

    const closed = nextEvent(subscriber, 'close');
    await admin.call('CLIENT', 'KILL', 'ID', String(connectionId)); // this test's own connection
    await closed;
    await expect(a.next()).rejects.toBeInstanceOf(PubSubUnavailableError);
    expect(await a.next()).toEqual({ value: undefined, done: true });
    // What arrived before the drop is still handed out first.
    expect(await b.next()).toEqual({ value: { n: 1 }, done: false });
    await expect(b.next()).rejects.toBeInstanceOf(PubSubUnavailableError);

    await ready(subscriber);
    const c = await pubSub.listen('drop');
    expect(await numsub('drop')).toBe(1);
    await pubSub.publish('drop', { n: 2 });
    expect(await c.next()).toEqual({ value: { n: 2 }, done: false });
    await c.return!();
    await waitFor(async () => (await numsub('drop')) === 0, 'Redis to unsubscribe');
  });

  it('reaches the private state of graphql-redis-subscriptions as it is shaped', async () => {
    const publisher = createRedis(testRedisUrl);
    const subscriber = createRedis(testRedisUrl, { autoResubscribe: false });
    const raw = new RedisPubSubEngine({ publisher, subscriber });
    disposals.push(() => Promise.all([closeRedis(publisher), closeRedis(subscriber)]));
    const engine = engineInternals(raw);
    const channel = `${prefix}shape`;
    const onMessage = () => {};

    const id = engine.currentSubscriptionId;
    expect(id).toEqual(expect.any(Number));
    const first = raw.subscribe(channel, onMessage);
    expect(engine.currentSubscriptionId).toBe(id + 1);
    expect(engine.subscriptionMap[id]).toEqual([channel, onMessage]);
    const pending = engine.subsPendingRefsMap.get(channel)!;
    expect(pending).toEqual({ refs: [], pending: expect.anything() });
    expect(typeof pending.pending.then).toBe('function');
    const joined = raw.subscribe(channel, onMessage);
    expect(pending.refs).toEqual([id + 1]);
    expect(await first).toBe(id);
    expect(await joined).toBe(id + 1);
    expect(engine.subsPendingRefsMap.has(channel)).toBe(false);
    expect(engine.subsRefsMap.get(channel)).toEqual(new Set([id, id + 1]));
    raw.unsubscribe(id);
    raw.unsubscribe(id + 1);
    expect(engine.subsRefsMap.has(channel)).toBe(false);
    expect(engine.subscriptionMap).toEqual({});

    // A failed SUBSCRIBE: what the transport cleans up after (the engine keeps it).
    subscriber.disconnect();
    const failedId = engine.currentSubscriptionId;
    const failed = raw.subscribe(channel, onMessage);
    Promise.resolve(engine.subsPendingRefsMap.get(channel)?.pending).catch(() => {});
    await expect(failed).rejects.toThrow();
    expect(engine.subscriptionMap[failedId]).toEqual([channel, onMessage]);
    expect(engine.subsRefsMap.get(channel)).toEqual(new Set());
    expect(engine.subsPendingRefsMap.has(channel)).toBe(false);
  });
});

import { RedisPubSub as RedisPubSubEngine } from 'graphql-redis-subscriptions';
import type { Redis } from 'ioredis';
import {
  createRedis,
  isClusterUrl,
  isRedisUnavailable,
  parseClusterUrl,
  type RedisClient,
} from './redis';

/**
 * The transport could not subscribe or publish (Redis down), or lost its connection while
 * subscribed (events may have been missed). Retryable: callers answer `SERVICE_UNAVAILABLE`.
 */
export class PubSubUnavailableError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'PubSubUnavailableError';
  }
}

/** The pub/sub a service publishes and subscribes through, plus how to close it. */
export interface ClosablePubSub {
  /**
   * Publishes `payload` (JSON) to every listener of `routingKey`, in every instance that
   * shares the transport. Rejects with `PubSubUnavailableError` when it cannot.
   */
  publish(routingKey: string, payload: unknown): Promise<void>;
  /**
   * Listens to `routingKey`. Resolves once the subscription is in place (everything published
   * from then on arrives, in publish order, each payload one object shared by every listener
   * of this process), or rejects with `PubSubUnavailableError`. When the transport loses its
   * connection later, `next()` rejects with `PubSubUnavailableError` once the messages
   * received before are consumed, and the iterator is done: the listener must tell its
   * client, which refetches and listens again. `return()` stops listening.
   */
  listen(routingKey: string): Promise<AsyncIterableIterator<unknown>>;
  /** Ends every listener (done, not failed) and closes the transport's connections. */
  close(): Promise<void>;
}

/**
 * Redis pub/sub when `redisUrl` is given (every instance sees every event), otherwise the
 * in-process transport of the embedded default. Channel names are prefixed so that test runs
 * and environments sharing one Redis never see each other's events.
 */
export function createPubSubTransport(
  redisUrl: string | undefined,
  prefix: string,
): ClosablePubSub {
  return redisUrl ? new RedisPubSub(redisUrl, prefix) : new LocalPubSub(prefix);
}

/** One listener's queue: values pushed by the transport, pulled by `next()`. */
class Listener implements AsyncIterableIterator<unknown> {
  private readonly queue: unknown[] = [];
  private waiting: Array<{
    resolve: (result: IteratorResult<unknown>) => void;
    reject: (err: Error) => void;
  }> = [];
  private state: 'open' | 'failed' | 'done' = 'open';
  private error: Error | undefined;

  constructor(private readonly onEnd: (listener: Listener) => void) {}

  get open(): boolean {
    return this.state === 'open';
  }

  push(value: unknown): void {
    if (this.state !== 'open') return;
    const waiter = this.waiting.shift();
    if (waiter) waiter.resolve({ value, done: false });
    else this.queue.push(value);
  }

  /** Ends the listener with `error`, raised by `next()` after the queued values. */
  fail(error: Error): void {
    if (this.state !== 'open') return;
    this.state = 'failed';
    this.error = error;
    this.onEnd(this);
    for (const waiter of this.waiting.splice(0)) waiter.reject(error);
  }

  next(): Promise<IteratorResult<unknown>> {
    if (this.queue.length > 0) return Promise.resolve({ value: this.queue.shift(), done: false });
    if (this.state === 'failed') {
      this.state = 'done';
      return Promise.reject(this.error!); // set by fail(), with the state
    }
    if (this.state === 'done') return Promise.resolve({ value: undefined, done: true });
    return new Promise((resolve, reject) => this.waiting.push({ resolve, reject }));
  }

  return(): Promise<IteratorResult<unknown>> {
    if (this.state === 'open') this.onEnd(this);
    this.state = 'done';
    this.queue.length = 0;
    for (const waiter of this.waiting.splice(0)) waiter.resolve({ value: undefined, done: true });
    return Promise.resolve({ value: undefined, done: true });
  }

  throw(): Promise<IteratorResult<unknown>> {
    return this.return();
  }

  [Symbol.asyncIterator](): AsyncIterableIterator<unknown> {
    return this;
  }
}

/**
 * The embedded default: one process, so a listener is a queue in a map. Subscribing is
 * immediate (unlike a lazily started async generator, nothing published after `listen`
 * resolves can be missed) and publishing cannot fail.
 */
class LocalPubSub implements ClosablePubSub {
  private readonly channels = new Map<string, Set<Listener>>();

  constructor(private readonly prefix: string) {}

  publish(routingKey: string, payload: unknown): Promise<void> {
    for (const listener of this.channels.get(this.prefix + routingKey) ?? []) {
      listener.push(payload);
    }
    return Promise.resolve();
  }

  listen(routingKey: string): Promise<AsyncIterableIterator<unknown>> {
    const channel = this.prefix + routingKey;
    let listeners = this.channels.get(channel);
    if (!listeners) {
      listeners = new Set();
      this.channels.set(channel, listeners);
    }
    const set = listeners;
    const listener = new Listener((l) => {
      set.delete(l);
      if (set.size === 0 && this.channels.get(channel) === set) this.channels.delete(channel);
    });
    set.add(listener);
    return Promise.resolve(listener);
  }

  async close(): Promise<void> {
    const all = [...this.channels.values()].flatMap((set) => [...set]);
    await Promise.all(all.map((listener) => listener.return()));
  }
}

/** A listener of the Redis transport and, once its subscription is in place, the engine's id. */
interface Subscription {
  readonly listener: Listener;
  id: number | undefined;
}

/** What the engine hands a subscriber for a message that is not JSON (never published here). */
const NOT_JSON = Symbol('not JSON');

/**
 * Redis pub/sub through graphql-redis-subscriptions' `RedisPubSub` (the engine), over two
 * connections of our own (a subscribing connection cannot publish). The engine keeps one
 * Redis subscription per channel however many listeners it has, and parses each message
 * once: every listener gets the same object.
 *
 * Redis down is an answer, never a crash or a hang: a SUBSCRIBE or PUBLISH that fails
 * rejects with `PubSubUnavailableError` (the connections fail fast, see `createRedis`), and
 * when the subscribing connection drops, every listener fails, because whatever was
 * published meanwhile is lost to it. Redis does not queue messages for a subscriber that
 * comes back, so the connection does not resubscribe by itself (`autoResubscribe: false`):
 * listeners subscribe again when their clients do.
 *
 * On a Redis Cluster, PUBLISH goes through the cluster client (any node: the cluster bus
 * hands every message to every node) and the subscribing connection is a plain connection
 * to one node of the cluster (see `createSubscriber`). Not sharded pub/sub (SPUBLISH /
 * SSUBSCRIBE): the engine only speaks SUBSCRIBE, and ioredis' sharded subscribers
 * resubscribe by themselves after a failover, silently: the messages published meanwhile
 * would be lost without any listener being told, which is the one thing this transport
 * promises not to do. The cost of the broadcast (each message crosses the cluster bus to
 * every node) is small for this traffic: a few messages per seat change or catalog edit.
 *
 * The engine has defects around failures, each guarded here where it is met: it leaves an
 * unhandled rejection behind a failed SUBSCRIBE and fires UNSUBSCRIBE without a handler,
 * it keeps the record of a subscription that failed, and it believes its subscriptions
 * outlive the connection that made them.
 */
class RedisPubSub implements ClosablePubSub {
  private readonly publisher: RedisClient;
  private readonly subscriber: Redis;
  private readonly engine: RedisPubSubEngine;
  private readonly subscriptions = new Set<Subscription>();
  /** Whether the subscribing connection was ever ready (see `subscriberReady`). */
  private connected = false;
  private closed = false;

  constructor(
    redisUrl: string,
    private readonly prefix: string,
  ) {
    this.publisher = createRedis(redisUrl);
    this.subscriber = createSubscriber(redisUrl);
    catchUnsubscribeFailures(this.subscriber);
    this.engine = new RedisPubSubEngine({
      publisher: this.publisher,
      subscriber: this.subscriber,
      // Stated rather than left to the engine's defaults: a Buffer payload would otherwise
      // be published raw, and a message that is not JSON handed on as a string.
      serializer: (payload) => JSON.stringify(payload),
      deserializer: (message) => {
        try {
          return JSON.parse(message.toString()) as unknown;
        } catch {
          return NOT_JSON;
        }
      },
    });
    this.subscriber.once('ready', () => (this.connected = true));
    this.subscriber.on('close', () => this.connectionLost());
  }

  async publish(routingKey: string, payload: unknown): Promise<void> {
    try {
      await this.engine.publish(this.prefix + routingKey, payload);
    } catch (err) {
      throw unavailable(err, 'publish');
    }
  }

  async listen(routingKey: string): Promise<AsyncIterableIterator<unknown>> {
    if (this.closed) throw new PubSubUnavailableError('The pub/sub transport is closed');
    // Redis down: fail fast, before the engine is involved. The engine's failure paths are
    // the defective ones (see `subscribe`), so they are kept for a connection that drops
    // while its SUBSCRIBE is in flight.
    if (!(await this.subscriberReady())) {
      throw new PubSubUnavailableError('Could not subscribe: Redis is unavailable');
    }
    if (this.closed) throw new PubSubUnavailableError('The pub/sub transport is closed');
    const subscription: Subscription = {
      listener: new Listener(() => this.left(subscription)),
      id: undefined,
    };
    this.subscriptions.add(subscription);
    const { listener } = subscription;
    try {
      subscription.id = await this.subscribe(this.prefix + routingKey, (payload) => {
        if (payload !== NOT_JSON) listener.push(payload);
      });
    } catch (err) {
      this.subscriptions.delete(subscription);
      throw unavailable(err, 'subscribe');
    }
    if (!listener.open) {
      // The connection dropped (or the transport closed) while Redis confirmed: the
      // subscription it made is nobody's.
      this.drop(subscription.id);
      throw new PubSubUnavailableError(
        this.closed
          ? 'The pub/sub transport is closed'
          : 'The pub/sub connection was lost while subscribing',
      );
    }
    return listener;
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    const all = [...this.subscriptions].map((subscription) => subscription.listener);
    this.subscriptions.clear();
    await Promise.all(all.map((listener) => listener.return()));
    try {
      await this.engine.close(); // QUIT on both connections
    } catch {
      // Redis is unreachable, so QUIT cannot be sent: the connections are dropped instead.
      for (const redis of [this.publisher, this.subscriber]) {
        if (redis.status !== 'end') redis.disconnect();
      }
    }
  }

  /**
   * Whether a SUBSCRIBE can be sent now. Before the connection's first success, the answer
   * waits for its first attempt, as the connection's own commands do then (start-up order
   * does not matter, see `createRedis`); after that, a connection that is not ready is
   * Redis down, answered at once.
   */
  private async subscriberReady(): Promise<boolean> {
    const redis = this.subscriber;
    const starting = redis.status === 'connecting' || redis.status === 'connect';
    if (!this.connected && starting) {
      await new Promise<void>((resolve) => {
        const settled = () => {
          redis.off('ready', settled);
          redis.off('close', settled);
          resolve();
        };
        redis.on('ready', settled);
        redis.on('close', settled);
      });
    }
    return redis.status === 'ready';
  }

  /**
   * The engine's `subscribe`, without its defects (graphql-redis-subscriptions 2.7.0):
   * - when Redis fails the first SUBSCRIBE of a channel, the engine also rejects a promise
   *   of its own that only later subscribers of the channel would listen to, so alone it
   *   would be an unhandled rejection (which ends the process): it is caught here, right
   *   after the call, while it is still the channel's;
   * - the failed subscription stays in the engine's records: it is removed here.
   */
  private async subscribe(channel: string, onMessage: (payload: unknown) => void): Promise<number> {
    const engine = engineInternals(this.engine);
    const id = engine.currentSubscriptionId; // the id this call is given
    const subscribed = this.engine.subscribe(channel, onMessage);
    const pending = engine.subsPendingRefsMap.get(channel)?.pending;
    if (pending) Promise.resolve(pending).catch(() => {});
    try {
      return await subscribed;
    } catch (err) {
      delete engine.subscriptionMap[id];
      // The engine also leaves the channel's empty set of subscribers; unless another
      // SUBSCRIBE of the channel has started (and will fill that same set), it goes too.
      if (engine.subsRefsMap.get(channel)?.size === 0 && !engine.subsPendingRefsMap.has(channel)) {
        engine.subsRefsMap.delete(channel);
      }
      throw err;
    }
  }

  /** A listener ended (returned or failed): its share of the Redis subscription goes. */
  private left(subscription: Subscription): void {
    this.subscriptions.delete(subscription);
    // Not yet subscribed: `listen` drops it once Redis answers. Closing: QUIT ends it all.
    if (subscription.id !== undefined && !this.closed) this.drop(subscription.id);
  }

  /** The engine unsubscribes Redis from the channel when its last subscriber goes. */
  private drop(id: number): void {
    try {
      this.engine.unsubscribe(id);
    } catch {
      // Not (or no longer) the engine's: nothing to end.
    }
  }

  /**
   * The subscribing connection dropped: the server ended every subscription it had, and
   * whatever was published meanwhile is lost to its listeners. Each listener fails, and its
   * subscription is dropped from the engine, which would otherwise count it as live and
   * answer the next `listen` of that channel without subscribing Redis again.
   */
  private connectionLost(): void {
    if (this.closed || this.subscriptions.size === 0) return;
    const error = new PubSubUnavailableError('The pub/sub connection to Redis was lost');
    for (const subscription of [...this.subscriptions]) subscription.listener.fail(error);
  }
}

/**
 * The subscribing connection: `createRedis`'s (fail fast, reconnect forever) without
 * resubscribing by itself. On a Redis Cluster, a plain connection to one node, any node
 * (primary or replica: every node receives every PUBLISH): a `Cluster` client would move its
 * subscriptions to another node by itself when that node fails, and nothing would tell the
 * listeners that what was published meanwhile is lost to them. Each reconnection attempt
 * goes to the next node of the URL's list, so a node that died for good (its replica took
 * over) is not waited for: the next attempt reaches a live one, and listeners subscribe
 * there again when their clients do.
 */
function createSubscriber(redisUrl: string): Redis {
  if (!isClusterUrl(redisUrl)) {
    return createRedis(redisUrl, { autoResubscribe: false }) as Redis;
  }
  const { nodes, username, password } = parseClusterUrl(redisUrl);
  // Spread the subscribing connections of many instances over the nodes.
  let current = Math.floor(Math.random() * nodes.length);
  const first = nodes[current];
  const host = first.host.includes(':') ? `[${first.host}]` : first.host;
  const redis = createRedis(`redis://${host}:${first.port}`, {
    username,
    password,
    autoResubscribe: false,
    retryStrategy: (attempt) => {
      current = (current + 1) % nodes.length;
      // ioredis reads host and port from its options at each connection attempt.
      Object.assign(redis.options, nodes[current]);
      return Math.min(attempt * 100, 1000);
    },
  }) as Redis;
  return redis;
}

/**
 * graphql-redis-subscriptions 2.7.0's `unsubscribe(subId)` sends UNSUBSCRIBE and PUNSUBSCRIBE
 * without a handler for their replies: sent while Redis is down (as when a listener leaves
 * because the connection dropped), each would be an unhandled rejection. The connection is
 * ours, so its own methods get one; a connection that is down has no subscription to end.
 */
function catchUnsubscribeFailures(redis: Redis): void {
  for (const command of ['unsubscribe', 'punsubscribe'] as const) {
    const send = redis[command].bind(redis) as (...args: unknown[]) => Promise<unknown>;
    const guarded = (...args: unknown[]): Promise<unknown> => {
      const reply = send(...args);
      reply.catch(() => {});
      return reply;
    };
    Object.assign(redis, { [command]: guarded });
  }
}

/**
 * The private state of graphql-redis-subscriptions' `RedisPubSub` that guarding its defects
 * needs, as of version 2.7.0 (`dist/redis-pubsub.js`). `pubsub.test.ts` fails if its shape
 * changes; check this against the new source before upgrading.
 */
export interface EngineInternals {
  /** The id the next `subscribe` call will get. */
  currentSubscriptionId: number;
  /** Every subscription by id: its channel and handler (kept even when it failed). */
  subscriptionMap: Record<number, [channel: string, onMessage: (message: unknown) => void]>;
  /** The confirmed subscriptions of each channel (Redis is subscribed while non-empty). */
  subsRefsMap: Map<string, Set<number>>;
  /** A channel whose SUBSCRIBE is in flight: who waits for it, and its (thenable) reply. */
  subsPendingRefsMap: Map<string, { refs: number[]; pending: PromiseLike<unknown> }>;
}

/**
 * The engine's private state, typed (see `EngineInternals`). Exported for its test only.
 *
 * @internal
 */
export function engineInternals(engine: RedisPubSubEngine): EngineInternals {
  return engine as unknown as EngineInternals;
}

function unavailable(err: unknown, what: string): Error {
  if (err instanceof PubSubUnavailableError) return err;
  if (isRedisUnavailable(err)) {
    return new PubSubUnavailableError(`Could not ${what}: Redis is unavailable`, { cause: err });
  }
  return err instanceof Error ? err : new Error(String(err));
}

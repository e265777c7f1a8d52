import type { Redis } from 'ioredis';
import { closeRedis, createRedis, isRedisUnavailable } from './redis';

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
      return Promise.reject(this.error);
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

  async publish(routingKey: string, payload: unknown): Promise<void> {
    for (const listener of this.channels.get(this.prefix + routingKey) ?? []) {
      listener.push(payload);
    }
  }

  async listen(routingKey: string): Promise<AsyncIterableIterator<unknown>> {
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
    return listener;
  }

  async close(): Promise<void> {
    const all = [...this.channels.values()].flatMap((set) => [...set]);
    await Promise.all(all.map((listener) => listener.return()));
  }
}

/** A Redis channel this process listens to: its listeners and its SUBSCRIBE's reply. */
interface Channel {
  readonly listeners: Set<Listener>;
  readonly subscribed: Promise<unknown>;
}

/**
 * Redis pub/sub over two connections (a subscribing connection cannot publish). One Redis
 * subscription per channel however many listeners it has; the message is parsed once and
 * the same object handed to each.
 *
 * Redis down is an answer, never a crash or a hang: a SUBSCRIBE or PUBLISH that fails
 * rejects with `PubSubUnavailableError` (the connection fails fast, see `createRedis`), and
 * when the subscribing connection drops, every listener fails, because whatever was
 * published meanwhile is lost to it. Redis does not queue messages for a subscriber that
 * comes back, so the connection does not resubscribe by itself (`autoResubscribe: false`):
 * listeners subscribe again when their clients do.
 */
class RedisPubSub implements ClosablePubSub {
  private readonly publisher: Redis;
  private readonly subscriber: Redis;
  private readonly channels = new Map<string, Channel>();
  private closed = false;

  constructor(
    redisUrl: string,
    private readonly prefix: string,
  ) {
    this.publisher = createRedis(redisUrl);
    this.subscriber = createRedis(redisUrl, { autoResubscribe: false });
    this.subscriber.on('message', (channel: string, message: string) =>
      this.deliver(channel, message),
    );
    this.subscriber.on('close', () => this.connectionLost());
  }

  async publish(routingKey: string, payload: unknown): Promise<void> {
    try {
      await this.publisher.publish(this.prefix + routingKey, JSON.stringify(payload));
    } catch (err) {
      throw unavailable(err, 'publish');
    }
  }

  async listen(routingKey: string): Promise<AsyncIterableIterator<unknown>> {
    if (this.closed) throw new PubSubUnavailableError('The pub/sub transport is closed');
    const name = this.prefix + routingKey;
    let channel = this.channels.get(name);
    if (!channel) {
      const created: Channel = {
        listeners: new Set(),
        subscribed: this.subscriber.subscribe(name),
      };
      created.subscribed.then(
        () => {
          // Every listener left (or the connection dropped) before Redis confirmed: the
          // subscription it made is nobody's.
          if (this.channels.get(name) !== created) this.unsubscribe(name);
        },
        () => {
          if (this.channels.get(name) === created) this.channels.delete(name);
        },
      );
      this.channels.set(name, created);
      channel = created;
    }
    const owner = channel;
    const listener = new Listener((l) => this.leave(name, owner, l));
    owner.listeners.add(listener);
    try {
      await owner.subscribed;
    } catch (err) {
      owner.listeners.delete(listener);
      throw unavailable(err, 'subscribe');
    }
    if (!listener.open) {
      throw new PubSubUnavailableError('The pub/sub connection was lost while subscribing');
    }
    return listener;
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    const all = [...this.channels.values()].flatMap((channel) => [...channel.listeners]);
    this.channels.clear();
    await Promise.all(all.map((listener) => listener.return()));
    await Promise.all([closeRedis(this.publisher), closeRedis(this.subscriber)]);
  }

  private deliver(name: string, message: string): void {
    const channel = this.channels.get(name);
    if (!channel || channel.listeners.size === 0) return;
    let payload: unknown;
    try {
      payload = JSON.parse(message);
    } catch {
      return; // not ours: everything published here is JSON
    }
    for (const listener of channel.listeners) listener.push(payload);
  }

  private leave(name: string, channel: Channel, listener: Listener): void {
    channel.listeners.delete(listener);
    if (channel.listeners.size > 0 || this.channels.get(name) !== channel) return;
    this.channels.delete(name);
    this.unsubscribe(name);
  }

  /** Best effort: while the connection is down there is no subscription left to end. */
  private unsubscribe(name: string): void {
    if (this.closed || this.channels.has(name)) return;
    this.subscriber.unsubscribe(name).catch(() => {});
  }

  private connectionLost(): void {
    if (this.closed || this.channels.size === 0) return;
    const channels = [...this.channels.values()];
    this.channels.clear();
    const error = new PubSubUnavailableError('The pub/sub connection to Redis was lost');
    for (const channel of channels) {
      for (const listener of [...channel.listeners]) listener.fail(error);
    }
  }
}

function unavailable(err: unknown, what: string): Error {
  if (err instanceof PubSubUnavailableError) return err;
  if (isRedisUnavailable(err)) {
    return new PubSubUnavailableError(`Could not ${what}: Redis is unavailable`, { cause: err });
  }
  return err instanceof Error ? err : new Error(String(err));
}

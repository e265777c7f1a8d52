import type { Redis } from 'ioredis';
import { createLogger, type Logger } from '../logger';
import { closeRedis, createRedis } from '../redis';
import { deliverOnce } from './delivery';
import { assertStreamName, parseEvent, serializeEvent, type DomainEvent } from './event';
import { DEFAULT_STREAM_MAX_LENGTH, resolveSubscribeOptions } from './subscribe-options';
import type {
  EventTransport,
  ResolvedSubscribeOptions,
  SubscribeOptions,
  Subscription,
} from './transport';

export interface RedisStreamsTransportOptions {
  log?: Logger;
  /** Approximate entries kept per stream (`XADD MAXLEN ~`). Default 100,000. */
  maxLength?: number;
  /** Longest a subscription blocks in `XREADGROUP` between checks for retries. Default 500. */
  blockMs?: number;
  /** Entries read or reclaimed per round trip. Default 50. */
  batchSize?: number;
  /** Wait after a Redis error before trying again. Default 1000. */
  errorBackoffMs?: number;
}

/** The stream entry field holding the serialised event. */
const EVENT_FIELD = 'event';
/** Handler errors remembered per entry for a later dead letter; bounded. */
const MAX_REMEMBERED_ERRORS = 1000;

type StreamEntry = [id: string, fields: string[] | null];

/**
 * Events over Redis Streams consumer groups. `publish` appends with `XADD` (trimmed to about
 * `maxLength` entries); each group is created at the start of the stream, so a group that
 * appears later still reads what was published before it. Each subscription reads with
 * `XREADGROUP` on its own connection (a blocking read would stall every other command on a
 * shared one), acknowledges with `XACK` after its handler succeeded, and reclaims with
 * `XAUTOCLAIM` whatever stayed unacknowledged longer than `retryAfterMs`: its own failures
 * and the entries of instances that crashed. The delivery count Redis keeps decides when an
 * event is given up on and dead-lettered. Keys are `${keyPrefix}events:${stream}`.
 */
export class RedisStreamsTransport implements EventTransport {
  private readonly redis: Redis;
  private readonly subscriptions = new Set<RedisStreamSubscription>();
  private readonly log: Logger;
  private readonly settings: Required<Omit<RedisStreamsTransportOptions, 'log'>>;
  private closed = false;

  constructor(
    private readonly redisUrl: string,
    private readonly keyPrefix: string,
    options: RedisStreamsTransportOptions = {},
  ) {
    this.log = options.log ?? createLogger('events', 'info');
    this.settings = {
      maxLength: options.maxLength ?? DEFAULT_STREAM_MAX_LENGTH,
      blockMs: options.blockMs ?? 500,
      batchSize: options.batchSize ?? 50,
      errorBackoffMs: options.errorBackoffMs ?? 1000,
    };
    this.redis = createRedis(redisUrl);
    this.redis.on('error', (err) => this.log.warn({ err }, 'event transport: redis error'));
  }

  /** The Redis key of a stream. */
  streamKey(stream: string): string {
    return `${this.keyPrefix}events:${stream}`;
  }

  async publish(stream: string, events: DomainEvent[]): Promise<void> {
    this.assertOpen();
    assertStreamName(stream);
    if (events.length === 0) return;
    const key = this.streamKey(stream);
    // MULTI: a batch lands whole or not at all, so a retry never leaves a gap in the middle.
    const multi = this.redis.multi();
    for (const event of events) {
      multi.xadd(
        key,
        'MAXLEN',
        '~',
        this.settings.maxLength,
        '*',
        EVENT_FIELD,
        serializeEvent(event),
      );
    }
    const results = await multi.exec();
    if (!results) throw new Error(`Publishing to ${key} was aborted`);
    const failed = results.find(([err]) => err);
    if (failed?.[0]) throw failed[0];
  }

  subscribe(options: SubscribeOptions): Subscription {
    this.assertOpen();
    assertStreamName(options.stream);
    const resolved = resolveSubscribeOptions(options);
    const blocking = createRedis(this.redisUrl, {
      maxRetriesPerRequest: null,
      // Shows in CLIENT LIST which subscription a connection serves.
      connectionName: subscriptionConnectionName(resolved),
    });
    blocking.on('error', (err) =>
      this.log.warn({ err, stream: resolved.stream }, 'event subscription: redis error'),
    );
    const subscription = new RedisStreamSubscription(
      this.redis,
      blocking,
      this.streamKey(resolved.stream),
      resolved,
      this.settings,
      this.log,
      () => this.subscriptions.delete(subscription),
    );
    this.subscriptions.add(subscription);
    return subscription;
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await Promise.all([...this.subscriptions].map((s) => s.stop()));
    await closeRedis(this.redis);
  }

  private assertOpen(): void {
    if (this.closed) throw new Error('The event transport is closed');
  }
}

class RedisStreamSubscription implements Subscription {
  private running = true;
  private groupReady = false;
  /** Where the next `XAUTOCLAIM` scan of the group's pending entries starts. */
  private claimCursor = '0-0';
  /** Handler errors of entries left pending, for the dead letter of a later delivery. */
  private readonly lastErrors = new Map<string, Error>();
  private wakePause: (() => void) | undefined;
  private readonly done: Promise<void>;

  constructor(
    private readonly redis: Redis,
    private readonly blocking: Redis,
    private readonly key: string,
    private readonly options: ResolvedSubscribeOptions,
    private readonly settings: Required<Omit<RedisStreamsTransportOptions, 'log'>>,
    private readonly log: Logger,
    private readonly onStopped: () => void,
  ) {
    this.done = this.run();
  }

  async stop(): Promise<void> {
    if (this.running) {
      this.running = false;
      this.wakePause?.();
      // Interrupts a blocked XREADGROUP at once. An entry whose delivery was in flight stays
      // pending in the group and is reclaimed later: at-least-once holds.
      this.blocking.disconnect();
    }
    await this.done;
  }

  private async run(): Promise<void> {
    try {
      while (this.running) {
        try {
          if (!this.groupReady) {
            await this.ensureGroup();
            this.groupReady = true;
          }
          const moreToClaim = await this.reclaim();
          if (!this.running) break;
          await this.readNew(moreToClaim);
        } catch (err) {
          if (!this.running) break;
          if (String((err as Error).message).includes('NOGROUP')) this.groupReady = false;
          this.log.error(
            { err, stream: this.options.stream, group: this.options.group },
            'event subscription failed; retrying',
          );
          await this.pause(this.settings.errorBackoffMs);
        }
      }
    } finally {
      if (this.blocking.status !== 'end') this.blocking.disconnect();
      this.onStopped();
    }
  }

  /** Creates the group at the start of the stream (`0`), so that it sees earlier events too. */
  private async ensureGroup(): Promise<void> {
    try {
      await this.redis.xgroup('CREATE', this.key, this.options.group, '0', 'MKSTREAM');
    } catch (err) {
      if (!String((err as Error).message).startsWith('BUSYGROUP')) throw err;
    }
  }

  /**
   * Takes over entries of the group left unacknowledged for `retryAfterMs` (failed here, or
   * held by a crashed instance) and delivers them again. Returns whether the scan of the
   * group's pending entries has more to go.
   */
  private async reclaim(): Promise<boolean> {
    const reply = (await this.redis.xautoclaim(
      this.key,
      this.options.group,
      this.options.consumer,
      this.options.retryAfterMs,
      this.claimCursor,
      'COUNT',
      this.settings.batchSize,
    )) as [string, StreamEntry[], string[]?];
    const [cursor, entries] = reply;
    this.claimCursor = cursor;
    if (entries.length > 0) {
      const deliveries = await this.deliveryCounts(entries.map(([id]) => id));
      // Finished even when stopping: an entry claimed and skipped would count as a delivery.
      for (const [id, fields] of entries) {
        await this.process(id, fields, deliveries.get(id) ?? 1);
      }
    }
    return cursor !== '0-0';
  }

  /** Delivery counts of entries just claimed by this consumer (`XPENDING`, extended form). */
  private async deliveryCounts(ids: string[]): Promise<Map<string, number>> {
    const pipeline = this.redis.pipeline();
    for (const id of ids) {
      pipeline.xpending(this.key, this.options.group, id, id, 1, this.options.consumer);
    }
    const results = (await pipeline.exec()) ?? [];
    const counts = new Map<string, number>();
    for (const [err, rows] of results) {
      if (err) throw err;
      for (const row of rows as Array<[string, string, number, number]>) {
        counts.set(row[0], Number(row[3]));
      }
    }
    return counts;
  }

  /** Reads entries the group has not seen yet, blocking briefly when there are none. */
  private async readNew(moreToClaim: boolean): Promise<void> {
    const block = Math.max(10, Math.min(this.settings.blockMs, this.options.retryAfterMs));
    const args: Array<string | number> = [
      'GROUP',
      this.options.group,
      this.options.consumer,
      'COUNT',
      this.settings.batchSize,
      // With pending entries still to reclaim, do not wait for new ones.
      ...(moreToClaim ? [] : ['BLOCK', block]),
      'STREAMS',
      this.key,
      '>',
    ];
    const reply = (await this.blocking.call('XREADGROUP', ...args)) as Array<
      [string, StreamEntry[]]
    > | null;
    if (!reply) return;
    for (const [, entries] of reply) {
      for (const [id, fields] of entries) await this.process(id, fields, 1);
    }
  }

  private async process(id: string, fields: string[] | null, deliveries: number): Promise<void> {
    const raw = fields ? valueOf(fields, EVENT_FIELD) : undefined;
    let event: DomainEvent;
    try {
      if (raw === undefined) throw new Error('The entry has no event (deleted or foreign)');
      event = parseEvent(raw);
    } catch (err) {
      // Nothing a handler could do with it; keeping it would only retry it forever.
      this.log.error({ err, stream: this.options.stream, entryId: id, raw }, 'dropped an entry');
      await this.ack(id);
      return;
    }
    const outcome = await deliverOnce(
      event,
      deliveries,
      this.lastErrors.get(id),
      this.options,
      this.log,
    );
    if (outcome.settled) {
      await this.ack(id);
      this.lastErrors.delete(id);
      return;
    }
    // Left pending: XAUTOCLAIM delivers it again once idle for retryAfterMs.
    this.lastErrors.delete(id);
    this.lastErrors.set(id, outcome.error);
    if (this.lastErrors.size > MAX_REMEMBERED_ERRORS) {
      const oldest = this.lastErrors.keys().next().value;
      if (oldest !== undefined) this.lastErrors.delete(oldest);
    }
  }

  private async ack(id: string): Promise<void> {
    await this.redis.xack(this.key, this.options.group, id);
  }

  /** Waits `ms`, or less if the subscription is stopped meanwhile. */
  private pause(ms: number): Promise<void> {
    return new Promise<void>((resolve) => {
      const wake = () => {
        clearTimeout(timer);
        this.wakePause = undefined;
        resolve();
      };
      const timer = setTimeout(wake, ms);
      this.wakePause = wake;
    });
  }
}

/** The value of `name` in a stream entry's flat `[field, value, ...]` list. */
function valueOf(fields: string[], name: string): string | undefined {
  for (let i = 0; i + 1 < fields.length; i += 2) {
    if (fields[i] === name) return fields[i + 1];
  }
  return undefined;
}

/** `events:${stream}:${group}:${consumer}`, restricted to what CLIENT SETNAME accepts. */
export function subscriptionConnectionName(options: {
  stream: string;
  group: string;
  consumer: string;
}): string {
  const name = `events:${options.stream}:${options.group}:${options.consumer}`;
  return name.replace(/[^\w:.-]/g, '_').slice(0, 200);
}

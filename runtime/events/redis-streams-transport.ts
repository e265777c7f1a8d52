import { createLogger, type Logger } from '../logger';
import { serviceMetrics, type Sample } from '../metrics';
import { closeRedis, createRedis, type RedisClient } from '../redis';
import { deliverOnce, refuseStale, type DeliveryOutcome } from './delivery';
import { assertStreamName, parseEvent, serializeEvent, type DomainEvent } from './event';
import { REMOVE_IDLE_CONSUMERS_LUA, TRIM_ACKNOWLEDGED_LUA } from './redis-streams.scripts';
import {
  DEFAULT_EVENT_RETENTION_MS,
  DEFAULT_IDLE_CONSUMER_MS,
  DEFAULT_STREAM_MAX_LENGTH,
  resolveSubscribeOptions,
} from './subscribe-options';
import type {
  EventTransport,
  ResolvedSubscribeOptions,
  SubscribeOptions,
  Subscription,
} from './transport';

export interface RedisStreamsTransportOptions {
  log?: Logger;
  /** Longest a subscription blocks in `XREADGROUP` between checks for retries. Default 500. */
  blockMs?: number;
  /** Entries read or reclaimed per round trip. Default 50. */
  batchSize?: number;
  /** Wait after a Redis error before trying again. Default 1000. */
  errorBackoffMs?: number;
  /**
   * The event retention (`EVENT_RETENTION_HOURS`). A redelivery of an entry published longer
   * ago is dead-lettered instead of handled (the consumers' idempotency records are pruned
   * after this long, see `refuseStale`), and a stream without consumer groups keeps entries
   * this long. Default 168 h.
   */
  retentionMs?: number;
  /** How often known streams are trimmed and idle consumers removed (`upkeep`). Default 60 s. */
  upkeepIntervalMs?: number;
  /** A consumer idle this long with nothing pending is removed from its group. Default 10 min. */
  idleConsumerMs?: number;
  /**
   * A stream still longer than this after trimming is reported in the log: some group is far
   * behind, or was abandoned (remove it with `XGROUP DESTROY`). Default 100,000.
   */
  lengthWarning?: number;
  /** The clock (ms) for entry ages; tests move it. Default `Date.now`. */
  now?: () => number;
}

type Settings = Required<Omit<RedisStreamsTransportOptions, 'log' | 'now'>>;

/** What one `upkeep` pass did. */
export interface StreamUpkeepReport {
  /** Entries trimmed, per stream name. */
  trimmed: Record<string, number>;
  /** Consumers removed, as `stream/group/consumer`. */
  removedConsumers: string[];
}

/** The scripts of `redis-streams.scripts.ts` as ioredis commands (EVALSHA, falling back). */
interface StreamCommands {
  moviehubTrimAcknowledged(key: string, cutoffMs: number): Promise<[number, number, number]>;
  moviehubRemoveIdleConsumers(
    key: string,
    group: string,
    idleMs: number,
    keep: string,
  ): Promise<string[]>;
}

/** The stream entry field holding the serialised event. */
const EVENT_FIELD = 'event';
/** Handler errors remembered per entry for a later dead letter; bounded. */
const MAX_REMEMBERED_ERRORS = 1000;

type StreamEntry = [id: string, fields: string[] | null];

/**
 * Events over Redis Streams consumer groups. `publish` appends with `XADD`; each group is
 * created at the start of the stream, so a group that appears later still reads what the
 * stream holds. Each subscription reads with `XREADGROUP` on its own connection (a blocking
 * read would stall every other command on a shared one), acknowledges with `XACK` after its
 * handler succeeded, and reclaims with `XAUTOCLAIM` whatever stayed unacknowledged longer
 * than `retryAfterMs`: its own failures and the entries of instances that crashed. The
 * delivery count Redis keeps decides when an event is given up on and dead-lettered. Keys
 * are `${keyPrefix}events:${stream}`.
 *
 * Nothing a group has not acknowledged is trimmed: instead of `XADD MAXLEN` (which drops the
 * oldest entries whoever still needs them), a periodic `upkeep` trims each stream this
 * instance uses to what every group has acknowledged (`XTRIM MINID`, see
 * `redis-streams.scripts.ts`), and removes consumers of stopped instances once nothing is
 * pending for them. Any number of instances may run it at once: each pass is one atomic
 * script per stream.
 */
export class RedisStreamsTransport implements EventTransport {
  private readonly redis: RedisClient & StreamCommands;
  private readonly subscriptions = new Set<RedisStreamSubscription>();
  /** Streams this instance publishes to or reads: the ones its upkeep trims. */
  private readonly streams = new Set<string>();
  private readonly log: Logger;
  private readonly settings: Settings;
  private readonly now: () => number;
  private upkeepTimer: NodeJS.Timeout | undefined;
  private upkeepRunning: Promise<unknown> | undefined;
  private closed = false;

  constructor(
    private readonly redisUrl: string,
    private readonly keyPrefix: string,
    options: RedisStreamsTransportOptions = {},
  ) {
    this.log = options.log ?? createLogger('events', 'info');
    this.settings = {
      blockMs: options.blockMs ?? 500,
      batchSize: options.batchSize ?? 50,
      errorBackoffMs: options.errorBackoffMs ?? 1000,
      retentionMs: options.retentionMs ?? DEFAULT_EVENT_RETENTION_MS,
      upkeepIntervalMs: options.upkeepIntervalMs ?? 60_000,
      idleConsumerMs: options.idleConsumerMs ?? DEFAULT_IDLE_CONSUMER_MS,
      lengthWarning: options.lengthWarning ?? DEFAULT_STREAM_MAX_LENGTH,
    };
    for (const [name, value] of Object.entries(this.settings)) {
      // 0 idle means "any consumer idle with nothing pending" (tests); others must be > 0.
      const least = name === 'idleConsumerMs' ? 0 : Number.MIN_VALUE;
      if (!Number.isFinite(value) || value < least) {
        throw new Error(`${name} must be a positive number, got ${value}`);
      }
    }
    this.now = options.now ?? Date.now;
    const redis = createRedis(redisUrl);
    redis.defineCommand('moviehubTrimAcknowledged', {
      numberOfKeys: 1,
      lua: TRIM_ACKNOWLEDGED_LUA,
    });
    redis.defineCommand('moviehubRemoveIdleConsumers', {
      numberOfKeys: 1,
      lua: REMOVE_IDLE_CONSUMERS_LUA,
    });
    this.redis = redis as RedisClient & StreamCommands;
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
    this.track(stream);
    const key = this.streamKey(stream);
    // MULTI: a batch lands whole or not at all, so a retry never leaves a gap in the middle.
    const multi = this.redis.multi();
    for (const event of events) multi.xadd(key, '*', EVENT_FIELD, serializeEvent(event));
    const results = await multi.exec();
    if (!results) throw new Error(`Publishing to ${key} was aborted`);
    const failed = results.find(([err]) => err);
    if (failed?.[0]) throw failed[0];
  }

  subscribe(options: SubscribeOptions): Subscription {
    this.assertOpen();
    assertStreamName(options.stream);
    const resolved = resolveSubscribeOptions(options);
    this.track(resolved.stream);
    const blocking = createRedis(this.redisUrl, {
      maxRetriesPerRequest: null,
      // Shows in CLIENT LIST which subscription a connection serves.
      connectionName: subscriptionConnectionName(resolved),
    });
    blocking.on('error', (err) =>
      this.log.warn({ err, stream: resolved.stream }, 'event subscription: redis error'),
    );
    const unsample = sampleGroup(this.redis, this.streamKey(resolved.stream), resolved);
    const subscription = new RedisStreamSubscription(
      this.redis,
      blocking,
      this.streamKey(resolved.stream),
      resolved,
      this.settings,
      this.now,
      this.log,
      () => {
        unsample();
        this.subscriptions.delete(subscription);
      },
    );
    this.subscriptions.add(subscription);
    return subscription;
  }

  /**
   * Trims a stream to what every consumer group has acknowledged (a stream without groups:
   * to the retention). Returns how many entries went.
   */
  async trimStream(stream: string): Promise<number> {
    assertStreamName(stream);
    const cutoff = Math.max(0, Math.floor(this.now() - this.settings.retentionMs));
    const [trimmed, length, groups] = await this.redis.moviehubTrimAcknowledged(
      this.streamKey(stream),
      cutoff,
    );
    if (length > this.settings.lengthWarning) {
      this.log.warn(
        { stream, length, groups },
        'event stream keeps growing: a consumer group is far behind or abandoned ' +
          '(XINFO GROUPS shows its lag; XGROUP DESTROY removes a group no longer used)',
      );
    }
    return Number(trimmed);
  }

  /**
   * Removes the consumers of a group idle for `idleConsumerMs` with nothing pending, except
   * `keep`. Returns their names.
   */
  async removeIdleConsumers(stream: string, group: string, keep = ''): Promise<string[]> {
    assertStreamName(stream);
    return this.redis.moviehubRemoveIdleConsumers(
      this.streamKey(stream),
      group,
      this.settings.idleConsumerMs,
      keep,
    );
  }

  /**
   * One pass of upkeep over the streams this instance uses and the groups it reads: trim,
   * then remove idle consumers. Runs every `upkeepIntervalMs` on its own; callable directly
   * (tests, operators). A stream that fails is logged and skipped.
   */
  async upkeep(): Promise<StreamUpkeepReport> {
    const report: StreamUpkeepReport = { trimmed: {}, removedConsumers: [] };
    for (const stream of [...this.streams]) {
      try {
        report.trimmed[stream] = await this.trimStream(stream);
      } catch (err) {
        this.log.warn({ err, stream }, 'event stream upkeep: trimming failed');
      }
    }
    for (const subscription of [...this.subscriptions]) {
      const { stream, group, consumer } = subscription.options;
      try {
        const removed = await this.removeIdleConsumers(stream, group, consumer);
        for (const name of removed) report.removedConsumers.push(`${stream}/${group}/${name}`);
        if (removed.length > 0) {
          this.log.info({ stream, group, removed }, 'removed consumers of stopped instances');
        }
      } catch (err) {
        this.log.warn({ err, stream, group }, 'event stream upkeep: consumer cleanup failed');
      }
    }
    return report;
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    clearTimeout(this.upkeepTimer);
    await Promise.all([...this.subscriptions].map((s) => s.stop()));
    await this.upkeepRunning;
    await closeRedis(this.redis);
  }

  /** Remembers a stream for upkeep, and starts the upkeep timer with the first one. */
  private track(stream: string): void {
    this.streams.add(stream);
    if (!this.upkeepTimer) this.scheduleUpkeep();
  }

  private scheduleUpkeep(): void {
    this.upkeepTimer = setTimeout(() => {
      if (this.closed) return;
      const run = this.upkeep().catch((err) =>
        this.log.warn({ err }, 'event stream upkeep failed'),
      );
      this.upkeepRunning = run;
      void run.finally(() => {
        if (!this.closed) this.scheduleUpkeep();
      });
    }, this.settings.upkeepIntervalMs);
    // Upkeep alone never keeps a process alive.
    this.upkeepTimer.unref();
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
    private readonly redis: RedisClient,
    private readonly blocking: RedisClient,
    private readonly key: string,
    readonly options: ResolvedSubscribeOptions,
    private readonly settings: Settings,
    private readonly now: () => number,
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
    // A redelivery may follow a delivery that was applied but never acknowledged; once older
    // than the retention, the record that would tell (processed_events) may be pruned, so it
    // is dead-lettered rather than risk applying it twice. A first delivery to this group
    // cannot have been applied by it before, however old. The entry id's first part is when
    // Redis stored the entry (ms): when the event was published.
    const ageMs = this.now() - Number(id.slice(0, id.indexOf('-')));
    const outcome =
      deliveries > 1 && ageMs > this.settings.retentionMs
        ? await refuseStale(
            event,
            ageMs,
            this.settings.retentionMs,
            deliveries,
            this.options,
            this.log,
          )
        : await deliverOnce(event, deliveries, this.lastErrors.get(id), this.options, this.log);
    await this.settle(id, outcome);
  }

  private async settle(id: string, outcome: DeliveryOutcome): Promise<void> {
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

/**
 * A consumer group's backlog at each scrape, from `XINFO GROUPS` (one cheap command): events
 * delivered and not acknowledged (`moviehub_event_stream_pending`) and, on Redis 7+, events
 * not delivered yet (`moviehub_event_stream_lag`). Reported by the service that consumes: the
 * one a group is named after (`cinemas-seat-reservations` → cinemas). Returns how to stop.
 */
function sampleGroup(
  redis: RedisClient,
  key: string,
  { stream, group }: { stream: string; group: string },
): () => void {
  const metrics = serviceMetrics(group.split(/[-.]/, 1)[0]);
  const labels = { stream, group };
  // Both gauges are read in the same scrape: they share one command.
  let reading: Promise<unknown[] | undefined> | undefined;
  const read = () =>
    (reading ??= (redis.xinfo('GROUPS', key) as Promise<unknown[][]>)
      .then((groups) => groups.find((fields) => valueOf(fields, 'name') === group))
      // No stream or group yet: nothing delivered, nothing waiting.
      .catch((err: Error) => {
        if (/no such key|NOGROUP/i.test(err.message)) return undefined;
        throw err;
      })
      .finally(() => (reading = undefined)));
  const sampleOf = (field: string) => async (): Promise<Sample<'stream' | 'group'>[]> => {
    const info = await read();
    const value = info && valueOf(info, field);
    return typeof value === 'number' ? [{ labels, value }] : [];
  };
  const removers = [
    metrics
      .sampled(
        'moviehub_event_stream_pending',
        'Events of a stream delivered to a consumer group and not acknowledged yet',
        ['stream', 'group'],
      )
      .add(sampleOf('pending')),
    metrics
      .sampled(
        'moviehub_event_stream_lag',
        'Events of a stream not delivered to a consumer group yet (Redis 7+)',
        ['stream', 'group'],
      )
      .add(sampleOf('lag')),
  ];
  return () => {
    for (const remove of removers) remove();
  };
}

/** The value of `name` in a flat `[field, value, ...]` list (a stream entry, XINFO's answers). */
function valueOf<T>(fields: readonly T[], name: string): T | undefined {
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

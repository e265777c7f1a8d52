import type { DomainEvent } from './event';

/** What `subscribe` takes: one consumer of one group on one stream. */
export interface SubscribeOptions {
  /** The stream name given to `publish` (the transport adds its own key prefix). */
  stream: string;
  /**
   * The consumer group: every group gets every event of the stream from the group's
   * creation on, and nothing it has not acknowledged is ever dropped, so a subgraph that was
   * down catches up. A group is created at the oldest entry the stream still holds: on Redis,
   * entries every existing group acknowledged are trimmed (a stream without groups keeps
   * them for the event retention), so a consumer deployed later starts from what is left
   * and a new read model backfills its history from the source, not from the stream.
   * Name it after the consuming service and purpose, e.g. `cinemas.seat-reservations`.
   */
  group: string;
  /**
   * This instance within the group: the instances of one group share its events. Use
   * `eventConsumerName(service)`, stable across restarts on a host, so that restarts do not
   * pile up consumers; those of stopped instances are removed by the Redis transport's
   * upkeep once idle with nothing pending.
   */
  consumer: string;
  /**
   * Applies one event. Delivery is at-least-once: the same event may arrive again (after a
   * crash, a retry, a relay republishing), so the handler must be idempotent, e.g. through
   * `handleOnce`. Throwing means "not done": the event is delivered again later.
   */
  handler: (event: DomainEvent) => Promise<void>;
  /** Deliveries before an event is given up on and handed to `onDeadLetter`. Default 5. */
  maxAttempts?: number;
  /**
   * How long a delivered but unacknowledged event waits before it is delivered again; also
   * how long an event held by a crashed instance waits before another instance takes it.
   * Keep it above the handler's normal run time. Default 1000.
   */
  retryAfterMs?: number;
  /**
   * Keeps an event that failed `maxAttempts` times (e.g. `recordDeadLetter`). The event is
   * acknowledged only when this resolves; if it throws, it is tried again later.
   */
  onDeadLetter: (event: DomainEvent, error: Error, attempts: number) => Promise<void>;
}

/** A running subscription. */
export interface Subscription {
  /** Stops reading; resolves once the events already in hand are finished. */
  stop(): Promise<void>;
}

/**
 * Moves domain events between subgraphs with consumer-group semantics: at-least-once,
 * retried, dead-lettered after `maxAttempts`. Redis Streams in production, in memory in the
 * embedded local mode; both behave the same so that one code path serves both.
 */
export interface EventTransport {
  /** Appends events to a stream, in order. Resolves once they are durably in the transport. */
  publish(stream: string, events: DomainEvent[]): Promise<void>;
  subscribe(options: SubscribeOptions): Subscription;
  /** Stops every subscription and closes connections; the transport is unusable afterwards. */
  close(): Promise<void>;
}

/** `SubscribeOptions` with defaults applied and checked. */
export type ResolvedSubscribeOptions = Required<SubscribeOptions>;

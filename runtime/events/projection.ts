import type { DataSource, EntityManager } from 'typeorm';
import type { Logger } from '../logger';
import { handleOnce, recordDeadLetter } from './consumer';
import type { DomainEvent } from './event';
import type { EventTransport } from './transport';

/** What `startEventConsumer` needs: one consumer group on one stream, of some event types. */
export interface EventConsumerOptions {
  /** The consumer's own database, where what it gives up on is kept (`dead_letters`). */
  dataSource: DataSource;
  transport: EventTransport;
  stream: string;
  /** The consumer group, and the name its dead-letter rows carry. */
  group: string;
  /** This instance within the group. */
  consumer: string;
  /** The event types it handles; others on the stream are acknowledged and skipped. */
  types: readonly string[];
  /** Handles one event; a failure has it delivered again, and dead-lettered in the end. */
  handle: (event: DomainEvent) => Promise<void>;
  log: Logger;
}

/**
 * A consumer group of another part's events: each event of `types` is handled, a failure is
 * retried by the transport (at least once: the handler must be idempotent), and an event
 * that keeps failing is logged and recorded in `dead_letters`. Returns how to stop it.
 */
export function startEventConsumer(options: EventConsumerOptions): () => Promise<void> {
  const { dataSource, stream, group, log } = options;
  const subscription = options.transport.subscribe({
    stream,
    group,
    consumer: options.consumer,
    handler: async (event) => {
      if (options.types.includes(event.type)) await options.handle(event);
    },
    onDeadLetter: async (event, error, attempts) => {
      log.error(
        { eventId: event.id, type: event.type, err: error, attempts },
        'event dead-lettered',
      );
      await recordDeadLetter(dataSource, group, stream, event, error, attempts);
    },
  });
  return () => subscription.stop();
}

export interface ProjectionOptions<P> extends Omit<EventConsumerOptions, 'handle'> {
  /** Applies one event, in the transaction that records it as processed. */
  apply: (tx: EntityManager, event: DomainEvent<P>) => Promise<void>;
}

/**
 * A read model fed by another subgraph's events: each event is applied at most once
 * (`handleOnce`), failures are retried by the transport, and an event that keeps failing is
 * logged and recorded in `dead_letters`. Returns how to stop it.
 */
export function startProjection<P>(options: ProjectionOptions<P>): () => Promise<void> {
  return startEventConsumer({
    ...options,
    handle: async (event) => {
      await handleOnce(options.dataSource, options.group, event, (tx) =>
        options.apply(tx, event as DomainEvent<P>),
      );
    },
  });
}

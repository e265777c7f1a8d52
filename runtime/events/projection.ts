import type { DataSource, EntityManager } from 'typeorm';
import type { Logger } from '../logger';
import { handleOnce, recordDeadLetter } from './consumer';
import type { DomainEvent } from './event';
import type { EventTransport } from './transport';

export interface ProjectionOptions<P> {
  dataSource: DataSource;
  transport: EventTransport;
  stream: string;
  /** The consumer group, and the name its idempotency and dead-letter rows carry. */
  group: string;
  /** This instance within the group. */
  consumer: string;
  /** The event types it applies; others on the stream are acknowledged and skipped. */
  types: readonly string[];
  /** Applies one event, in the transaction that records it as processed. */
  apply: (tx: EntityManager, event: DomainEvent<P>) => Promise<void>;
  log: Logger;
}

/**
 * A read model fed by another subgraph's events: each event is applied at most once
 * (`handleOnce`), failures are retried by the transport, and an event that keeps failing is
 * logged and recorded in `dead_letters`. Returns how to stop it.
 */
export function startProjection<P>(options: ProjectionOptions<P>): () => Promise<void> {
  const { dataSource, stream, group, log } = options;
  const subscription = options.transport.subscribe({
    stream,
    group,
    consumer: options.consumer,
    handler: async (event) => {
      if (!options.types.includes(event.type)) return;
      await handleOnce(dataSource, group, event, (tx) =>
        options.apply(tx, event as DomainEvent<P>),
      );
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

import type { Logger } from '../logger';
import { toError, type DomainEvent } from './event';
import type { ResolvedSubscribeOptions } from './transport';

/** Whether a delivered event is finished with (acknowledge it) or must be delivered again. */
export type DeliveryOutcome = { settled: true } | { settled: false; error: Error };

/**
 * One delivery of one event, with the retry and dead-letter policy both transports share:
 * the handler runs; a failure on the last allowed delivery goes to `onDeadLetter`. A delivery
 * beyond `maxAttempts` (earlier ones never finished: the consumer crashed, or recording the
 * dead letter failed) goes straight to `onDeadLetter` without running the handler again, so
 * that an event that crashes its consumer cannot loop forever.
 */
export async function deliverOnce(
  event: DomainEvent,
  deliveries: number,
  previousError: Error | undefined,
  options: ResolvedSubscribeOptions,
  log: Logger,
): Promise<DeliveryOutcome> {
  const context = {
    stream: options.stream,
    group: options.group,
    consumer: options.consumer,
    eventId: event.id,
    eventType: event.type,
    deliveries,
  };
  if (deliveries > options.maxAttempts) {
    const error =
      previousError ??
      new Error(`Delivered ${deliveries - 1} times without the handler completing`);
    return deadLetter(event, error, deliveries - 1, options, log, context);
  }
  try {
    await options.handler(event);
    return { settled: true };
  } catch (thrown) {
    const error = toError(thrown);
    if (deliveries >= options.maxAttempts) {
      return deadLetter(event, error, deliveries, options, log, context);
    }
    log.warn({ ...context, err: error }, 'event handler failed; will retry');
    return { settled: false, error };
  }
}

async function deadLetter(
  event: DomainEvent,
  error: Error,
  attempts: number,
  options: ResolvedSubscribeOptions,
  log: Logger,
  context: Record<string, unknown>,
): Promise<DeliveryOutcome> {
  try {
    await options.onDeadLetter(event, error, attempts);
    log.error({ ...context, attempts, err: error }, 'event dead-lettered');
    return { settled: true };
  } catch (thrown) {
    log.error(
      { ...context, err: toError(thrown), handlerError: error.message },
      'could not record a dead letter; will retry',
    );
    return { settled: false, error };
  }
}

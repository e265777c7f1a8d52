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

/**
 * A redelivery of an event published longer ago than the event retention. It is not given to
 * the handler but dead-lettered (kept, with this reason, for someone to look at): a
 * redelivery means an earlier delivery may have been applied without being acknowledged, and
 * the record that would show it (`processed_events`, pruned after the retention) may be gone,
 * so applying it could apply it twice. Redeliveries normally happen within seconds; one this
 * old means every instance of the group was down for the whole retention period.
 */
export async function refuseStale(
  event: DomainEvent,
  ageMs: number,
  retentionMs: number,
  deliveries: number,
  options: ResolvedSubscribeOptions,
  log: Logger,
): Promise<DeliveryOutcome> {
  const hours = (ms: number) => Math.round((ms / 3_600_000) * 10) / 10;
  const error = new Error(
    `Redelivered ${hours(ageMs)} h after it was published, beyond the event retention ` +
      `(${hours(retentionMs)} h): not applied, since whether it was applied before can no ` +
      'longer be told',
  );
  return deadLetter(event, error, Math.max(1, deliveries - 1), options, log, {
    stream: options.stream,
    group: options.group,
    consumer: options.consumer,
    eventId: event.id,
    eventType: event.type,
    deliveries,
  });
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

/**
 * A state change one subgraph tells the others about. Events are facts in the past tense
 * (`showtime.scheduled`, `booking.confirmed`); their `id` is what consumers deduplicate on.
 */
export interface DomainEvent<P = unknown> {
  /** A UUID, unique per event; redeliveries of the same event carry the same id. */
  id: string;
  /** `aggregate.past-tense-verb`, e.g. `showtime.scheduled`. */
  type: string;
  /** The id of the entity the event is about (a booking id, a showtime id...). */
  aggregateId: string;
  /** JSON-serialisable facts; what goes in is what comes out after a JSON round trip. */
  payload: P;
  /** ISO 8601, set by the producer when the change was made (not when it was delivered). */
  occurredAt: string;
}

/** What a producer supplies; the id and the time are set by `appendEvents`. */
export interface NewEvent<P = unknown> {
  type: string;
  aggregateId: string;
  payload: P;
}

/**
 * Stream names end up in Redis keys and log lines; a small alphabet keeps them readable and
 * keeps a typo (a space, a slash) from silently creating a stream nobody listens to.
 */
const STREAM_NAME = /^[a-z][a-z0-9._-]{0,99}$/;

/** Refuses a stream name outside `[a-z][a-z0-9._-]*` before it becomes a key or a row. */
export function assertStreamName(stream: string): void {
  if (!STREAM_NAME.test(stream)) {
    throw new Error(`Invalid event stream name "${stream}" (expected ${STREAM_NAME.source})`);
  }
}

/** Serialises an event for a transport; the one place the wire format is decided. */
export function serializeEvent(event: DomainEvent): string {
  return JSON.stringify(event);
}

/**
 * Parses what `serializeEvent` produced, checking the envelope so that a malformed entry is
 * reported as such instead of reaching a handler as `undefined` fields.
 */
export function parseEvent(json: string): DomainEvent {
  const value: unknown = JSON.parse(json);
  if (typeof value !== 'object' || value === null) throw new Error('Event is not an object');
  const e = value as Record<string, unknown>;
  for (const key of ['id', 'type', 'aggregateId', 'occurredAt'] as const) {
    if (typeof e[key] !== 'string') throw new Error(`Event field "${key}" is not a string`);
  }
  if (!('payload' in e)) throw new Error('Event has no payload');
  return {
    id: e.id as string,
    type: e.type as string,
    aggregateId: e.aggregateId as string,
    payload: e.payload,
    occurredAt: e.occurredAt as string,
  };
}

/** Anything thrown, as an Error: handlers may throw strings or plain objects. */
export function toError(thrown: unknown): Error {
  if (thrown instanceof Error) return thrown;
  if (typeof thrown === 'string') return new Error(thrown);
  try {
    return new Error(JSON.stringify(thrown) ?? String(thrown));
  } catch {
    return new Error(String(thrown));
  }
}

/** An error as stored text (outbox `last_error`, `dead_letters.error`), bounded in size. */
export function describeError(error: Error, maxLength = 4000): string {
  const text = error.stack ?? `${error.name}: ${error.message}`;
  return text.length > maxLength ? `${text.slice(0, maxLength)}…` : text;
}

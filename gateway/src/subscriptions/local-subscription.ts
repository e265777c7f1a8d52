import type { ExecutionResult, GraphQLError } from 'graphql';
import type { UpstreamEvent } from './gateway-types';
import { errorResult } from './subscription-errors';

/** Events buffered for a subscriber that does not pull them, unless configured otherwise. */
export const DEFAULT_MAX_BUFFERED_EVENTS = 1000;

const DONE: IteratorReturnResult<undefined> = Object.freeze({ done: true, value: undefined });

/** What the shared upstream hands one subscriber. */
export type QueueItem =
  | { readonly kind: 'event'; readonly event: UpstreamEvent }
  /** A result with errors that does not end the subscription (the upstream is reconnecting). */
  | { readonly kind: 'notice'; readonly errors: readonly GraphQLError[] }
  | { readonly kind: 'end'; readonly errors?: readonly GraphQLError[] };

/** A queued item; an event keeps the execution current when it arrived. */
type Queued =
  | (QueueItem & { readonly kind: 'notice' | 'end' })
  | {
      readonly kind: 'event';
      readonly event: UpstreamEvent;
      readonly execute: (event: UpstreamEvent) => Promise<ExecutionResult>;
    };

/**
 * One subscriber's iterator. Upstream events are queued raw and turned into a federated
 * result when pulled, in order, so a slow consumer costs a bounded queue, not parallel work.
 * Past `maxBufferedEvents` the queue is dropped for one `SUBSCRIPTION_BUFFER_OVERFLOW` result
 * and the subscriber detached, so a stalled client cannot grow memory without bound.
 */
export class LocalSubscription implements AsyncIterableIterator<ExecutionResult> {
  private readonly queue: Queued[] = [];
  private wake: (() => void) | undefined;
  private closed = false;
  private tail: Promise<unknown> = Promise.resolve();
  /** Set by the upstream it joins: stops delivering to this subscriber (overflow, return). */
  detach: () => void = () => undefined;

  constructor(
    private execute: (event: UpstreamEvent) => Promise<ExecutionResult>,
    private readonly maxBufferedEvents: number,
    /** Upstream errors (shared by every subscriber) in this subscriber's response keys. */
    private ownErrors: (errors: readonly GraphQLError[]) => GraphQLError[],
  ) {}

  /**
   * From now on, events run with `execute` (a new supergraph's plan). Events already queued
   * keep the execution they arrived under: they came in the shape of the request it made.
   */
  rebind(
    execute: (event: UpstreamEvent) => Promise<ExecutionResult>,
    ownErrors: (errors: readonly GraphQLError[]) => GraphQLError[],
  ): void {
    this.execute = execute;
    this.ownErrors = ownErrors;
  }

  /** Whether it still delivers (not returned, not ended by its consumer). */
  get open(): boolean {
    return !this.closed;
  }

  /** Ends this subscriber alone: detached now, `errors` as its last result after its queue. */
  end(errors: readonly GraphQLError[]): void {
    if (this.closed) return;
    this.detach();
    this.detach = () => undefined;
    this.deliver({ kind: 'end', errors });
  }

  /** Called by the shared upstream. */
  deliver(item: QueueItem): void {
    if (this.closed) return;
    if (item.kind !== 'end' && this.queue.length >= this.maxBufferedEvents) {
      this.queue.length = 0;
      this.queue.push({
        kind: 'end',
        errors: errorResult(
          'Subscription dropped: the client did not keep up with its events',
          'SUBSCRIPTION_BUFFER_OVERFLOW',
        ).errors,
      });
      this.detach();
    } else {
      this.queue.push(item.kind === 'event' ? { ...item, execute: this.execute } : item);
    }
    this.signal();
  }

  next(): Promise<IteratorResult<ExecutionResult>> {
    // Concurrent next() calls are answered in order.
    const result = this.tail.then(() => this.pull());
    this.tail = result.catch(() => undefined);
    return result;
  }

  return(): Promise<IteratorResult<ExecutionResult>> {
    this.close();
    return Promise.resolve(DONE);
  }

  throw(error?: unknown): Promise<IteratorResult<ExecutionResult>> {
    this.close();
    // eslint-disable-next-line @typescript-eslint/prefer-promise-reject-errors -- the iterator protocol rejects with the value it is given
    return Promise.reject(error);
  }

  [Symbol.asyncIterator](): this {
    return this;
  }

  private close(): void {
    this.closed = true;
    this.queue.length = 0;
    this.detach();
    this.signal();
  }

  private signal(): void {
    const wake = this.wake;
    this.wake = undefined;
    wake?.();
  }

  private async pull(): Promise<IteratorResult<ExecutionResult>> {
    while (!this.closed && this.queue.length === 0) {
      await new Promise<void>((resolve) => (this.wake = resolve));
    }
    const item = this.queue.shift();
    if (this.closed || !item) return DONE;
    if (item.kind === 'end') {
      this.close();
      return item.errors?.length
        ? { done: false, value: { errors: this.ownErrors(item.errors) } }
        : DONE;
    }
    if (item.kind === 'notice')
      return { done: false, value: { errors: this.ownErrors(item.errors) } };
    return { done: false, value: await item.execute(item.event) };
  }
}

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

/** A queued event: the execution current when it arrived, and its result once started. */
interface QueuedEvent {
  readonly kind: 'event';
  readonly event: UpstreamEvent;
  readonly execute: (event: UpstreamEvent) => Promise<ExecutionResult>;
  /** Started by a direct write; whoever takes the event next uses it (one execution). */
  result?: Promise<ExecutionResult>;
}

/** A queued item; an event keeps the execution current when it arrived. */
type Queued = (QueueItem & { readonly kind: 'notice' | 'end' }) | QueuedEvent;

/**
 * Where a subscriber's results can be written straight to its client, past the iterator and
 * whoever consumes it (graphql-ws's loop, its hooks, its serialisation: per subscriber and
 * per event, the bulk of a fan-out's cost). `write` answers false for a result that must go
 * the standard way (through the iterator), or true when it took it: then it calls `written`
 * once, when the client's socket has taken it (or is gone). It must send exactly what the
 * iterator's consumer would have sent for that result, and never throw.
 */
export interface ResultSink {
  write(result: ExecutionResult, written: () => void): boolean;
}

/**
 * One subscriber's iterator. Upstream events are queued raw and turned into a federated
 * result when pulled, in order, so a slow consumer costs a bounded queue, not parallel work.
 * Past `maxBufferedEvents` the queue is dropped for one `SUBSCRIPTION_BUFFER_OVERFLOW` result
 * and the subscriber detached, so a stalled client cannot grow memory without bound.
 *
 * With a {@link ResultSink}, an event that arrives while the consumer waits in `next()` (it
 * has sent everything it was given) and no earlier write is in flight is executed and written
 * through the sink instead, one at a time, in order; the consumer keeps waiting. Anything
 * else (a notice, an end, a result the sink refuses, events queued behind one it was handed)
 * goes through the iterator as before, so the consumer still sees every ending, and a client
 * that does not take its writes fills the same bounded queue as one that does not pull.
 */
export class LocalSubscription implements AsyncIterableIterator<ExecutionResult> {
  private readonly queue: Queued[] = [];
  private wake: (() => void) | undefined;
  private closed = false;
  private tail: Promise<unknown> = Promise.resolve();
  /** The queue's head is being executed or written through the sink: nothing else takes it. */
  private direct = false;
  /** The event whose execution the direct way awaits. */
  private directHead: QueuedEvent | undefined;
  /** Set by the upstream it joins: stops delivering to this subscriber (overflow, return). */
  detach: () => void = () => undefined;

  constructor(
    private execute: (event: UpstreamEvent) => Promise<ExecutionResult>,
    private readonly maxBufferedEvents: number,
    /** Upstream errors (shared by every subscriber) in this subscriber's response keys. */
    private ownErrors: (errors: readonly GraphQLError[]) => GraphQLError[],
    /** Where results may be written directly (see {@link ResultSink}). */
    private readonly sink?: ResultSink,
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
      this.queue.push(
        item.kind === 'event'
          ? { kind: 'event', event: item.event, execute: this.execute, result: undefined }
          : item,
      );
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
    if (!this.closed) {
      // The head is on its way directly: when written, the rest follows from there.
      if (this.direct) return;
      // Nothing to take (a write just finished): woken, the consumer would only wait again,
      // a promise and a turn per delivery, and miss a direct write meanwhile.
      if (this.queue.length === 0) return;
      // The consumer waits with nothing of ours in hand: the next event may bypass it.
      if (this.sink && this.wake && this.queue[0]?.kind === 'event') {
        this.writeHead(this.queue[0]);
        return;
      }
    }
    this.wakeConsumer();
  }

  private wakeConsumer(): void {
    const wake = this.wake;
    this.wake = undefined;
    wake?.();
  }

  private writeHead(head: QueuedEvent): void {
    this.direct = true;
    this.directHead = head;
    head.result ??= head.execute(head.event);
    head.result.then(this.afterExecute, this.afterFailure);
  }

  /** Bound once: no closure per event. */
  private readonly afterExecute = (result: ExecutionResult): void => {
    const head = this.directHead;
    this.directHead = undefined;
    if (this.closed) return;
    if (this.queue[0] !== head) {
      // Overflow replaced the queue meanwhile: carry on with what is there now.
      this.direct = false;
      this.signal();
      return;
    }
    let taken = false;
    try {
      taken = this.sink!.write(result, this.afterWrite);
    } catch {
      // A sink that throws (it should not) must not stall the subscriber: the standard way.
    }
    if (taken) {
      // Still `direct` until written: the next event waits for the client to take this one.
      this.queue.shift();
      return;
    }
    // The standard way: the consumer takes the head, with the result already computed.
    this.direct = false;
    this.wakeConsumer();
  };

  /** The execution failed (it never should): the consumer gets the failure, as before. */
  private readonly afterFailure = (): void => {
    this.directHead = undefined;
    this.direct = false;
    if (!this.closed) this.wakeConsumer();
  };

  private readonly afterWrite = (): void => {
    this.direct = false;
    if (!this.closed) this.signal();
  };

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
    return { done: false, value: await (item.result ?? item.execute(item.event)) };
  }
}

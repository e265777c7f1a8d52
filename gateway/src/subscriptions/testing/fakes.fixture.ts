// Test fixtures of the subscriptions module (not part of it), for unit tests: a graphql-ws
// client that opens nothing (tests drive its connection and subscriptions by hand), a
// promise resolved by hand, and a logger that records.
import type { Client, ClientOptions, FormattedExecutionResult, Sink } from 'graphql-ws';
import type { UpstreamEvent } from '../gateway-types';

export interface FakeSubscription {
  readonly payload: { readonly query: string; readonly variables?: unknown };
  readonly sink: Sink<UpstreamEvent>;
  unsubscribed: boolean;
}

export class FakeClient implements Client {
  readonly subscriptions: FakeSubscription[] = [];
  disposeCalls = 0;
  terminateCalls = 0;
  /** What `dispose()` returns: a test sets a promise to hold the closing open. */
  disposing: Promise<void> | undefined;

  constructor(readonly options: ClientOptions = { url: 'ws://fake.invalid/graphql' }) {}

  on(): () => void {
    return () => undefined;
  }

  subscribe<Data, Extensions>(
    payload: FakeSubscription['payload'],
    sink: Sink<FormattedExecutionResult<Data, Extensions>>,
  ): () => void {
    const subscription: FakeSubscription = {
      payload,
      sink: sink as unknown as Sink<UpstreamEvent>,
      unsubscribed: false,
    };
    this.subscriptions.push(subscription);
    return () => {
      subscription.unsubscribed = true;
    };
  }

  iterate(): never {
    throw new Error('FakeClient.iterate is not used by the module');
  }

  dispose(): Promise<void> | void {
    this.disposeCalls += 1;
    return this.disposing;
  }

  terminate(): void {
    this.terminateCalls += 1;
  }

  /** The connection was acknowledged (graphql-ws's `connected` event). */
  connected(): void {
    this.options.on?.connected?.(undefined, undefined, false);
  }

  /** The socket closed (graphql-ws's `closed` event). */
  closed(): void {
    this.options.on?.closed?.({ code: 1006, reason: '' });
  }

  /** A ping went out (`received` false) or came in. */
  ping(received: boolean): void {
    this.options.on?.ping?.(received, undefined);
  }

  /** A pong came in (`received` true) or went out. */
  pong(received: boolean): void {
    this.options.on?.pong?.(received, undefined);
  }
}

/** A promise resolved by hand. */
export type Resolvable<T = void> = Promise<T> & { resolve(value: T): void };

export function resolvable<T = void>(): Resolvable<T> {
  let resolve!: (value: T) => void;
  const promise = new Promise<T>((r) => (resolve = r));
  return Object.assign(promise, { resolve });
}

/** A logger that keeps what it is told, for the tests to read instead of the console. */
export function recordingLogger() {
  const lines: string[] = [];
  const record = (message: unknown) => void lines.push(String(message));
  return { lines, debug: record, info: record, warn: record, error: record };
}

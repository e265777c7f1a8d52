// Test fixtures of the subscriptions module (not part of it): two small subgraphs, "a" with a
// subscription and "b" completing its items, driven by an in-memory pub/sub.
import { composeServices } from '@apollo/composition';
import { parse, type ExecutionResult } from 'graphql';
import gql from 'graphql-tag';

/** What the tests' gateway knows about a caller. */
export interface TestContext {
  readonly user: string;
}

export interface TickPayload {
  readonly n: number;
  readonly itemId: string;
  readonly fail?: boolean;
  /** Marks and who owns each: `Mark.mine` is per caller, `Mark.owner` hidden from clients. */
  readonly marks?: ReadonlyArray<{ readonly id: string; readonly owner: string | null }>;
}

/**
 * In-memory pub/sub the test drives. A listener exists from the moment the subgraph's resolver
 * asks for the iterator, so `until(count === 1)` means "the upstream subscription is live".
 */
export class TestPubSub<T> {
  private readonly channels = new Map<string, Set<Listener<T>>>();
  private readonly watchers = new Set<() => void>();

  subscribe(channel: string): AsyncIterableIterator<T> {
    const listeners = this.channels.get(channel) ?? new Set<Listener<T>>();
    this.channels.set(channel, listeners);
    const listener = new Listener<T>(() => {
      listeners.delete(listener);
      this.changed();
    });
    listeners.add(listener);
    this.changed();
    return listener;
  }

  publish(channel: string, value: T): void {
    for (const listener of this.channels.get(channel) ?? []) listener.push(value);
  }

  /** Ends every subscription on the channel (the source stream completes). */
  end(channel: string): void {
    for (const listener of [...(this.channels.get(channel) ?? [])]) listener.end();
  }

  count(channel: string): number {
    return this.channels.get(channel)?.size ?? 0;
  }

  /** Resolves once `predicate` holds (checked now and on every subscribe/unsubscribe). */
  until(predicate: () => boolean): Promise<void> {
    if (predicate()) return Promise.resolve();
    return new Promise((resolve) => {
      const check = () => {
        if (!predicate()) return;
        this.watchers.delete(check);
        resolve();
      };
      this.watchers.add(check);
    });
  }

  private changed(): void {
    for (const watcher of [...this.watchers]) watcher();
  }
}

class Listener<T> implements AsyncIterableIterator<T> {
  private readonly queue: T[] = [];
  private waiting: ((result: IteratorResult<T>) => void) | undefined;
  private done = false;

  constructor(private readonly onClose: () => void) {}

  push(value: T): void {
    if (this.waiting) {
      const waiting = this.waiting;
      this.waiting = undefined;
      waiting({ done: false, value });
    } else {
      this.queue.push(value);
    }
  }

  end(): void {
    this.finish();
  }

  next(): Promise<IteratorResult<T>> {
    const value = this.queue.shift();
    if (value !== undefined) return Promise.resolve({ done: false, value });
    if (this.done) return Promise.resolve({ done: true, value: undefined });
    return new Promise((resolve) => (this.waiting = resolve));
  }

  return(): Promise<IteratorResult<T>> {
    this.finish();
    return Promise.resolve({ done: true, value: undefined });
  }

  [Symbol.asyncIterator](): this {
    return this;
  }

  private finish(): void {
    if (this.done) return;
    this.done = true;
    this.onClose();
    const waiting = this.waiting;
    this.waiting = undefined;
    waiting?.({ done: true, value: undefined });
  }
}

/** The pub/sub behind subgraph "a": one per test file (each has its own module registry). */
export const pubsub = new TestPubSub<TickPayload>();

export const subgraphA = {
  typeDefs: gql`
    extend schema
      @link(url: "https://specs.apollo.dev/federation/v2.3", import: ["@key", "@inaccessible"])

    type Query {
      ping: String
    }

    type Subscription {
      ticks(channel: ID!): Tick!
    }

    type Tick {
      n: Int!
      item: Item!
      "Who the subgraph thinks is subscribed: from the upstream connection's headers."
      seenBy: String
      note: String
      label(prefix: String!): String
      marks: [Mark!]!
    }

    "Like a seat: whether the caller owns it is per caller; who owns it is for the gateway only."
    type Mark {
      id: ID!
      mine: Boolean!
      owner: String @inaccessible
    }

    type Item @key(fields: "id", resolvable: false) {
      id: ID!
    }
  `,
  resolvers: {
    Query: { ping: () => 'pong' },
    Subscription: {
      ticks: {
        subscribe: (_: unknown, { channel }: { channel: string }) => pubsub.subscribe(channel),
        resolve: (payload: TickPayload) => payload,
      },
    },
    Tick: {
      item: (tick: TickPayload) => ({ id: tick.itemId }),
      seenBy: (_: TickPayload, __: unknown, context: { user: string | null }) => context.user,
      note: (tick: TickPayload) => {
        if (tick.fail) throw new Error('note is broken for this tick');
        return `tick ${tick.n}`;
      },
      label: (tick: TickPayload, { prefix }: { prefix: string }) => `${prefix} ${tick.n}`,
      marks: (tick: TickPayload, _: unknown, context: { user: string | null }) =>
        (tick.marks ?? []).map((mark) => ({
          ...mark,
          mine: mark.owner !== null && mark.owner === context.user,
        })),
    },
  },
};

export const subgraphB = {
  typeDefs: gql`
    extend schema @link(url: "https://specs.apollo.dev/federation/v2.3", import: ["@key"])

    type Item @key(fields: "id") {
      id: ID!
      name: String!
      "Per caller: from the gateway's request headers."
      viewerTag: String
    }
  `,
  resolvers: {
    Item: {
      // A caller the subgraph knows nothing about gets no item at all.
      __resolveReference: ({ id }: { id: string }, context: { user: string | null }) =>
        context.user === 'stranger' ? null : { id, name: `Item ${id}` },
      viewerTag: (_: unknown, __: unknown, context: { user: string | null }) =>
        context.user ? `seen by ${context.user}` : null,
    },
  },
};

/** The supergraph of "a" and "b" at the given URLs (composition only: nothing is started). */
export function composeTicks(urls: { readonly a: string; readonly b: string }): string {
  const composed = composeServices([
    { name: 'a', url: urls.a, typeDefs: subgraphA.typeDefs },
    { name: 'b', url: urls.b, typeDefs: subgraphB.typeDefs },
  ]);
  if (composed.errors) throw new Error(composed.errors.map((e) => e.message).join('\n'));
  return composed.supergraphSdl;
}

export const TICKS = parse(`
  subscription Ticks($channel: ID!) {
    ticks(channel: $channel) {
      n
      item {
        id
        name
      }
    }
  }
`);

/** Iterators a test opened: returned after each test, so one failure does not leak into others. */
export const opened = new Set<AsyncIterableIterator<ExecutionResult>>();

export function iteratorOf(
  result: AsyncIterableIterator<ExecutionResult> | ExecutionResult,
): AsyncIterableIterator<ExecutionResult> {
  if (!(Symbol.asyncIterator in result)) {
    throw new Error(`expected a subscription, got ${JSON.stringify(result)}`);
  }
  opened.add(result);
  return result;
}

export function singleResult(
  result: AsyncIterableIterator<ExecutionResult> | ExecutionResult,
): ExecutionResult {
  if (Symbol.asyncIterator in result) throw new Error('expected a single result');
  return result;
}

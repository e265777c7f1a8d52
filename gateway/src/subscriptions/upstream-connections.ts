import { createClient, type Client, type ClientOptions } from 'graphql-ws';
import WebSocket from 'ws';

/** What a connection tells the upstream subscriptions it carries. */
export interface LeaseHolder {
  /** The connection dropped and is being re-established: events may be missed meanwhile. */
  interrupted(): void;
}

/** A graphql-ws client shared by the upstream subscriptions of one (subgraph, shareKey). */
export interface ClientLease {
  readonly client: Client;
  /** Upstream subscriptions holding the lease: the client is disposed when the last lets go. */
  refs: number;
  /** The upstream subscriptions on this client: told when its connection drops. */
  readonly upstreams: Set<LeaseHolder>;
  /** Acknowledged and not closed since: a close now is a drop the subscribers must hear of. */
  live: boolean;
}

/** Options of {@link UpstreamConnections}: see `FederatedSubscriptionsOptions` for each. */
export interface UpstreamConnectionsOptions<TContext> {
  url(serviceName: string): string;
  headers?(context: TContext, serviceName: string): Record<string, string>;
  readonly retryAttempts?: number;
  readonly retryWait?: (retries: number) => Promise<void>;
  readonly keepAlive?: number;
  /** Makes the graphql-ws client (default graphql-ws's `createClient`): for tests. */
  readonly createClient?: (options: ClientOptions) => Client;
}

/**
 * The upstream WebSocket connections, one per (subgraph, shareKey), reference-counted by the
 * upstream subscriptions on them. Each is a lazy graphql-ws client that reconnects and
 * resubscribes on its own (`retryAttempts`); this adds what graphql-ws lacks: headers on the
 * upgrade request, a deadline for unanswered pings, and telling the subscriptions of a
 * connection that dropped at once rather than after the retries.
 */
export class UpstreamConnections<TContext> {
  private readonly leases = new Map<string, ClientLease>();
  /** Clients released and still closing, so that `dispose()` can wait for them too. */
  private readonly closing = new Set<Promise<void>>();
  private disposed = false;

  constructor(private readonly options: UpstreamConnectionsOptions<TContext>) {}

  /**
   * The connection for `serviceName` and `shareKey` (null: the one shared by every caller),
   * opened (lazily: on its first subscribe) with the headers of `context` when there is
   * none; the caller holds one reference.
   */
  acquire(serviceName: string, shareKey: string | null, context: TContext): ClientLease {
    const key = JSON.stringify([serviceName, shareKey]);
    let lease = this.leases.get(key);
    if (!lease) {
      lease = this.createLease(serviceName, context);
      this.leases.set(key, lease);
    }
    lease.refs += 1;
    return lease;
  }

  /** Lets go of one reference; the last closes the connection. */
  release(serviceName: string, shareKey: string | null): void {
    const key = JSON.stringify([serviceName, shareKey]);
    const lease = this.leases.get(key);
    if (!lease) return;
    lease.refs -= 1;
    if (lease.refs > 0) return;
    this.leases.delete(key);
    const closing = Promise.resolve(lease.client.dispose()).catch(() => undefined);
    this.closing.add(closing);
    void closing.finally(() => this.closing.delete(closing));
  }

  /** How many connections are open or opening. */
  get size(): number {
    return this.leases.size;
  }

  /** Closes every connection, whoever holds it; resolves when they are closed. */
  async dispose(): Promise<void> {
    this.disposed = true;
    const leases = [...this.leases.values()];
    this.leases.clear();
    await Promise.all([...this.closing, ...leases.map(async (lease) => lease.client.dispose())]);
  }

  private createLease(serviceName: string, context: TContext): ClientLease {
    const headers = () => this.options.headers?.(context, serviceName) ?? {};
    const keepAlive = this.options.keepAlive ?? 0;
    const handshake = keepAlive > 0 ? { handshakeTimeout: keepAlive } : {};
    // graphql-ws constructs `new impl(url, protocol)`; ws takes headers as a third argument.
    class WebSocketWithHeaders extends WebSocket {
      constructor(address: string | URL, protocols?: string | string[]) {
        super(address, protocols, { headers: headers(), ...handshake });
      }
    }
    // graphql-ws sends pings but never times them out: a ping still unanswered after
    // `keepAlive` terminates the connection (close 4499), which it then treats as a drop.
    let pongDeadline: NodeJS.Timeout | undefined;
    const stopWaiting = () => {
      clearTimeout(pongDeadline);
      pongDeadline = undefined;
    };
    const client: Client = (this.options.createClient ?? createClient)({
      url: this.options.url(serviceName),
      webSocketImpl: WebSocketWithHeaders,
      lazy: true,
      connectionParams: () => ({ headers: headers() }),
      retryAttempts: this.options.retryAttempts ?? 0,
      ...(this.options.retryWait ? { retryWait: this.options.retryWait } : {}),
      keepAlive,
      connectionAckWaitTimeout: keepAlive,
      on: {
        connected: () => {
          lease.live = true;
        },
        ping: (received) => {
          if (received || keepAlive <= 0) return;
          stopWaiting();
          pongDeadline = setTimeout(() => client.terminate(), keepAlive);
        },
        pong: (received) => {
          if (received) stopWaiting();
        },
        closed: () => {
          stopWaiting();
          if (!lease.live) return;
          lease.live = false;
          // Subscribers hear of the drop now, not after the retries: whatever happens next,
          // what they saw may be stale. (A lease with no subscription left closes normally.)
          if (this.disposed || lease.refs === 0) return;
          for (const upstream of [...lease.upstreams]) upstream.interrupted();
        },
      },
    });
    const lease: ClientLease = { client, refs: 0, upstreams: new Set(), live: false };
    return lease;
  }
}

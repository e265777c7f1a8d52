import { createClient, type Client } from 'graphql-ws';
import WebSocket from 'ws';

export interface Received {
  data?: Record<string, any> | null;
  errors?: Array<{ message: string; extensions?: Record<string, unknown> }>;
}

/** How a test connects: as a front end does, or deliberately not. */
export interface ConnectOptions {
  /** Sent as `connection_init` payload `{ authorization: 'Bearer <token>' }`. */
  token?: string;
  /** The whole `connection_init` payload instead (e.g. a malformed one); null: no payload. */
  connectionParams?: Record<string, unknown> | null;
  /** Headers of the HTTP upgrade request (e.g. `X-Forwarded-For`). */
  headers?: Record<string, string>;
}

/** How a socket closed: the WebSocket close code and reason. */
export interface Closed {
  code: number;
  reason: string;
}

/**
 * A graphql-ws client for tests: connects at once, never retries, and keeps what graphql-ws
 * would otherwise print. (A non-lazy client hands a fatal close, such as 4401, to
 * `onNonLazyError`, `console.error` by default; here the test reads it from `failure` and
 * from its subscriptions, which get the same close.)
 */
export function createTestClient(
  url: string,
  options: ConnectOptions = {},
): { client: Client; failures: unknown[] } {
  const failures: unknown[] = [];
  const headers = options.headers;
  // graphql-ws constructs `new impl(url, protocol)`; ws takes headers as a third argument.
  class WebSocketWithHeaders extends WebSocket {
    constructor(address: string | URL, protocols?: string | string[]) {
      super(address, protocols, { headers });
    }
  }
  const client = createClient({
    url,
    webSocketImpl: headers ? WebSocketWithHeaders : WebSocket,
    lazy: false,
    retryAttempts: 0,
    connectionParams:
      options.connectionParams === null
        ? undefined
        : (options.connectionParams ??
          (options.token ? { authorization: `Bearer ${options.token}` } : {})),
    onNonLazyError: (error) => void failures.push(error),
  });
  return { client, failures };
}

/**
 * One subscription over graphql-ws, its results queued as they arrive: `next()` waits for the
 * next one (as graphql-ws's own tests do), so tests subscribe first, act, then assert.
 */
export class TestSubscription {
  private readonly queue: Received[] = [];
  private waiters: Array<(r: Received) => void> = [];
  private completed = false;
  readonly done: Promise<void>;
  private unsubscribe: () => void = () => {};
  private readonly client: Client;
  /** Resolves when the server acknowledged the connection (connection_ack). */
  readonly connected: Promise<void>;
  closeCode: number | undefined;

  /**
   * Subscribes on `client` (by default a client of its own on `url`). `ownsClient`: whether
   * `close()` disposes the client too, or only completes this subscription.
   */
  constructor(
    url: string,
    query: string,
    variables: Record<string, unknown>,
    client?: Client,
    private readonly ownsClient = true,
  ) {
    this.client = client ?? createTestClient(url).client;
    this.connected = new Promise((resolve) => this.client.on('connected', () => resolve()));
    this.client.on('closed', (event) => {
      this.closeCode = (event as { code?: number }).code;
    });
    this.done = new Promise((resolve) => {
      this.unsubscribe = this.client.subscribe(
        { query, variables },
        {
          next: (value) => this.push(value as Received),
          error: (error) => {
            const errors = Array.isArray(error)
              ? error
              : [
                  {
                    message: String(
                      (error as Error).message ?? (error as { reason?: string }).reason ?? error,
                    ),
                  },
                ];
            this.push({ errors });
            this.completed = true;
            resolve();
          },
          complete: () => {
            this.completed = true;
            resolve();
          },
        },
      );
    });
  }

  private push(value: Received): void {
    const waiter = this.waiters.shift();
    if (waiter) waiter(value);
    else this.queue.push(value);
  }

  /** The next result, waiting for it (with a deadline so a missing event fails the test). */
  next(timeoutMs = 10_000): Promise<Received> {
    const queued = this.queue.shift();
    if (queued) return Promise.resolve(queued);
    if (this.completed) return Promise.reject(new Error('the subscription has ended'));
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.waiters = this.waiters.filter((w) => w !== waiter);
        reject(new Error('no event arrived in time'));
      }, timeoutMs);
      const waiter = (r: Received) => {
        clearTimeout(timer);
        resolve(r);
      };
      this.waiters.push(waiter);
    });
  }

  get pending(): number {
    return this.queue.length;
  }

  /** Whether the subscription has ended (completed, or ended with an error). */
  get ended(): boolean {
    return this.completed;
  }

  async close(): Promise<void> {
    this.unsubscribe();
    if (this.ownsClient) await this.client.dispose();
  }
}

/**
 * One graphql-ws connection (one socket) carrying any number of subscriptions, as a front
 * end's client does: for per-socket limits and for how the server closes a socket.
 */
export class TestConnection {
  readonly client: Client;
  /** Resolves on connection_ack. */
  readonly connected: Promise<void>;
  /** Resolves when the socket closes, whoever closed it (a refused upgrade closes 1006). */
  readonly closed: Promise<Closed>;
  private readonly subscriptions: TestSubscription[] = [];
  private readonly failures: unknown[];

  constructor(
    private readonly url: string,
    options: ConnectOptions = {},
  ) {
    ({ client: this.client, failures: this.failures } = createTestClient(url, options));
    this.connected = new Promise((resolve) => this.client.on('connected', () => resolve()));
    this.closed = new Promise((resolve) =>
      this.client.on('closed', (event) => {
        const { code, reason } = event as { code: number; reason?: unknown };
        resolve({ code, reason: typeof reason === 'string' ? reason : '' });
      }),
    );
  }

  /** The connection failure graphql-ws reported (a refused upgrade, a fatal close), if any. */
  get failure(): unknown {
    return this.failures[0];
  }

  subscribe(query: string, variables: Record<string, unknown> = {}): TestSubscription {
    const sub = new TestSubscription(this.url, query, variables, this.client, false);
    this.subscriptions.push(sub);
    return sub;
  }

  async close(): Promise<void> {
    await Promise.all(this.subscriptions.map((sub) => sub.close()));
    await this.client.dispose();
  }
}

/** `ws://…` for a gateway's `http://…/graphql`. */
export const webSocketUrl = (gatewayUrl: string): string => gatewayUrl.replace(/^http/, 'ws');

export function subscribe(
  gatewayUrl: string,
  query: string,
  variables: Record<string, unknown>,
  token?: string,
): TestSubscription {
  const url = webSocketUrl(gatewayUrl);
  return new TestSubscription(url, query, variables, createTestClient(url, { token }).client);
}

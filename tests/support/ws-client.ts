import { createClient, type Client } from 'graphql-ws';
import WebSocket from 'ws';

export interface Received {
  data?: Record<string, any> | null;
  errors?: Array<{ message: string; extensions?: Record<string, unknown> }>;
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
  /** Resolves when the server acknowledged the connection (connection_ack). */
  readonly connected: Promise<void>;
  closeCode: number | undefined;

  constructor(
    url: string,
    query: string,
    variables: Record<string, unknown>,
    private readonly client: Client = createClient({
      url,
      webSocketImpl: WebSocket,
      lazy: false,
      retryAttempts: 0,
    }),
  ) {
    this.connected = new Promise((resolve) => client.on('connected', () => resolve()));
    client.on('closed', (event) => {
      this.closeCode = (event as { code?: number }).code;
    });
    this.done = new Promise((resolve) => {
      this.unsubscribe = client.subscribe(
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

  async close(): Promise<void> {
    this.unsubscribe();
    await this.client.dispose();
  }
}

export function subscribe(
  gatewayUrl: string,
  query: string,
  variables: Record<string, unknown>,
  token?: string,
): TestSubscription {
  const url = gatewayUrl.replace(/^http/, 'ws');
  const client = createClient({
    url,
    webSocketImpl: WebSocket,
    lazy: false,
    retryAttempts: 0,
    connectionParams: token ? { authorization: `Bearer ${token}` } : {},
  });
  return new TestSubscription(url, query, variables, client);
}

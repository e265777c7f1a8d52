/**
 * One `SeatUpdates` subscriber of the fan-out: a plain `graphql-transport-ws` client on its
 * own socket (connection_init, subscribe, then next/error/complete), lean on purpose. The
 * benchmark runs thousands of them in one process on the same cores as the servers, so what
 * each costs here shows up in every latency: a result is stamped with `performance.now()`
 * the moment its frame arrives, before it is parsed, and nothing is queued for a reader.
 * `openSubscribers` opens the fan-out's many of them, a batch at a time, spread over the
 * gateways.
 */
import WebSocket from 'ws';
import { sleep } from '../common/pool';
import { OPS, type SeatEventPayload } from './seat-client';

export type OnSeatEvent = (version: number, payload: SeatEventPayload, at: number) => void;

interface Message {
  type: string;
  id?: string;
  payload?: {
    data?: { seatUpdates?: SeatEventPayload } | null;
    errors?: Array<{ message: string; path?: unknown[]; extensions?: Record<string, unknown> }>;
  } & Array<{ message: string }>;
}

export class TimedSubscriber {
  /** version and performance.now() of every event received, in arrival order. */
  readonly versions: number[] = [];
  readonly times: number[] = [];
  /** Results that carried errors (with their codes and services). */
  readonly bad: string[] = [];
  /** Results with errors and no `seatUpdates` data: the change is lost to this subscriber. */
  errorOnly = 0;
  /** Why the subscription ended early (an error, or `completed`), if it did. */
  ended: string | undefined;
  /** Why the socket failed or closed, if it did (before or after connection_ack). */
  connectError: string | undefined;
  /** true on connection_ack; false when the socket failed or closed first. */
  readonly connected: Promise<boolean>;
  private readonly socket: WebSocket;
  private closing = false;

  constructor(
    url: string,
    showtimeId: string,
    readonly token: string | undefined,
    onEvent: OnSeatEvent,
  ) {
    let settle: (ok: boolean) => void = () => {};
    this.connected = new Promise((resolve) => (settle = resolve));
    this.socket = new WebSocket(url, 'graphql-transport-ws');
    this.socket.on('open', () =>
      this.socket.send(
        JSON.stringify({
          type: 'connection_init',
          payload: token ? { authorization: `Bearer ${token}` } : {},
        }),
      ),
    );
    this.socket.on('error', (error) => {
      this.connectError ??= error.message;
      settle(false);
    });
    this.socket.on('close', (code, reason) => {
      if (!this.closing) this.connectError ??= `closed ${code} ${reason.toString()}`.trim();
      settle(false);
    });
    this.socket.on('message', (raw: Buffer) => {
      const at = performance.now();
      const message = JSON.parse(raw.toString()) as Message;
      if (message.type === 'connection_ack') {
        this.socket.send(
          JSON.stringify({
            id: '1',
            type: 'subscribe',
            payload: { query: OPS.seatUpdates, variables: { showtimeId } },
          }),
        );
        settle(true);
      } else if (message.type === 'ping') {
        this.socket.send(JSON.stringify({ type: 'pong' }));
      } else if (message.type === 'next') {
        this.result(message.payload!, at, onEvent);
      } else if (message.type === 'error') {
        this.ended = (message.payload ?? []).map((e) => e.message).join('; ');
      } else if (message.type === 'complete') {
        this.ended ??= 'completed';
      }
    });
  }

  private result(value: NonNullable<Message['payload']>, at: number, onEvent: OnSeatEvent): void {
    const payload = value.data?.seatUpdates;
    if (value.errors?.length || !payload) {
      this.bad.push(
        value.errors
          ?.map((e) => {
            const x = e as { extensions?: { code?: string; serviceName?: string } } & typeof e;
            const where = [x.extensions?.code, x.extensions?.serviceName, x.path?.join('.')]
              .filter(Boolean)
              .join(' ');
            return `${x.message}${where ? ` [${where}]` : ''}`;
          })
          .join('; ') ?? 'no data',
      );
      if (!payload) {
        this.errorOnly += 1;
        return;
      }
    }
    this.versions.push(payload.version);
    this.times.push(at);
    onEvent(payload.version, payload, at);
  }

  close(): Promise<void> {
    this.closing = true;
    if (this.socket.readyState === WebSocket.CLOSED) return Promise.resolve();
    return new Promise((resolve) => {
      this.socket.once('close', () => resolve());
      if (this.socket.readyState === WebSocket.OPEN) {
        this.socket.send(JSON.stringify({ id: '1', type: 'complete' }));
      }
      this.socket.close(1000);
    });
  }
}

/**
 * Opens `options.subscribers` subscribers, `options.batch` at a time, each batch awaiting its
 * connection_ack (30 s at most); the signed-in ones spread evenly among the anonymous ones,
 * and all of them in turn over `wsUrls`.
 */
export async function openSubscribers(
  wsUrls: readonly string[],
  showtimeId: string,
  options: { subscribers: number; signedIn: number; batch: number },
  mint: (userId: string) => string,
  onEvent: OnSeatEvent,
) {
  const n = options.subscribers;
  const signedStep = options.signedIn > 0 ? Math.max(1, Math.floor(n / options.signedIn)) : 1;
  let signedSoFar = 0;
  const subscribers: TimedSubscriber[] = [];
  const connectStart = performance.now();
  let failedToConnect = 0;
  const connectErrors = new Map<string, number>();
  for (let from = 0; from < n; from += options.batch) {
    const batch: TimedSubscriber[] = [];
    for (let i = from; i < Math.min(n, from + options.batch); i++) {
      // Signed-in subscribers spread evenly among the anonymous ones, each a distinct user.
      const signedIn = signedSoFar < options.signedIn && i % signedStep === 0;
      if (signedIn) signedSoFar += 1;
      const sub = new TimedSubscriber(
        wsUrls[i % wsUrls.length],
        showtimeId,
        signedIn ? mint(`bench-fanout-user-${i}`) : undefined,
        onEvent,
      );
      subscribers.push(sub);
      batch.push(sub);
    }
    const results = await Promise.all(
      batch.map((s) => Promise.race([s.connected, sleep(30_000).then(() => false)])),
    );
    results.forEach((ok, j) => {
      if (!ok) {
        failedToConnect += 1;
        const why = batch[j].connectError ?? 'no connection_ack within 30 s';
        connectErrors.set(why, (connectErrors.get(why) ?? 0) + 1);
      }
    });
  }
  const connectSeconds = (performance.now() - connectStart) / 1000;
  const signedInCount = subscribers.filter((s) => s.token).length;
  process.stderr.write(
    `bench: fanout: ${n} subscribers (${signedInCount} signed in) over ${wsUrls.length} gateway(s) connected in ${connectSeconds.toFixed(1)} s` +
      (failedToConnect
        ? `, ${failedToConnect} FAILED (${[...connectErrors].map(([e, c]) => `${e}: ${c}`).join('; ')})`
        : '') +
      '\n',
  );
  const emfile = [...connectErrors.keys()].some((e) => /EMFILE|too many open files/i.test(e));
  return { subscribers, connectSeconds, failedToConnect, connectErrors, signedInCount, emfile };
}

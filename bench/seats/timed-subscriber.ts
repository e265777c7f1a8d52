/**
 * One `SeatUpdates` subscriber of the fan-out, on the test kit's connection
 * (`TestConnection`: one socket, no retries, graphql-ws's own error printing kept quiet).
 * Its results are stamped with `performance.now()` as they arrive, in the sink itself: the
 * kit's `TestSubscription` queues results for `next()`, which suits a test, not a latency.
 * `openSubscribers` opens the fan-out's many of them, a batch at a time.
 */
import { TestConnection } from '../../tests/support/ws-client';
import { sleep } from '../common/pool';
import { OPS, type SeatEventPayload } from './seat-client';

export type OnSeatEvent = (version: number, payload: SeatEventPayload, at: number) => void;

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
  private readonly connection: TestConnection;
  private readonly unsubscribe: () => void;

  constructor(
    url: string,
    showtimeId: string,
    readonly token: string | undefined,
    onEvent: OnSeatEvent,
  ) {
    this.connection = new TestConnection(url, { token });
    const { client } = this.connection;
    let settle: (ok: boolean) => void = () => {};
    this.connected = new Promise((resolve) => (settle = resolve));
    void this.connection.connected.then(() => settle(true));
    void this.connection.closed.then(({ code, reason }) => {
      this.connectError ??= `closed ${code} ${reason}`.trim();
      settle(false);
    });
    client.on('error', (error) => {
      this.connectError ??= String(
        (error as Error)?.message ?? (error as { type?: string })?.type ?? error,
      );
      settle(false);
    });
    this.unsubscribe = client.subscribe(
      { query: OPS.seatUpdates, variables: { showtimeId } },
      {
        next: (value) => {
          const at = performance.now();
          const payload = (value.data as { seatUpdates?: SeatEventPayload } | null)?.seatUpdates;
          if (value.errors?.length || !payload) {
            this.bad.push(
              value.errors
                ?.map((e) => {
                  const x = e as {
                    message: string;
                    path?: unknown[];
                    extensions?: { code?: string; serviceName?: string };
                  };
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
        },
        error: (error) => {
          this.ended = Array.isArray(error)
            ? error.map((e) => (e as { message: string }).message).join('; ')
            : String((error as Error)?.message ?? (error as { reason?: string })?.reason ?? error);
        },
        complete: () => {
          this.ended ??= 'completed';
        },
      },
    );
  }

  async close(): Promise<void> {
    this.unsubscribe();
    await this.connection.close();
  }
}

/**
 * Opens `options.subscribers` subscribers, `options.batch` at a time, each batch awaiting its
 * connection_ack (30 s at most); the signed-in ones spread evenly among the anonymous ones.
 */
export async function openSubscribers(
  wsUrl: string,
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
        wsUrl,
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
    `bench: fanout: ${n} subscribers (${signedInCount} signed in) connected in ${connectSeconds.toFixed(1)} s` +
      (failedToConnect
        ? `, ${failedToConnect} FAILED (${[...connectErrors].map(([e, c]) => `${e}: ${c}`).join('; ')})`
        : '') +
      '\n',
  );
  const emfile = [...connectErrors.keys()].some((e) => /EMFILE|too many open files/i.test(e));
  return { subscribers, connectSeconds, failedToConnect, connectErrors, signedInCount, emfile };
}

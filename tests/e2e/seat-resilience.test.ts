import { spawn, type ChildProcess } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import net from 'node:net';
import { createClient } from 'graphql-ws';
import { Redis } from 'ioredis';
import WebSocket from 'ws';
import type { AppConfig } from '../../runtime/config';
import { IDENTITY_HEADER, signIdentity } from '../../runtime/identity';
import { closeRedis } from '../../runtime/redis';
import { startSubgraph, type RunningSubgraph } from '../../runtime/subgraph-server';
import { cinemasSubgraph } from '../../subgraphs/cinemas/src/schema';
import { seatChannel } from '../../subgraphs/cinemas/src/seat/seat-topic';
import { postGraphQL } from '../support/http-client';
import { dropTestDatabases, testConfig } from '../support/test-config';
import { deferred, waitFor } from '../support/wait-for';
import { TestSubscription } from '../support/ws-client';

/**
 * The cinemas subgraph on its own (as the gateway sees it), over one small hall:
 * - with Redis down (issue 8 item 4), every Redis path answers a coded SERVICE_UNAVAILABLE
 *   instead of ending the process, and recovers by itself when Redis returns. That Redis is
 *   this file's own, a child process on a free port: the machine's Redis is never touched;
 * - in the embedded default, without Redis (issue 9 item 5), seat-map versions never go
 *   back across a restart.
 */

const HOLD = `mutation($s: ID!, $ids: [ID!]!) {
  holdSeats(showtimeId: $s, seatIds: $ids) { expiresAt seats { seatId } } }`;
const SEAT_MAP = `query($id: ID!) { showtime(id: $id) { id seatMap { version seats { seatId status } } } }`;
const SEAT_UPDATES = `subscription($id: ID!) {
  seatUpdates(showtimeId: $id) { version seats { seatId status } } }`;

/** One cinemas subgraph, a hall of three seats and a showtime tomorrow, and how to call it. */
class CinemasAlone {
  readonly showtimeId = randomUUID();
  readonly seatIds = [randomUUID(), randomUUID(), randomUUID()];
  readonly subscriptions: TestSubscription[] = [];
  running!: RunningSubgraph;

  constructor(readonly config: AppConfig) {}

  async start(): Promise<void> {
    this.running = await startSubgraph(cinemasSubgraph, this.config);
  }

  /** A restart of the process: stopped, then started again on the same database. */
  async restart(): Promise<void> {
    await this.running.stop();
    await this.start();
  }

  async insertShowtime(): Promise<void> {
    const db = this.running.dataSource;
    const cinemaId = randomUUID();
    const hallId = randomUUID();
    await db.query(
      `INSERT INTO cinemas (id, name, city, city_key, address)
       VALUES ($1, 'Alone', 'Hà Nội', 'ha noi', '1 Tràng Tiền')`,
      [cinemaId],
    );
    await db.query(
      `INSERT INTO halls (id, cinema_id, name, rows, columns, capacity)
       VALUES ($1, $2, 'H1', 1, 3, 3)`,
      [hallId, cinemaId],
    );
    for (const [i, id] of this.seatIds.entries()) {
      await db.query(
        `INSERT INTO seats (id, hall_id, row_label, number, column_index, type)
         VALUES ($1, $2, 'A', $3, $3, 'STANDARD')`,
        [id, hallId, i + 1],
      );
    }
    await db.query(
      `INSERT INTO showtimes (id, movie_id, hall_id, starts_at, ends_at, busy_until, format,
         language, price_table)
       VALUES ($1, $2, $3, now() + interval '1 day', now() + interval '1 day 2 hours',
         now() + interval '1 day 2 hours 15 minutes', '2D', 'Vietnamese', '{"STANDARD": 90000}')`,
      [this.showtimeId, randomUUID(), hallId],
    );
  }

  private identity(userId: string | null): string {
    return signIdentity(
      userId ? { userId, role: 'CUSTOMER' } : { userId: null, role: null },
      this.config.internalSecret,
      'cinemas',
    );
  }

  call(query: string, variables: Record<string, unknown>, userId: string | null = null) {
    return postGraphQL(this.running.url, query, variables, {
      headers: { [IDENTITY_HEADER]: this.identity(userId) },
    });
  }

  hold(userId: string, seatIds: string[]) {
    return this.call(HOLD, { s: this.showtimeId, ids: seatIds }, userId);
  }

  seatMap() {
    return this.call(SEAT_MAP, { id: this.showtimeId });
  }

  /** `seatUpdates` straight from the subgraph, as the gateway subscribes to it. */
  subscribe(): TestSubscription {
    const url = this.running.url.replace(/^http/, 'ws');
    const client = createClient({
      url,
      webSocketImpl: WebSocket,
      lazy: false,
      retryAttempts: 0,
      connectionParams: { headers: { [IDENTITY_HEADER]: this.identity(null) } },
    });
    const sub = new TestSubscription(url, SEAT_UPDATES, { id: this.showtimeId }, client);
    this.subscriptions.push(sub);
    return sub;
  }

  async stop(): Promise<void> {
    await Promise.all(this.subscriptions.map((s) => s.close()));
    await this.running?.stop();
    await dropTestDatabases(this.config);
  }
}

const codeOf = (r: { errors?: Array<{ extensions?: Record<string, unknown> }> }) =>
  r.errors?.[0]?.extensions?.code;

/** A free TCP port on the loopback interface (bound, read, released). */
function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as net.AddressInfo;
      server.close(() => resolve(port));
    });
  });
}

/** A throwaway redis-server on `port`; resolves once it accepts connections. */
async function startRedis(port: number): Promise<ChildProcess> {
  const child = spawn(
    'redis-server',
    ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'],
    { stdio: ['ignore', 'pipe', 'ignore'] },
  );
  const ready = deferred<boolean>();
  child.stdout.on('data', (chunk: Buffer) => {
    if (chunk.toString().includes('Ready to accept connections')) ready.resolve(true);
  });
  child.once('exit', () => ready.resolve(false));
  if (!(await ready.wait('redis-server to start'))) throw new Error('redis-server exited');
  return child;
}

async function stopRedis(child: ChildProcess | undefined): Promise<void> {
  if (!child || child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  child.kill('SIGKILL');
  await exited;
}

describe('the cinemas subgraph while its Redis is down', () => {
  let port: number;
  let redis: ChildProcess | undefined;
  let c: CinemasAlone;
  const unhandled: unknown[] = [];
  const onUnhandled = (reason: unknown) => unhandled.push(reason);

  beforeAll(async () => {
    process.on('unhandledRejection', onUnhandled);
    port = await freePort();
    redis = await startRedis(port);
    c = new CinemasAlone(testConfig({ REDIS_URL: `redis://127.0.0.1:${port}` }));
    await c.start();
    await c.insertShowtime();
  });

  afterAll(async () => {
    await c?.stop();
    await stopRedis(redis);
    process.off('unhandledRejection', onUnhandled);
  });

  /** Until the subgraph listens on the showtime's channel of the Redis now running. */
  async function subscribed(): Promise<void> {
    const probe = new Redis(`redis://127.0.0.1:${port}`);
    try {
      const channel = seatChannel(c.config.redis.keyPrefix, c.showtimeId);
      await waitFor(async () => {
        const reply = (await probe.call('PUBSUB', 'NUMSUB', channel)) as [string, number];
        return Number(reply[1]) >= 1;
      }, 'the subscription to reach Redis');
    } finally {
      await closeRedis(probe);
    }
  }

  /**
   * A subscription that reached Redis. Right after Redis returns, the subscribing connection
   * may still be reconnecting (each connection retries on its own schedule): a subscription
   * then fails fast, as a client would see it, and the client subscribes again.
   */
  async function subscribeOnceAvailable(): Promise<TestSubscription> {
    const open = () => {
      const sub = c.subscribe();
      const attempt = { sub, ended: false };
      void sub.done.then(() => (attempt.ended = true));
      return attempt;
    };
    let attempt = open();
    await waitFor(async () => {
      if (attempt.ended) attempt = open();
      const channel = seatChannel(c.config.redis.keyPrefix, c.showtimeId);
      const probe = new Redis(`redis://127.0.0.1:${port}`);
      try {
        const reply = (await probe.call('PUBSUB', 'NUMSUB', channel)) as [string, number];
        return Number(reply[1]) >= 1;
      } finally {
        await closeRedis(probe);
      }
    }, 'a subscription to reach Redis');
    return attempt.sub;
  }

  it('answers SERVICE_UNAVAILABLE on every Redis path, stays up, and recovers when Redis returns', async () => {
    const [a, b, third] = c.seatIds;
    expect((await c.hold('user_before', [a])).errors).toBeUndefined();
    const live = c.subscribe();
    await subscribed();
    expect((await c.hold('user_before', [b])).errors).toBeUndefined();
    expect((await live.next()).data!.seatUpdates.version).toBe(2);

    await stopRedis(redis);

    // The open subscription is told (events may have been missed meanwhile), then ends.
    const told = await live.next();
    expect(told.errors?.[0]).toMatchObject({
      message: 'Live seat updates are unavailable, try again',
      extensions: { code: 'SERVICE_UNAVAILABLE' },
    });
    await live.done;

    // A new subscription: an error result, not a hang or a crash.
    const refused = c.subscribe();
    expect((await refused.next()).errors?.[0]).toMatchObject({
      message: 'Live seat updates are unavailable, try again',
      extensions: { code: 'SERVICE_UNAVAILABLE' },
    });
    await refused.done;

    const held = await c.hold('user_during', [third]);
    expect(held.errors?.[0]).toMatchObject({
      message: 'Seat holds are unavailable, try again',
      extensions: { code: 'SERVICE_UNAVAILABLE' },
    });
    expect(codeOf(await c.seatMap())).toBe('SERVICE_UNAVAILABLE');

    // Still alive: what does not need Redis answers.
    const plain = await c.call(`query($id: ID!) { showtime(id: $id) { id } }`, {
      id: c.showtimeId,
    });
    expect(plain).toMatchObject({ data: { showtime: { id: c.showtimeId } } });
    expect(plain.errors).toBeUndefined();
    expect((await fetch(c.running.url.replace(/\/graphql$/, '/health'))).status).toBe(200);

    // Redis returns (empty: it kept nothing); the subgraph recovers by itself.
    redis = await startRedis(port);
    const again = await waitFor(async () => {
      const result = await c.hold('user_after', [third]);
      return result.errors ? undefined : result;
    }, 'holds to work again');
    expect(again.data!.holdSeats.seats).toEqual([{ seatId: third }]);
    const reopened = await subscribeOnceAvailable();
    expect((await c.hold('user_after', [a])).errors).toBeUndefined();
    expect((await reopened.next()).data!.seatUpdates.seats).toEqual([
      { seatId: a, status: 'HELD' },
    ]);
    expect(unhandled).toEqual([]);
  });
});

describe('the embedded default (no Redis)', () => {
  let c: CinemasAlone;

  beforeAll(async () => {
    c = new CinemasAlone(testConfig({ REDIS_URL: '' }));
    await c.start();
    await c.insertShowtime();
  });

  afterAll(async () => {
    await c?.stop();
  });

  it('never lets a seat-map version go back across a restart', async () => {
    const version = async () => (await c.seatMap()).data!.showtime.seatMap.version as number;
    expect(await version()).toBe(0);
    for (const [i, seat] of c.seatIds.entries()) {
      expect((await c.hold(`user_v${i}`, [seat])).errors).toBeUndefined();
    }
    expect(await version()).toBe(3);

    await c.restart();
    const afterRestart = await version();
    expect(afterRestart).toBeGreaterThanOrEqual(3);
    // The holds went with the process (it kept them in memory), so the seat is free again;
    // from the new version on, changes count one by one.
    expect((await c.hold('user_v9', [c.seatIds[0]])).errors).toBeUndefined();
    expect(await version()).toBe(afterRestart + 1);

    await c.restart();
    expect(await version()).toBeGreaterThanOrEqual(afterRestart + 1);
  });
});

describe('a hold window that runs out', () => {
  let c: CinemasAlone;

  beforeAll(async () => {
    c = new CinemasAlone(
      testConfig({ REDIS_URL: '', SEAT_HOLD_TTL_SECONDS: '1', SEAT_HOLD_COOLDOWN_SECONDS: '600' }),
    );
    await c.start();
    await c.insertShowtime();
  });

  afterAll(async () => {
    await c?.stop();
  });

  it('is followed by a cooldown before the same user holds seats in that showtime again', async () => {
    const [seat] = c.seatIds;
    expect((await c.hold('user_hoarder', [seat])).errors).toBeUndefined();
    await waitFor(async () => {
      const map = await c.seatMap();
      return map.data!.showtime.seatMap.seats.every((s: any) => s.status === 'AVAILABLE');
    }, 'the window to run out');

    const again = await c.hold('user_hoarder', [seat]);
    expect(again.errors?.[0]).toMatchObject({
      message: expect.stringMatching(/^Your seat hold in this showtime has run out/),
      extensions: { code: 'RATE_LIMITED', retryAfter: expect.any(Number) },
    });
    const retryAfter = again.errors![0].extensions!.retryAfter as number;
    expect(retryAfter).toBeGreaterThan(590);
    expect(retryAfter).toBeLessThanOrEqual(600);
    // The seat itself is free: the cooldown is the hoarder's alone.
    expect((await c.hold('user_next', [seat])).errors).toBeUndefined();
  });
});

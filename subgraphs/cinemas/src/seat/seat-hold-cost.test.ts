// What a hold costs the cinemas subgraph once the showtime and its hall are known (issue 13):
// no table read, and one round trip to Redis, the hold script (rate, sales and holds checked
// in it). Counted on the real stack: statements through the subgraph's query counter,
// Redis commands through MONITOR.
import { randomUUID } from 'node:crypto';
import { connect, type Socket } from 'node:net';
import { Redis } from 'ioredis';
import { closeRedis } from '../../../../runtime/redis';
import { seatHolderTags } from '../../../../runtime/seat-holder';
import { buildDemoPlan } from '../../../../scripts/seed/demo-plan';
import { contractOperation } from '../../../../tests/support/contract';
import { startTestStack, type TestStack } from '../../../../tests/support/test-stack';

const plan = buildDemoPlan();

/**
 * Redis' MONITOR on a plain socket (ioredis' own loses track of its replies on a busy
 * server): every command Redis runs, one line each, in the order it ran them.
 */
class Monitor {
  readonly lines: string[] = [];
  private readonly socket: Socket;
  private buffered = '';
  private readonly watchers = new Set<() => void>();

  constructor(url: string) {
    const { hostname, port } = new URL(url);
    this.socket = connect(Number(port || 6379), hostname);
    this.socket.setEncoding('utf8');
    this.socket.on('data', (chunk: string) => {
      this.buffered += chunk;
      const lines = this.buffered.split('\r\n');
      this.buffered = lines.pop()!;
      this.lines.push(...lines);
      for (const watcher of [...this.watchers]) watcher();
    });
  }

  /** Starts monitoring; resolves once Redis said OK. */
  start(): Promise<void> {
    this.socket.write('MONITOR\r\n');
    return this.until((line) => line === '+OK');
  }

  /** Resolves once a line matching `test` has arrived. */
  until(test: (line: string) => boolean): Promise<void> {
    if (this.lines.some(test)) return Promise.resolve();
    return new Promise((resolve) => {
      const watcher = () => {
        if (!this.lines.some(test)) return;
        this.watchers.delete(watcher);
        resolve();
      };
      this.watchers.add(watcher);
    });
  }

  close(): void {
    this.socket.destroy();
  }
}

describe('a hold in a showtime the instance knows', () => {
  let t: TestStack;
  let monitor: Monitor | undefined;
  let client: Redis | undefined;

  beforeAll(async () => {
    t = await startTestStack();
  });
  afterAll(async () => {
    monitor?.close();
    if (client) await closeRedis(client);
    await t?.stop();
  });

  it('reads no table and makes one round trip to Redis', async () => {
    const booked = new Set(plan.bookings.map((b) => b.showtimeId));
    const showtime = plan.showtimes.filter(
      (s) => s.startsAt.getTime() > Date.now() + 86_400_000 && !booked.has(s.id),
    )[31];
    const [a, b] = plan.seats.filter((s) => s.hallId === showtime.hallId && !s.blocked);
    const hold = (seatId: string, user: string) =>
      t.query(
        contractOperation('HoldSeats'),
        { showtimeId: showtime.id, seatIds: [seatId] },
        { token: t.token(user) },
      );
    // The first hold there reads the showtime, its hall and its sales.
    expect((await hold(a.id, 'user_first')).errors).toBeUndefined();

    client = new Redis(t.config.redis.url!);
    monitor = new Monitor(t.config.redis.url!);
    await monitor.start();
    const from = monitor.lines.length;
    const { cinemas } = t.stack.subgraphs;
    cinemas.queryCounter.reset();

    expect((await hold(b.id, 'user_second')).errors).toBeUndefined();

    // MONITOR reports commands in the order Redis ran them: once this one shows, so has the hold.
    const barrier = `${t.config.redis.keyPrefix}barrier:${randomUUID()}`;
    await client.get(barrier);
    await monitor.until((line) => line.includes(barrier));
    expect(cinemas.queryCounter.count).toBe(0);
    const tag = seatHolderTags(t.config.internalSecret)('user_second');
    const roundTrips = monitor.lines
      .slice(from)
      // Commands a script runs are reported too, from "lua": only round trips count.
      .filter((line) => !line.includes(' [0 lua] '))
      .filter((line) => line.includes(showtime.id) || line.includes(tag))
      .map((line) => /\] "([a-z]+)"/i.exec(line)?.[1]?.toLowerCase());
    expect(roundTrips).toEqual(['evalsha']);
  });
});

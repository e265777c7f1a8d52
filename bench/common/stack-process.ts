/**
 * Child process of the benchmarks: runs the whole supergraph (gateway + four subgraphs, one
 * event loop, as `startTestStack` does) over fresh databases seeded with the demo data, so
 * that the load generator in the parent process does not share its CPU time. Started by
 * `startStackProcess` (`stack.ts`); the messages are in `protocol.ts`.
 *
 * Parent → child: `{ type: 'cpu' }` (reply: this process's CPU time), `{ type: 'memory' }`
 * (reply: `process.memoryUsage()`, after a full GC when forked with --expose-gc),
 * `{ type: 'redis-subscribers', showtimeId }` (reply: the Redis subscribers of that
 * showtime's seat events), `{ type: 'stop' }`.
 * Child → parent: `{ type: 'ready', ... }` (with the token-signing key, for the parent to
 * mint with), `{ type: 'error', message }`, and one answer per request.
 * The stack is always stopped (databases dropped): on request, on SIGINT/SIGTERM and when
 * the parent goes away.
 */
import 'reflect-metadata';
import { startTestStack, testKeys, type TestStack } from '../../tests/support/test-stack';
import type { ReadyMessage, StackMessage, ToStackMessage } from './protocol';

const send = (message: StackMessage): void => {
  if (process.connected) process.send?.(message);
};

let starting: Promise<TestStack> | undefined;
let stopping: Promise<void> | undefined;

function stopAndExit(code = 0): Promise<void> {
  stopping ??= (async () => {
    try {
      // Asked to stop while starting: let the start finish (or fail, cleaning up after
      // itself), then stop, so that no database is left behind.
      const stack = await starting?.catch(() => undefined);
      await stack?.stop();
    } catch (err) {
      code = 1;
      process.stderr.write(`bench stack: stop failed: ${(err as Error).stack ?? String(err)}\n`);
    }
    send({ type: 'stopped' });
    process.exit(code);
  })();
  return stopping;
}

const gc = (globalThis as { gc?: () => void }).gc;

function sendMemory(): void {
  if (gc) {
    gc();
    gc();
  }
  const m = process.memoryUsage();
  send({
    type: 'memory',
    rss: m.rss,
    heapTotal: m.heapTotal,
    heapUsed: m.heapUsed,
    external: m.external,
    arrayBuffers: m.arrayBuffers,
    gcRan: Boolean(gc),
  });
}

function sendRedisSubscribers(showtimeId: string): void {
  void (starting ?? Promise.reject(new Error('not started')))
    .then((stack) => stack.redisSubscribers(showtimeId))
    .then(
      (count) => send({ type: 'redis-subscribers', showtimeId, count }),
      () => send({ type: 'redis-subscribers', showtimeId, count: -1 }),
    );
}

process.on('message', (message: ToStackMessage) => {
  if (message.type === 'cpu') {
    const usage = process.cpuUsage();
    send({ type: 'cpu', userMicros: usage.user, systemMicros: usage.system });
  } else if (message.type === 'memory') {
    sendMemory();
  } else if (message.type === 'redis-subscribers') {
    sendRedisSubscribers(message.showtimeId);
  } else if (message.type === 'stop') {
    void stopAndExit(0);
  }
});
process.on('disconnect', () => void stopAndExit(1));
process.on('SIGINT', () => void stopAndExit(130));
process.on('SIGTERM', () => void stopAndExit(143));

async function main(): Promise<void> {
  const poolSize = process.env.BENCH_DATABASE_POOL_SIZE ?? '10';
  // NODE_ENV=test (set by testConfig) keeps every logger silent.
  starting = startTestStack({
    env: {
      DATABASE_POOL_SIZE: poolSize,
      // A benchmark is one client address opening thousands of sockets and one mutator user
      // changing seats back to back: the per-address and per-user caps that protect a real
      // deployment would measure themselves instead of the stack.
      WS_MAX_SOCKETS_PER_ADDRESS: '0',
      SEAT_HOLD_RATE_PER_MINUTE: '100000',
      SEAT_HOLD_COOLDOWN_SECONDS: '0',
    },
  });
  const stack = await starting;
  if (stopping) return;
  const ready: ReadyMessage = {
    type: 'ready',
    gatewayUrl: stack.gatewayUrl,
    moviesUrl: stack.stack.subgraphs.movies.url,
    cinemasUrl: stack.stack.subgraphs.cinemas.url,
    internalSecret: stack.config.internalSecret,
    databasePoolSize: stack.config.db.poolSize,
    privateKeyPem: testKeys().privateKeyPem,
    gcExposed: Boolean(gc),
  };
  send(ready);
}

main().catch(async (err: Error) => {
  send({ type: 'error', message: err.stack ?? String(err) });
  await stopAndExit(1);
});

/**
 * Child process of the seats benchmark: the whole supergraph (gateway + four subgraphs, one
 * event loop, as `startTestStack` does) over fresh databases seeded with the demo data. A copy
 * of the gateway benchmark's `stack-process`, which in addition hands the token-signing key to
 * the parent and reports its memory and the Redis subscribers of a showtime on request.
 *
 * Parent → child: `{ type: 'cpu' }`, `{ type: 'memory' }`, `{ type: 'redis-subscribers',
 * showtimeId }`, `{ type: 'stop' }`. Child → parent: `ready`, `error`, and one answer per
 * request. Forked with `--expose-gc` so that memory is read after a full collection.
 * The stack is always stopped (databases dropped): on request, on SIGINT/SIGTERM and when the
 * parent goes away.
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
      const stack = await starting?.catch(() => undefined);
      await stack?.stop();
    } catch (err) {
      code = 1;
      process.stderr.write(`bench stack: stop failed: ${(err as Error).stack ?? err}\n`);
    }
    send({ type: 'stopped' });
    process.exit(code);
  })();
  return stopping;
}

const gc = (globalThis as { gc?: () => void }).gc;

process.on('message', (message: ToStackMessage) => {
  if (message.type === 'cpu') {
    const usage = process.cpuUsage();
    send({ type: 'cpu', userMicros: usage.user, systemMicros: usage.system });
  } else if (message.type === 'memory') {
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
  } else if (message.type === 'redis-subscribers') {
    const { showtimeId } = message;
    void (starting ?? Promise.reject(new Error('not started')))
      .then((stack) => stack.redisSubscribers(showtimeId))
      .then(
        (count) => send({ type: 'redis-subscribers', showtimeId, count }),
        () => send({ type: 'redis-subscribers', showtimeId, count: -1 }),
      );
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
  starting = startTestStack({ env: { DATABASE_POOL_SIZE: poolSize } });
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

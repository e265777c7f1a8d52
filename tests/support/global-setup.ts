// Before any test: are PostgreSQL and Redis there? Say plainly what is missing, and how to
// point the tests elsewhere, instead of failing every integration test with a timeout.
import net from 'node:net';
import { isClusterUrl, parseClusterUrl } from '../../runtime/redis';
import { testDatabaseUrl, testRedisUrl } from './services';

function reachable(url: string, defaultPort: number): Promise<boolean> {
  // A Redis Cluster's URL lists several nodes (no URL parser reads it): its first one.
  const first = isClusterUrl(url) ? parseClusterUrl(url).nodes[0] : undefined;
  const { hostname, port } = first
    ? { hostname: first.host, port: String(first.port) }
    : new URL(url);
  return new Promise((resolve) => {
    const socket = net.connect({ host: hostname, port: Number(port || defaultPort) });
    let answered = false;
    const done = (ok: boolean) => {
      if (answered) return;
      answered = true;
      // Answered once the socket is closed: a test run in this process (one test file runs
      // in band) must not find the probe among its open sockets.
      socket.once('close', () => resolve(ok));
      socket.destroy();
    };
    socket.setTimeout(2000, () => done(false));
    socket.once('connect', () => done(true));
    socket.once('error', () => done(false));
  });
}

export default async function globalSetup(): Promise<void> {
  const missing: string[] = [];
  if (!(await reachable(testDatabaseUrl, 5432))) {
    missing.push(`PostgreSQL is not reachable at ${testDatabaseUrl} (set TEST_DATABASE_URL)`);
  }
  if (!(await reachable(testRedisUrl, 6379))) {
    missing.push(`Redis is not reachable at ${testRedisUrl} (set TEST_REDIS_URL)`);
  }
  if (missing.length > 0) {
    throw new Error(
      `\n\nThe tests need a running PostgreSQL and Redis:\n  - ${missing.join('\n  - ')}\n` +
        'Start them on their standard local ports, or point TEST_DATABASE_URL (a server URL with a\n' +
        'user allowed to create databases) and TEST_REDIS_URL at running servers, then run `npm test` again.\n',
    );
  }
}

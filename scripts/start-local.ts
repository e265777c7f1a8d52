import 'reflect-metadata';
// First: tracing must start before the modules below load http, pg, ioredis and graphql.
import './local-tracing';
import { existsSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { demoSignIn } from '../gateway/src/app/demo-sign-in';
import { APP_PATH, builtPageDir } from '../gateway/src/app/seat-map-app';
import { DEFAULT_FRONTEND_URL, loadConfig, withOverrides, type AppConfig } from '../runtime/config';
import {
  checkPostgresReachable,
  installLastResortHandlers,
  isKnownStartupError,
  stopOnSignals,
} from '../runtime/lifecycle';
import { createLogger, type Logger } from '../runtime/logger';
import { isClusterUrl, parseClusterUrl } from '../runtime/redis';
import { mintToken } from './dev-token';
import { localClerk } from './local-clerk';
import {
  embeddedPostgres,
  type EmbeddedDatabase,
  type EmbeddedPostgres,
} from './embedded-postgres';
import { seedDemoData } from './seed/seed';
import { freePort, startStack, type Stack } from './stack';

/** Plain lines for the person at the terminal; the logs stay JSON. */
const say = (line: string) => process.stdout.write(`${line}\n`);

/** The PostgreSQL servers the configuration names, each with the setting that names it. */
function configuredDatabases(config: AppConfig): Array<{ url: string; setting: string }> {
  const found = new Map<string, string>();
  if (config.db.url) found.set(config.db.url, 'DATABASE_URL');
  for (const [name, url] of Object.entries(config.db.perService)) {
    if (url && !found.has(url)) found.set(url, `${name.toUpperCase()}_DATABASE_URL`);
  }
  return [...found].map(([url, setting]) => ({ url, setting }));
}

/** Where Redis is, without credentials: one host, or a cluster's startup nodes. */
function redisLine(url: string): string {
  if (!isClusterUrl(url)) return `Redis at ${new URL(url).host}`;
  const nodes = parseClusterUrl(url).nodes.map(({ host, port }) => `${host}:${port}`);
  return `Redis Cluster at ${nodes.join(', ')}`;
}

function databaseLine(config: AppConfig, embedded: EmbeddedDatabase | undefined): string {
  if (!embedded) {
    const hosts = configuredDatabases(config).map(({ url }) => new URL(url).host);
    return `  PostgreSQL at ${hosts.join(', ')}; ${config.redis.url ? redisLine(config.redis.url) : 'no Redis (in-process pub/sub and seat holds)'}`;
  }
  const where = embedded.runDir
    ? ` (run as the "postgres" user from ${embedded.runDir}, since it cannot reach this checkout)`
    : '';
  return `  Embedded PostgreSQL on 127.0.0.1:${new URL(embedded.url).port}, data in ${embedded.pgdata}${where}`;
}

/** The seat map page's address, and how to sign in there (or that it must be built first). */
function pageLine(port: number, demoUsers: boolean): string {
  const url = `http://localhost:${port}${APP_PATH}`;
  if (!existsSync(join(builtPageDir(), 'index.html'))) {
    return `  Seat map page: not built yet (npm run build), then at ${url}`;
  }
  return demoUsers
    ? `  Seat map page at ${url} (pick a showtime and hold seats; "Demo user" at the top switches customers)`
    : `  Seat map page at ${url}`;
}

function banner(
  config: AppConfig,
  stack: Stack,
  embedded: EmbeddedDatabase | undefined,
  token?: string,
): string[] {
  const lines = [
    '',
    `  MovieHub supergraph is up: Apollo Sandbox at http://localhost:${stack.gateway.port}/graphql`,
    pageLine(stack.gateway.port, demoSignIn(config) !== undefined),
    databaseLine(config, embedded),
  ];
  if (stack.vnpay) {
    lines.push(
      `  Payments: the local VNPay simulator at ${stack.vnpay.url} (StartPayment's paymentUrl opens its pay page: approve or decline)`,
    );
  }
  lines.push(
    config.mail.smtpUrl
      ? `  Mail: sent through SMTP at ${new URL(config.mail.smtpUrl).host}`
      : `  Mail: written to ${resolve(config.mail.dir)} (one .eml file per message)`,
  );
  if (token) {
    lines.push(
      '  Demo customer token (header "Authorization: Bearer <token>", valid 7 days):',
      `  ${token}`,
      '  More tokens: npm run token -- --role ADMIN --user demo-admin',
    );
  }
  lines.push('  Ctrl-C stops everything.', '');
  return lines;
}

/**
 * `npm start`: the whole supergraph in one process. With no configuration it brings its own
 * PostgreSQL (embedded, data under .data/) and uses in-process pub/sub; with DATABASE_URL and
 * REDIS_URL it uses those. Demo data is seeded idempotently on every start.
 *
 * Stopping (Ctrl-C, SIGTERM): in-flight requests drain, the services close their pools, and
 * only then PostgreSQL stops; a second Ctrl-C stops PostgreSQL at once and exits.
 */
async function main(log: Logger): Promise<void> {
  const base = loadConfig('local');
  const dataDir = resolve(base.embedded.dataDir);
  let pg: EmbeddedPostgres | undefined;
  let stack: Stack | undefined;
  let settle!: () => void;
  const startupSettled = new Promise<void>((r) => (settle = r));
  const signals = stopOnSignals(
    log,
    [
      // A signal during start-up waits for the step under way, then stops what started.
      async () => {
        await startupSettled;
        await stack?.stop();
      },
      async () => pg?.stop(),
    ],
    {
      say,
      force: () =>
        new Promise<void>((resolve) => {
          pg?.stopNow();
          resolve();
        }),
    },
  );

  try {
    let embedded: EmbeddedDatabase | undefined;
    const databases = configuredDatabases(base);
    if (databases.length === 0) {
      pg = embeddedPostgres({ dataDir, port: base.embedded.pgPort, log: (m) => log.info(m) });
      embedded = await pg.start();
    } else {
      for (const { url, setting } of databases) await checkPostgresReachable(url, setting);
    }
    if (signals.stopping) return;
    const { clerk, devKeys } = localClerk(base, dataDir);
    // The gateway's port is known before it starts: VNPay's return URL and the front end's
    // stand-in (below) name it.
    const port = base.http.port || (await freePort());
    const config = withOverrides(base, {
      db: embedded ? { url: embedded.url } : {},
      clerk,
      http: { port },
      // The front end is the gateway's own seat map page: the emails' links open its booking
      // pages (FRONTEND_URL/bookings/:id), and VNPay's return is meant for its result page.
      ...(base.frontendUrl === DEFAULT_FRONTEND_URL
        ? { frontendUrl: `http://localhost:${port}${APP_PATH}` }
        : {}),
    });

    stack = await startStack(config);
    if (signals.stopping) return;
    const seeded = await seedDemoData(
      {
        users: stack.subgraphs.users.dataSource,
        movies: stack.subgraphs.movies.dataSource,
        cinemas: stack.subgraphs.cinemas.dataSource,
        bookings: stack.subgraphs.bookings.dataSource,
      },
      undefined,
      { internalSecret: config.internalSecret },
    );
    log.info({ seeded }, 'demo data ready');
    if (signals.stopping) return;

    const token = devKeys
      ? mintToken(devKeys.privateKeyPem, {
          userId: 'demo-customer',
          role: 'CUSTOMER',
          email: 'customer@moviehub.example',
          expiresIn: 7 * 86_400,
        })
      : undefined;
    say(banner(config, stack, embedded, token).join('\n'));
  } catch (err) {
    // Stopping meanwhile (Ctrl-C during start-up) explains any failure: nothing to report.
    if (signals.stopping) return;
    await stack?.stop().catch(() => {});
    await pg?.stop().catch(() => {});
    throw err;
  } finally {
    settle();
  }
}

const log = createLogger('local', loadConfigLevel());
installLastResortHandlers(log);
main(log).catch((err: unknown) => {
  if (isKnownStartupError(err)) {
    // One sentence naming the fix, for the person at the terminal; no stack.
    process.stderr.write(`\n  MovieHub did not start: ${err.message}\n\n`);
  } else {
    log.fatal({ err }, `failed to start: ${err instanceof Error ? err.message : String(err)}`);
  }
  log.flush?.();
  process.exit(1);
});

/** The log level before the configuration is validated (a bad LOG_LEVEL is reported there). */
function loadConfigLevel(): string {
  try {
    return loadConfig('local').logLevel;
  } catch {
    return 'info';
  }
}

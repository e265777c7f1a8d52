/**
 * The peers benchmark's stack: the four subgraphs as separate production processes over
 * fresh databases seeded with the demo data, then our gateway and Hive Gateway in front of
 * them on the same supergraph. Every process runs in its own process group; `stop()` stops
 * them (gateways first), drops the databases and deletes the Redis keys, whatever state the
 * start reached.
 */
import { Redis } from 'ioredis';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { SUBGRAPH_NAMES, type SubgraphName } from '../../runtime/config';
import { dropDatabase } from '../../runtime/database';
import { SERVER_NODE_OPTIONS } from '../../runtime/node-options';
import { projectRoot } from '../../runtime/paths';
import { closeRedis } from '../../runtime/redis';
import { generateKeyPair } from '../../scripts/dev-token';
import { testDatabaseUrl, testRedisUrl } from '../../tests/support/services';
import { HIVE_SETTINGS_ENV, type HiveIdentitySettings } from './hive-identity-plugin';
import { startNodeProcess, waitUntilHealthy, type ManagedProcess } from './processes';

/** The origin tokens are minted for (azp), allowed by our gateway's CORS and Clerk settings. */
export const AUTHORIZED_PARTY = 'http://bench.moviehub.local';

export interface PeerGateway {
  readonly name: 'ours' | 'hive';
  readonly label: string;
  readonly url: string;
  readonly process: ManagedProcess;
}

export interface PeerStack {
  readonly ours: PeerGateway;
  readonly hive: PeerGateway;
  readonly subgraphs: readonly ManagedProcess[];
  /** Signs the tokens both gateways accept. */
  readonly privateKeyPem: string;
  readonly databasePoolSize: number;
  /** The version of `@graphql-hive/gateway` that runs. */
  readonly hiveVersion: string;
  /** Where each process's output goes (removed by `stop()` unless `keepLogs`). */
  readonly logDir: string;
  /** The first server process that has exited, if any (a crash mid-run). */
  crashed(): ManagedProcess | undefined;
  stop(options?: { keepLogs?: boolean }): Promise<void>;
}

/** Free TCP ports on 127.0.0.1, all held at once so that they differ. */
async function freePorts(count: number): Promise<number[]> {
  const servers = await Promise.all(
    Array.from(
      { length: count },
      () =>
        new Promise<ReturnType<typeof createServer>>((resolve, reject) => {
          const server = createServer();
          server.once('error', reject);
          server.listen(0, '127.0.0.1', () => resolve(server));
        }),
    ),
  );
  const ports = servers.map((s) => (s.address() as AddressInfo).port);
  await Promise.all(servers.map((s) => new Promise((r) => s.close(r))));
  return ports;
}

/** The supergraph with each `@join__graph` pointing at where that subgraph listens. */
export function supergraphWithUrls(sdl: string, urls: Record<SubgraphName, string>): string {
  const seen = new Set<string>();
  const out = sdl.replace(
    /@join__graph\(name: "([a-z]+)", url: "[^"]*"\)/g,
    (whole, name: string) => {
      const url = urls[name as SubgraphName];
      if (!url) return whole;
      seen.add(name);
      return `@join__graph(name: "${name}", url: "${url}")`;
    },
  );
  const missing = SUBGRAPH_NAMES.filter((n) => !seen.has(n));
  if (missing.length > 0) {
    throw new Error(`the supergraph has no @join__graph for ${missing.join(', ')}`);
  }
  return out;
}

async function deleteRedisKeys(url: string, prefix: string): Promise<void> {
  const redis = new Redis(url);
  redis.on('error', () => {});
  try {
    let cursor = '0';
    do {
      const [next, keys] = await redis.scan(cursor, 'MATCH', `${prefix}*`, 'COUNT', 500);
      cursor = next;
      if (keys.length > 0) await redis.del(...keys);
    } while (cursor !== '0');
  } finally {
    await closeRedis(redis);
  }
}

const say = (line: string) => process.stderr.write(`bench: ${line}\n`);

export interface PeerStackControl {
  /** Starts the stack; on failure what was started is stopped and dropped, then it throws. */
  start(): Promise<PeerStack>;
  /**
   * Stops what has been started (at any point of the start: nothing starts after it), drops
   * the databases and deletes the Redis keys. Idempotent.
   */
  stop(options?: { keepLogs?: boolean }): Promise<void>;
}

/** The stack's controls, before anything starts, so that a Ctrl-C during the start stops it. */
export function peerStack(): PeerStackControl {
  const root = projectRoot(__dirname);
  const dist = join(root, 'dist');
  const prefix = `bp${Date.now().toString(36)}${randomBytes(3).toString('hex')}_`;
  const redisPrefix = `moviehub-bench:${prefix}`;
  const internalSecret = randomBytes(32).toString('hex');
  const keys = generateKeyPair();
  const logDir = mkdtempSync(join(tmpdir(), 'moviehub-bench-peers-'));
  const databasePoolSize = 10;

  const gateways: ManagedProcess[] = [];
  const others: ManagedProcess[] = [];
  let stopping: Promise<void> | undefined;

  const stop = (options: { keepLogs?: boolean } = {}) =>
    (stopping ??= (async () => {
      // Gateways first, so that nothing calls a subgraph that is going away.
      await Promise.all(gateways.map((p) => p.stop()));
      await Promise.all(others.map((p) => p.stop()));
      const problems: string[] = [];
      for (const name of SUBGRAPH_NAMES) {
        const url = new URL(testDatabaseUrl);
        url.pathname = `/${prefix}${name}`;
        await dropDatabase(url.toString()).catch((err: Error) =>
          problems.push(`drop database ${prefix}${name}: ${err.message}`),
        );
      }
      await deleteRedisKeys(testRedisUrl, redisPrefix).catch((err: Error) =>
        problems.push(`delete Redis keys ${redisPrefix}*: ${err.message}`),
      );
      if (options.keepLogs) say(`logs kept in ${logDir}`);
      else rmSync(logDir, { recursive: true, force: true });
      if (problems.length > 0) throw new Error(`clean-up failed:\n  ${problems.join('\n  ')}`);
    })());

  const launch = (
    group: ManagedProcess[],
    name: string,
    args: string[],
    env: NodeJS.ProcessEnv,
  ): ManagedProcess => {
    if (stopping) throw new Error('stopped while starting');
    // Every process (Hive Gateway too) runs with the Node options of our services.
    const child = startNodeProcess(name, [...SERVER_NODE_OPTIONS, ...args], {
      env,
      cwd: root,
      logFile: join(logDir, `${name}.log`),
    });
    group.push(child);
    return child;
  };

  const start = async (): Promise<PeerStack> => {
    try {
      return await startAll();
    } catch (err) {
      await stop({ keepLogs: true }).catch((cleanup: Error) => say(cleanup.message));
      throw err;
    }
  };

  const startAll = async (): Promise<PeerStack> => {
    const [gatewayPort, hivePort, ...subgraphPorts] = await freePorts(2 + SUBGRAPH_NAMES.length);
    const urls = Object.fromEntries(
      SUBGRAPH_NAMES.map((name, i) => [name, `http://127.0.0.1:${subgraphPorts[i]}/graphql`]),
    ) as Record<SubgraphName, string>;
    const inherited = { ...process.env };
    // Settings of the caller's shell that would change what the services do.
    for (const name of ['FORK', 'CONFIG_PATH', 'PORT', 'HOST', 'NODE_OPTIONS', 'LOG_LEVEL']) {
      delete inherited[name];
    }
    const common: NodeJS.ProcessEnv = {
      ...inherited,
      NODE_ENV: 'production',
      HOST: '127.0.0.1',
      INTERNAL_SECRET: internalSecret,
      REDIS_URL: testRedisUrl,
      REDIS_KEY_PREFIX: redisPrefix,
      DATABASE_URL: testDatabaseUrl,
      DATABASE_NAME_PREFIX: prefix,
      DATABASE_POOL_SIZE: String(databasePoolSize),
      USERS_URL: urls.users,
      MOVIES_URL: urls.movies,
      CINEMAS_URL: urls.cinemas,
      BOOKINGS_URL: urls.bookings,
      // Required in production; no payment and no mail happen in this benchmark.
      VNPAY_TMN_CODE: 'BENCH',
      VNPAY_HASH_SECRET: randomBytes(16).toString('hex'),
      VNPAY_PAY_URL: 'http://127.0.0.1:1/paymentv2/vpcpay.html',
      VNPAY_API_URL: 'http://127.0.0.1:1/merchant_webapi/api/transaction',
      VNPAY_RETURN_URL: `http://127.0.0.1:${gatewayPort}/payments/vnpay/return`,
      SMTP_URL: 'smtp://127.0.0.1:1',
      // The rush's warm-up holds and releases back to back for a few users: the per-user
      // hold rate and cooldown that protect a real deployment would measure themselves.
      SEAT_HOLD_RATE_PER_MINUTE: '100000',
      SEAT_HOLD_COOLDOWN_SECONDS: '0',
      FRONTEND_URL: AUTHORIZED_PARTY,
    };

    say(`starting the four subgraphs (production, databases ${prefix}*, logs in ${logDir})...`);
    const subgraphs = SUBGRAPH_NAMES.map((name, i) =>
      launch(others, name, [join(dist, 'subgraphs', name, 'src', 'main.js')], {
        ...common,
        PORT: String(subgraphPorts[i]),
      }),
    );
    await Promise.all(
      subgraphs.map((p, i) => waitUntilHealthy(p, `http://127.0.0.1:${subgraphPorts[i]}/health`)),
    );

    say('seeding the demo data...');
    const seed = launch(others, 'seed', [join(dist, 'scripts', 'seed-main.js')], common);
    const seedExit = await seed.exited;
    if (seedExit !== 0) {
      throw new Error(
        `seeding failed (${seedExit}); the end of ${seed.logFile}:\n${seed.logTail()}`,
      );
    }

    const supergraphPath = join(logDir, 'supergraph.graphql');
    writeFileSync(
      supergraphPath,
      supergraphWithUrls(readFileSync(join(root, 'schema', 'supergraph.graphql'), 'utf8'), urls),
    );

    say('starting our gateway and Hive Gateway on the same supergraph...');
    const oursProcess = launch(gateways, 'gateway', [join(dist, 'gateway', 'src', 'main.js')], {
      ...common,
      PORT: String(gatewayPort),
      SUPERGRAPH_PATH: supergraphPath,
      CLERK_JWT_KEY: keys.publicKeyPem,
      CLERK_AUTHORIZED_PARTIES: AUTHORIZED_PARTY,
      CORS_ORIGINS: AUTHORIZED_PARTY,
    });
    const hiveSettings: HiveIdentitySettings = {
      internalSecret,
      jwtKey: keys.publicKeyPem,
      authorizedParties: [AUTHORIZED_PARTY],
      subgraphs: [...SUBGRAPH_NAMES],
    };
    const hivePackage = join(root, 'node_modules', '@graphql-hive', 'gateway');
    const hiveBin = join(hivePackage, 'dist', 'bin.js');
    const { version: hiveVersion } = JSON.parse(
      readFileSync(join(hivePackage, 'package.json'), 'utf8'),
    ) as { version: string };
    const hiveProcess = launch(
      gateways,
      'hive-gateway',
      [
        hiveBin,
        'supergraph',
        supergraphPath,
        '--host',
        '127.0.0.1',
        '--port',
        String(hivePort),
        '--config-path',
        join(__dirname, 'hive-gateway.config.js'),
      ],
      // Hive Gateway's defaults otherwise: one process (no --fork), the CLI's own settings.
      { ...inherited, NODE_ENV: 'production', [HIVE_SETTINGS_ENV]: JSON.stringify(hiveSettings) },
    );
    await Promise.all([
      waitUntilHealthy(oursProcess, `http://127.0.0.1:${gatewayPort}/health`),
      waitUntilHealthy(hiveProcess, `http://127.0.0.1:${hivePort}/readiness`),
    ]);

    const servers = [...subgraphs, oursProcess, hiveProcess];
    return {
      ours: {
        name: 'ours',
        label: 'ours',
        url: `http://127.0.0.1:${gatewayPort}/graphql`,
        process: oursProcess,
      },
      hive: {
        name: 'hive',
        label: 'Hive',
        url: `http://127.0.0.1:${hivePort}/graphql`,
        process: hiveProcess,
      },
      subgraphs,
      privateKeyPem: keys.privateKeyPem,
      databasePoolSize,
      hiveVersion,
      logDir,
      crashed: () => servers.find((p) => !p.running()),
      stop,
    };
  };

  return { start, stop };
}

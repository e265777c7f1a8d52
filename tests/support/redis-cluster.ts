/**
 * A throwaway Redis Cluster on this machine for tests: real `redis-server` processes in
 * cluster mode on free ports, joined by `redis-cli --cluster create`, in a temporary folder
 * removed on `stop()`.
 *
 * Use one cluster per test file (a start takes a second or two), stopped in `afterAll`:
 *
 * ```ts
 * const describeCluster = redisServerAvailable() ? describe : describe.skip;
 * describeCluster('on a Redis Cluster', () => {
 *   let cluster: RedisClusterHandle;
 *   beforeAll(async () => (cluster = await startRedisCluster()));
 *   afterAll(() => cluster?.stop());
 * });
 * ```
 *
 * The processes never outlive the test process: `stop()` kills them, a process `exit` hook
 * kills what `stop()` did not, and a small watchdog shell (which survives a SIGKILL of the Jest
 * worker, when no hook of ours runs) kills them and removes the folder once the test process
 * is gone.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync, readFileSync, existsSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import { waitFor } from './wait-for';

export type RedisClusterRole = 'primary' | 'replica';

export interface RedisClusterNode {
  port: number;
  role: RedisClusterRole;
}

export interface RedisClusterHandle {
  /** `redis+cluster://127.0.0.1:p1,127.0.0.1:p2,...`: every node, so that clients still find the
   * cluster through the survivors after a failover. What `createRedis` and REDIS_URL accept. */
  readonly url: string;
  /** The live nodes and their roles; kept current by `failover` (a killed node leaves the
   * list, its promoted replica becomes a primary). */
  readonly nodes: RedisClusterNode[];
  /** Ports of the primaries serving slots now, ascending (asks the cluster). */
  primaries(): Promise<number[]>;
  /** The port of the live primary serving `key`'s slot now (asks the cluster). */
  primaryOf(key: string): Promise<number>;
  /**
   * Kills (SIGKILL) a primary — the one on `port`, the one owning `key`'s slot when given
   * `{ key }`, else the first primary — and resolves once one of its replicas has been
   * promoted and every surviving node reports `cluster_state:ok`. Needs a replica.
   */
  failover(target?: number | { key: string }): Promise<void>;
  /**
   * Stops (SIGSTOP) the replicas of the primary serving `key`'s slot, as a replica too busy
   * to take the replication stream: they stay connected, and confirm nothing. Resolves with
   * what resumes them (SIGCONT).
   */
  pauseReplicasOf(key: string): Promise<() => void>;
  /** Kills every node and removes the temporary folder. Safe to call twice. */
  stop(): Promise<void>;
}

export interface RedisClusterOptions {
  /** Primaries sharing the 16384 slots (at least 3, `redis-cli --cluster create`'s minimum). */
  primaries?: number;
  /** Replicas of each primary (a failover needs at least 1). */
  replicasPerPrimary?: number;
}

const HOST = '127.0.0.1';
/** How long a start or a failover may take before it is reported as failed. */
const START_TIMEOUT_MS = 30_000;
const FAILOVER_TIMEOUT_MS = 30_000;

let available: boolean | undefined;

/**
 * Whether `redis-server` and `redis-cli` can be run here. Synchronous so a test file can pick
 * `describe` or `describe.skip` with it; says once on stderr why cluster tests are skipped.
 */
export function redisServerAvailable(): boolean {
  if (available !== undefined) return available;
  const missing = ['redis-server', 'redis-cli'].filter(
    (bin) => spawnSync(bin, ['--version'], { stdio: 'ignore' }).status !== 0,
  );
  available = missing.length === 0;
  if (!available) {
    process.stderr.write(
      `Redis Cluster tests skipped: ${missing.join(' and ')} not found on PATH ` +
        '(install Redis 7 to run them).\n',
    );
  }
  return available;
}

/** Every node process started by this test process, killed on exit whatever happened. */
const live = new Set<ChildProcess>();
let exitHookInstalled = false;
function track(child: ChildProcess): void {
  live.add(child);
  child.once('exit', () => live.delete(child));
  if (!exitHookInstalled) {
    exitHookInstalled = true;
    // 'exit' handlers must be synchronous: a signal is all there is time for.
    process.once('exit', () => {
      for (const node of live) node.kill('SIGKILL');
    });
  }
}

/** A port free on 127.0.0.1 whose cluster bus port (+10000) is free too. */
async function freePortPair(): Promise<number> {
  for (let attempt = 0; attempt < 50; attempt++) {
    const port = 20_000 + Math.floor(Math.random() * 30_000);
    if ((await bindable(port)) && (await bindable(port + 10_000))) return port;
  }
  throw new Error('no free port pair for a Redis Cluster node');
}

function bindable(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const server = net.createServer();
    server.once('error', () => resolve(false));
    server.listen(port, HOST, () => server.close(() => resolve(true)));
  });
}

/** Sends one command to one node on a connection of its own that never retries. */
async function nodeCommand(port: number, ...args: (string | number)[]): Promise<unknown> {
  const redis = new Redis({
    host: HOST,
    port,
    lazyConnect: true,
    connectTimeout: 1000,
    maxRetriesPerRequest: 0,
    enableOfflineQueue: false,
    retryStrategy: () => null,
  });
  redis.on('error', () => {});
  try {
    await redis.connect();
    return await redis.call(String(args[0]), ...args.slice(1).map(String));
  } finally {
    redis.disconnect();
  }
}

async function tryNodeCommand(port: number, ...args: (string | number)[]): Promise<unknown> {
  try {
    return await nodeCommand(port, ...args);
  } catch {
    return undefined;
  }
}

/** Polls `probe` (each probe asks the nodes) until it is true, as `waitFor`. */
async function until(
  probe: () => Promise<boolean>,
  what: string,
  timeoutMs: number,
  detail?: () => string,
): Promise<void> {
  await waitFor(probe, `Redis Cluster: ${what}`, timeoutMs, { detail, intervalMs: 25 });
}

interface ClusterNodeLine {
  id: string;
  port: number;
  primary: boolean;
  failed: boolean;
  primaryId: string | undefined;
  slots: string[];
}

/** Parses `CLUSTER NODES`: `<id> <ip:port@bus> <flags> <primary> <ping> <pong> <epoch> <link> <slot>...` */
function parseClusterNodes(text: string): ClusterNodeLine[] {
  return text
    .split('\n')
    .filter((line) => line.trim() !== '')
    .map((line) => {
      const [id, address, flags, primaryId, , , , , ...slots] = line.trim().split(' ');
      const flagList = flags.split(',');
      return {
        id,
        port: Number(address.split('@')[0].split(':').pop()),
        primary: flagList.includes('master'),
        failed: flagList.includes('fail') || flagList.includes('fail?'),
        primaryId: primaryId === '-' ? undefined : primaryId,
        slots,
      };
    });
}

/**
 * Starts a Redis Cluster of `primaries` primaries (default 3) with `replicasPerPrimary`
 * replicas each (default 1) and resolves once every node reports `cluster_state:ok`.
 */
export async function startRedisCluster(
  options: RedisClusterOptions = {},
): Promise<RedisClusterHandle> {
  const primaryCount = options.primaries ?? 3;
  const replicas = options.replicasPerPrimary ?? 1;
  if (primaryCount < 3) throw new Error('a Redis Cluster needs at least 3 primaries');
  if (!redisServerAvailable()) {
    throw new Error('redis-server is not installed: guard the test with redisServerAvailable()');
  }
  const dir = mkdtempSync(join(tmpdir(), 'moviehub-redis-cluster-'));
  const pidFile = join(dir, 'pids');
  writeFileSync(pidFile, '');
  const processes = new Map<number, ChildProcess>();

  // Survives a SIGKILL of this process (no hook of ours runs then): once this process is
  // gone, kills the nodes listed in the pid file and removes the folder. Detached, so the
  // signal that ends the test process's group does not end the watchdog first.
  const watchdog = spawn(
    'sh',
    [
      '-c',
      'while kill -0 "$1" 2>/dev/null; do sleep 1; done; ' +
        'for p in $(cat "$2/pids" 2>/dev/null); do kill -9 "$p" 2>/dev/null; done; rm -rf "$2"',
      'redis-cluster-watchdog',
      String(process.pid),
      dir,
    ],
    { detached: true, stdio: 'ignore' },
  );
  watchdog.unref();

  const logTail = (port: number): string => {
    const file = join(dir, `node-${port}.log`);
    if (!existsSync(file)) return '';
    return `\n--- node ${port} log ---\n${readFileSync(file, 'utf8').split('\n').slice(-15).join('\n')}`;
  };

  /** Starts one node on a free port; another process taking the port first means: try again. */
  const startNode = async (): Promise<number> => {
    let lastError: unknown;
    for (let attempt = 0; attempt < 5; attempt++) {
      const port = await freePortPair();
      const child = spawn(
        'redis-server',
        [
          '--port',
          String(port),
          '--bind',
          HOST,
          '--cluster-enabled',
          'yes',
          '--cluster-config-file',
          join(dir, `nodes-${port}.conf`),
          '--cluster-node-timeout',
          '1000',
          // A replica may take over however long it has been cut off from its primary (the
          // default refuses when the data is "too old", which a freshly started test cluster
          // whose primary is killed at once always is), and starts syncing at once instead of
          // after the default 5 s wait for more replicas.
          '--cluster-replica-validity-factor',
          '0',
          '--repl-diskless-sync-delay',
          '0',
          '--appendonly',
          'no',
          '--save',
          '',
          '--dir',
          dir,
          '--daemonize',
          'no',
          '--logfile',
          join(dir, `node-${port}.log`),
        ],
        { stdio: 'ignore' },
      );
      track(child);
      // A test that forgets `stop()` must not keep Jest from exiting: the exit hook and the
      // watchdog end the node then.
      child.unref();
      if (child.pid !== undefined) writeFileSync(pidFile, `${child.pid}\n`, { flag: 'a' });
      let exited = false;
      child.once('exit', () => (exited = true));
      try {
        await until(
          async () => {
            if (exited) throw new Error(`redis-server on ${port} exited at start${logTail(port)}`);
            return (await tryNodeCommand(port, 'PING')) === 'PONG';
          },
          `node ${port} to answer PING`,
          START_TIMEOUT_MS,
          () => logTail(port),
        );
        processes.set(port, child);
        return port;
      } catch (err) {
        lastError = err;
        child.kill('SIGKILL');
      }
    }
    throw lastError;
  };

  const nodes: RedisClusterNode[] = [];
  let stopped = false;

  const stop = async (): Promise<void> => {
    if (stopped) return;
    stopped = true;
    await Promise.all(
      [...processes.values()].map(
        (child) =>
          new Promise<void>((resolve) => {
            if (child.exitCode !== null || child.signalCode !== null) return resolve();
            child.once('exit', () => resolve());
            child.kill('SIGKILL');
          }),
      ),
    );
    processes.clear();
    nodes.length = 0;
    if (watchdog.pid !== undefined) {
      try {
        process.kill(watchdog.pid, 'SIGKILL');
      } catch {
        // Already gone.
      }
    }
    rmSync(dir, { recursive: true, force: true });
  };

  const livePorts = (): number[] =>
    [...processes.entries()]
      .filter(([, child]) => child.exitCode === null && child.signalCode === null)
      .map(([port]) => port);

  const clusterOk = async (ports: number[]): Promise<boolean> => {
    const infos = await Promise.all(ports.map((port) => tryNodeCommand(port, 'CLUSTER', 'INFO')));
    return infos.every((info) => typeof info === 'string' && info.includes('cluster_state:ok'));
  };

  const clusterNodes = async (): Promise<ClusterNodeLine[]> => {
    for (const port of livePorts()) {
      const text = await tryNodeCommand(port, 'CLUSTER', 'NODES');
      if (typeof text === 'string') return parseClusterNodes(text);
    }
    throw new Error('Redis Cluster: no node answers');
  };

  const refreshRoles = async (): Promise<void> => {
    const ports = livePorts();
    const roles = await Promise.all(ports.map((port) => nodeCommand(port, 'ROLE')));
    nodes.length = 0;
    ports.forEach((port, i) => {
      const role = (roles[i] as unknown[])[0];
      nodes.push({ port, role: role === 'master' ? 'primary' : 'replica' });
    });
    nodes.sort((a, b) => a.port - b.port);
  };

  try {
    const total = primaryCount * (1 + replicas);
    const ports = await Promise.all(Array.from({ length: total }, () => startNode()));
    await new Promise<void>((resolve, reject) => {
      execFile(
        'redis-cli',
        [
          '--cluster',
          'create',
          ...ports.map((port) => `${HOST}:${port}`),
          '--cluster-replicas',
          String(replicas),
          '--cluster-yes',
        ],
        { timeout: START_TIMEOUT_MS },
        (err, stdout, stderr) =>
          err
            ? reject(
                new Error(`redis-cli --cluster create failed: ${err.message}\n${stdout}${stderr}`),
              )
            : resolve(),
      );
    });
    await until(() => clusterOk(ports), 'cluster_state:ok on every node', START_TIMEOUT_MS);
    // `create` assigns replicas as it goes: wait until every replica knows its primary, so
    // that `nodes` says the truth and a failover right after the start can be served.
    await until(
      async () => {
        const lines = await clusterNodes();
        return (
          lines.filter((line) => line.primary && line.slots.length > 0).length === primaryCount &&
          lines.filter((line) => !line.primary && line.primaryId).length === primaryCount * replicas
        );
      },
      'every replica to attach',
      START_TIMEOUT_MS,
    );
    // ... and has synced with it: a replica promoted before its first sync would come up empty.
    await refreshRoles();
    await until(
      async () => {
        const infos = await Promise.all(
          nodes
            .filter((node) => node.role === 'replica')
            .map((node) => tryNodeCommand(node.port, 'INFO', 'replication')),
        );
        return infos.every(
          (info) => typeof info === 'string' && info.includes('master_link_status:up'),
        );
      },
      'every replica to sync with its primary',
      START_TIMEOUT_MS,
    );
    await refreshRoles();
  } catch (err) {
    await stop();
    throw err;
  }

  const primaries = async (): Promise<number[]> =>
    (await clusterNodes())
      .filter((line) => line.primary && !line.failed && line.slots.length > 0)
      .map((line) => line.port)
      .sort((a, b) => a - b);

  /** The live primary's line whose slots hold `key`'s. */
  const primaryLineOf = async (key: string, lines: ClusterNodeLine[]) => {
    const slot = Number(await nodeCommand(livePorts()[0], 'CLUSTER', 'KEYSLOT', key));
    return lines.find(
      (line) =>
        line.primary &&
        !line.failed &&
        line.slots.some((range) => {
          const [from, to = from] = range.split('-').map(Number);
          return slot >= from && slot <= to;
        }),
    );
  };

  const primaryOf = async (key: string): Promise<number> => {
    const line = await primaryLineOf(key, await clusterNodes());
    if (!line) throw new Error(`Redis Cluster: no live primary serves ${key}`);
    return line.port;
  };

  const failover = async (target?: number | { key: string }): Promise<void> => {
    const lines = await clusterNodes();
    let victim: ClusterNodeLine | undefined;
    if (typeof target === 'number') {
      victim = lines.find((line) => line.port === target);
    } else if (target) {
      victim = await primaryLineOf(target.key, lines);
    } else {
      victim = lines.find((line) => line.primary && !line.failed && line.slots.length > 0);
    }
    if (!victim || !victim.primary || victim.failed) {
      throw new Error(`Redis Cluster: no live primary for ${JSON.stringify(target)}`);
    }
    const heirs = lines.filter((line) => line.primaryId === victim.id && !line.failed);
    if (heirs.length === 0) {
      throw new Error(`Redis Cluster: primary ${victim.port} has no replica to promote`);
    }
    const child = processes.get(victim.port);
    if (!child) throw new Error(`Redis Cluster: node ${victim.port} was not started here`);
    await new Promise<void>((resolve) => {
      child.once('exit', () => resolve());
      child.kill('SIGKILL');
    });
    processes.delete(victim.port);
    const survivors = livePorts();
    const victimPort = victim.port;
    await until(
      async () => {
        const roles = await Promise.all(heirs.map((heir) => tryNodeCommand(heir.port, 'ROLE')));
        if (!roles.some((role) => Array.isArray(role) && role[0] === 'master')) return false;
        // Every survivor must have seen the old primary fail, or a client may still be sent
        // to it by a node with the old map.
        const views = await Promise.all(
          survivors.map((port) => tryNodeCommand(port, 'CLUSTER', 'NODES')),
        );
        const seen = views.every(
          (view) =>
            typeof view === 'string' &&
            parseClusterNodes(view).some((line) => line.port === victimPort && line.failed),
        );
        return seen && (await clusterOk(survivors));
      },
      `a replica of ${victimPort} to be promoted and cluster_state:ok`,
      FAILOVER_TIMEOUT_MS,
    );
    await refreshRoles();
  };

  const pauseReplicasOf = async (key: string): Promise<() => void> => {
    const lines = await clusterNodes();
    const primary = await primaryLineOf(key, lines);
    if (!primary) throw new Error(`Redis Cluster: no live primary serves ${key}`);
    const paused = lines
      .filter((line) => line.primaryId === primary.id && !line.failed)
      .map((line) => processes.get(line.port))
      .filter((child): child is ChildProcess => child !== undefined);
    if (paused.length === 0) throw new Error(`Redis Cluster: ${primary.port} has no replica`);
    for (const child of paused) child.kill('SIGSTOP');
    return () => {
      for (const child of paused) child.kill('SIGCONT');
    };
  };

  return {
    url: `redis+cluster://${[...processes.keys()].map((port) => `${HOST}:${port}`).join(',')}`,
    nodes,
    primaries,
    primaryOf,
    failover,
    pauseReplicasOf,
    stop,
  };
}

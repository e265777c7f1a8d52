import { Cluster, Redis, type ClusterOptions, type RedisOptions } from 'ioredis';
import { parseHostPort } from './config';
import { SOCKET_UNREACHABLE_CODES } from './socket-errors';

/**
 * One Redis or a Redis Cluster: what `createRedis` returns, and what every Redis user takes.
 * Both have the same commands; on a cluster, every key of one multi-key command, script,
 * MULTI or pipeline must hash to one slot (a `{hash tag}` shared by the keys).
 */
export type RedisClient = Redis | Cluster;

/** The scheme of a Redis Cluster URL: `redis+cluster://host:port,host:port`. */
const CLUSTER_SCHEME = /^redis\+cluster:\/\//i;

/** Whether `url` names a Redis Cluster (`redis+cluster://host:port,...`). */
export function isClusterUrl(url: string): boolean {
  return CLUSTER_SCHEME.test(url);
}

/** Whether `redis` is a cluster client (commands routed by slot, `nodes()` per node). */
export function isCluster(redis: RedisClient): redis is Cluster {
  return (redis as Cluster).isCluster === true;
}

export interface ClusterAddress {
  /** The startup nodes: any of them lets the client discover the others. */
  nodes: Array<{ host: string; port: number }>;
  username?: string;
  password?: string;
}

/**
 * The nodes (and credentials) of a `redis+cluster://[user:password@]host:port,host:port`
 * URL. Throws on anything else: a cluster URL with no node, a node without a port or with a
 * port out of range (config validation reports the same problems at start-up).
 */
export function parseClusterUrl(url: string): ClusterAddress {
  if (!isClusterUrl(url)) throw new Error('not a redis+cluster:// URL');
  let rest = url.replace(CLUSTER_SCHEME, '');
  // Credentials end at the last '@' (a password may contain '@'); a path (a database
  // number: clusters have only 0) or query after the node list is ignored.
  const at = rest.lastIndexOf('@');
  let username: string | undefined;
  let password: string | undefined;
  if (at >= 0) {
    const credentials = rest.slice(0, at);
    rest = rest.slice(at + 1);
    const colon = credentials.indexOf(':');
    const user = decodeURIComponent(colon >= 0 ? credentials.slice(0, colon) : credentials);
    password = colon >= 0 ? decodeURIComponent(credentials.slice(colon + 1)) : undefined;
    username = user === '' ? undefined : user;
  }
  const list = rest.split(/[/?#]/, 1)[0];
  const nodes = list.split(',').map((entry) => parseHostPort(entry.trim()));
  if (nodes.length === 0) throw new Error('a redis+cluster:// URL needs at least one host:port');
  return { nodes, username, password };
}

/**
 * A Redis connection that fails fast instead of queueing commands forever while Redis is
 * down, and comes back by itself when Redis does:
 * - commands issued before the first connection wait for it (start-up order does not
 *   matter); once connected, the offline queue is switched off, so a command issued while
 *   the connection is down fails at once ("Stream isn't writeable") instead of waiting;
 * - commands in flight when the connection drops fail after `maxRetriesPerRequest`
 *   reconnection attempts (a fraction of a second), never hang until Redis returns;
 * - reconnection goes on forever, at most a second apart, so recovery needs no restart.
 *
 * A `redis+cluster://host:port,...` URL gives a `Cluster` with the same policy: queue until
 * the cluster is first ready, then fail fast while it is not; a command caught by a
 * failover is retried on the new primary for as long as ioredis' redirection limit allows
 * (16 tries 100 ms apart: longer than a failover with `cluster-node-timeout` 1 s, shorter
 * than a caller's patience), then fails as "unavailable" (`isRedisUnavailable`); losing
 * every node is followed by reconnection forever, at most a second apart. Reads go to
 * primaries (`scaleReads: 'master'`): a replica may lag, and the callers read what they
 * just wrote.
 *
 * Callers that want another policy pass it in `options` (a blocking reader passes
 * `maxRetriesPerRequest: null`; passing `enableOfflineQueue` keeps the queue as given). On a
 * cluster, the options of the client (`enableOfflineQueue`, `enableAutoPipelining`,
 * `lazyConnect`, `keyPrefix`) apply to the cluster, the others to each node's connection.
 * Every connection needs an `error` listener or a failure would be an uncaught event: one
 * that logs nothing is attached here, and callers add their own to log.
 */
export function createRedis(url: string, options: RedisOptions = {}): RedisClient {
  const redis = isClusterUrl(url) ? createCluster(url, options) : createSingle(url, options);
  if (options.enableOfflineQueue === undefined) {
    redis.once('ready', () => {
      redis.options.enableOfflineQueue = false;
    });
  }
  redis.on('error', () => {});
  return redis;
}

function createSingle(url: string, options: RedisOptions): Redis {
  return new Redis(url, {
    maxRetriesPerRequest: 2,
    enableOfflineQueue: true,
    connectTimeout: 2000,
    retryStrategy: (attempt) => Math.min(attempt * 100, 1000),
    lazyConnect: false,
    ...options,
  });
}

function createCluster(url: string, options: RedisOptions): Cluster {
  const { nodes, username, password } = parseClusterUrl(url);
  const {
    enableOfflineQueue = true,
    enableAutoPipelining,
    lazyConnect = false,
    keyPrefix,
    // The cluster reconnects as a whole (below); a node's connection that drops is replaced
    // through the slot map, never retried on its own, so these have no meaning per node.
    retryStrategy: _retryStrategy,
    ...nodeOptions
  } = options;
  const clusterOptions: ClusterOptions = {
    enableOfflineQueue,
    enableAutoPipelining,
    lazyConnect,
    keyPrefix,
    scaleReads: 'master',
    clusterRetryStrategy: (attempt) => Math.min(attempt * 100, 1000),
    // No periodic refresh: the slot map is read again on every MOVED and failed node, and a
    // refresh still running at close re-armed its timer, keeping a stopped process alive.
    slotsRefreshInterval: 0,
    slotsRefreshTimeout: 2000,
    redisOptions: {
      maxRetriesPerRequest: 2,
      connectTimeout: 2000,
      username,
      password,
      ...nodeOptions,
    },
  };
  return new Cluster(nodes, clusterOptions);
}

/** Closes a connection (or every connection of a cluster) politely, and for good when the
 * server no longer answers. */
export async function closeRedis(redis: RedisClient): Promise<void> {
  if (redis.status === 'end') return;
  // QUIT's reply comes before the socket has closed: wait for 'end', so that "closed" means
  // no socket is left (a failed start must leave nothing open), disconnecting if it lingers.
  const ended = new Promise<void>((resolve) => redis.once('end', () => resolve()));
  try {
    await redis.quit();
  } catch {
    if ((redis.status as string) !== 'end') redis.disconnect();
  }
  if ((redis.status as string) === 'end') return;
  let timer: NodeJS.Timeout | undefined;
  const lingering = new Promise<void>((resolve) => {
    timer = setTimeout(() => {
      redis.disconnect();
      resolve();
    }, 1000);
    timer.unref();
  });
  await Promise.race([ended, lingering]);
  clearTimeout(timer);
}

/** Messages of ioredis (and of Node's sockets) that mean "Redis cannot be reached now". */
const UNREACHABLE = new RegExp(
  "Stream isn't writeable|Connection is closed|max retries per request|Command timed out|" +
    `${SOCKET_UNREACHABLE_CODES}|^LOADING |^MASTERDOWN |^READONLY `,
  'i',
);

/**
 * ... and those that mean "the cluster is not serving that slot now": a failover or a
 * resharding under way (CLUSTERDOWN, TRYAGAIN, MOVED/ASK left over once ioredis' redirections
 * ran out), no node reachable to learn the slot map from, or the client between two maps.
 * Not CROSSSLOT: that one is a bug (keys of one command in two slots).
 */
const CLUSTER_UNAVAILABLE =
  /^CLUSTERDOWN|^TRYAGAIN|^MOVED |^ASK |Too many Cluster redirections|Failed to refresh slots cache|None of startup nodes is available|Cluster isn't ready|Cluster is (ended|disconnected|disconnecting)|No (sharded )?subscriber for|Connection is (discarded|aborted)/i;

/**
 * Whether `err` says Redis is unreachable or not serving (as opposed to a bug, such as a
 * script error or a wrong type): the caller answers those with a retryable
 * `SERVICE_UNAVAILABLE` rather than an internal error.
 */
export function isRedisUnavailable(err: unknown): boolean {
  // ioredis wraps some failures (a pipeline, a refresh of the slot map): the cause decides.
  if (err instanceof Error && err.cause !== undefined && isRedisUnavailable(err.cause)) return true;
  if (!(err instanceof Error)) return false;
  if (err.name === 'MaxRetriesPerRequestError' || err.name === 'ClusterAllFailedError') return true;
  return UNREACHABLE.test(err.message) || CLUSTER_UNAVAILABLE.test(err.message);
}

/**
 * Every key matching `pattern`, in batches, with SCAN: on a cluster, SCAN sees one node's
 * keys only, so every primary is scanned in turn (replicas hold copies, not more keys).
 * For maintenance and tests; nothing on a request path scans.
 */
export async function* scanKeys(
  redis: RedisClient,
  pattern: string,
  count = 500,
): AsyncGenerator<string[]> {
  // The primaries are known once the slot map is: a command would wait for it, `nodes` not.
  if (isCluster(redis) && redis.status !== 'ready') await redis.ping();
  const nodes: Redis[] = isCluster(redis) ? redis.nodes('master') : [redis];
  for (const node of nodes) {
    let cursor = '0';
    do {
      const [next, keys] = await node.scan(cursor, 'MATCH', pattern, 'COUNT', count);
      cursor = next;
      if (keys.length > 0) yield keys;
    } while (cursor !== '0');
  }
}

/**
 * Deletes every key matching `pattern` (see `scanKeys`). One DEL per key on a cluster,
 * where a DEL of several keys must not span slots; returns how many went.
 */
export async function deleteKeys(redis: RedisClient, pattern: string): Promise<number> {
  let deleted = 0;
  for await (const keys of scanKeys(redis, pattern)) {
    if (isCluster(redis)) {
      const replies = await Promise.all(keys.map((key) => redis.del(key)));
      deleted += replies.reduce((sum, n) => sum + n, 0);
    } else {
      deleted += await redis.del(...keys);
    }
  }
  return deleted;
}

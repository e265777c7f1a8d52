import { Redis, type RedisOptions } from 'ioredis';

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
 * Callers that want another policy pass it in `options` (a blocking reader passes
 * `maxRetriesPerRequest: null`; passing `enableOfflineQueue` keeps the queue as given).
 * Every connection needs an `error` listener or a failure would be an uncaught event: one
 * that logs nothing is attached here, and callers add their own to log.
 */
export function createRedis(url: string, options: RedisOptions = {}): Redis {
  const redis = new Redis(url, {
    maxRetriesPerRequest: 2,
    enableOfflineQueue: true,
    connectTimeout: 2000,
    retryStrategy: (attempt) => Math.min(attempt * 100, 1000),
    lazyConnect: false,
    ...options,
  });
  if (options.enableOfflineQueue === undefined) {
    redis.once('ready', () => {
      redis.options.enableOfflineQueue = false;
    });
  }
  redis.on('error', () => {});
  return redis;
}

/** Closes a connection politely, and for good when the server no longer answers. */
export async function closeRedis(redis: Redis): Promise<void> {
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
const UNREACHABLE =
  /Stream isn't writeable|Connection is closed|max retries per request|Command timed out|ECONNREFUSED|ECONNRESET|ETIMEDOUT|EPIPE|EHOSTUNREACH|ENETUNREACH|ENOTFOUND|EAI_AGAIN|^LOADING |^MASTERDOWN |^READONLY /i;

/**
 * Whether `err` says Redis is unreachable or not serving (as opposed to a bug, such as a
 * script error or a wrong type): the caller answers those with a retryable
 * `SERVICE_UNAVAILABLE` rather than an internal error.
 */
export function isRedisUnavailable(err: unknown): boolean {
  if (!(err instanceof Error)) return false;
  if (err.name === 'MaxRetriesPerRequestError') return true;
  return UNREACHABLE.test(err.message);
}

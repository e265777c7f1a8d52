import { Redis } from 'ioredis';
import { closeRedis } from '../../runtime/redis';

/** Scripts Redis ran over a window, and its own time in them (INFO commandstats). */
export interface RedisScriptTime {
  /** EVALSHA and EVAL calls. */
  readonly calls: number;
  /** Redis' time in them, µs: one thread, so every service's scripts queue behind it. */
  readonly micros: number;
}

/** EVALSHA + EVAL totals of `INFO commandstats` (`cmdstat_evalsha:calls=N,usec=M,...`). */
export function scriptTotals(info: string): RedisScriptTime {
  let calls = 0;
  let micros = 0;
  for (const match of info.matchAll(/^cmdstat_(?:evalsha|eval):calls=(\d+),usec=(\d+)/gm)) {
    calls += Number(match[1]);
    micros += Number(match[2]);
  }
  return { calls, micros };
}

/**
 * Starts a window over the Redis at `url`; the function it answers ends it. Counts every
 * client's scripts (the machine's Redis is the bench's alone while it runs).
 */
export async function redisScriptWindow(url: string): Promise<() => Promise<RedisScriptTime>> {
  const redis = new Redis(url, { lazyConnect: true, maxRetriesPerRequest: 1 });
  await redis.connect();
  const before = scriptTotals(await redis.info('commandstats'));
  return async () => {
    try {
      const after = scriptTotals(await redis.info('commandstats'));
      return { calls: after.calls - before.calls, micros: after.micros - before.micros };
    } finally {
      await closeRedis(redis);
    }
  };
}

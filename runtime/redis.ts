import { Redis, type RedisOptions } from 'ioredis';

/** A Redis connection that fails fast instead of queueing commands forever while down. */
export function createRedis(url: string, options: RedisOptions = {}): Redis {
  return new Redis(url, {
    maxRetriesPerRequest: 2,
    enableOfflineQueue: true,
    connectTimeout: 5000,
    lazyConnect: false,
    ...options,
  });
}

/** Closes a connection politely, and for good when the server no longer answers. */
export async function closeRedis(redis: Redis): Promise<void> {
  if (redis.status === 'end') return;
  try {
    await redis.quit();
  } catch {
    if ((redis.status as string) !== 'end') redis.disconnect();
  }
}

import type { RedisClient } from '../../../runtime/redis';

/** How long a partner's registered query is kept after its last registration. */
export const PERSISTED_QUERY_TTL_SECONDS = 24 * 3600;
/**
 * Longer texts are not kept (they still run, sent whole each time): Apollo registers a text
 * before the cost limits look at it, and comments and long strings do not count as tokens,
 * so without a cap one request could park a megabyte in Redis for a day. Partners' real
 * operations are a few kilobytes.
 */
export const MAX_PERSISTED_QUERY_CHARS = 16 * 1024;

/**
 * Apollo Server's `KeyValueCache` over Redis, for the automatic persisted queries of the
 * public graph: a partner registers a query once (its SHA-256 and text) and from then on
 * sends the hash alone, to whichever gateway instance. Only registered texts are stored
 * (Apollo checks the hash first), each within the body and token limits and for the TTL
 * Apollo passes, so what partners can store is bounded by their rate and the TTL.
 */
export function redisPersistedQueryCache(redis: RedisClient, keyPrefix: string) {
  const key = (name: string) => `${keyPrefix}public-apq:${name}`;
  return {
    async get(name: string): Promise<string | undefined> {
      return (await redis.get(key(name))) ?? undefined;
    },
    async set(name: string, value: string, options?: { ttl?: number | null }): Promise<void> {
      if (value.length > MAX_PERSISTED_QUERY_CHARS) return;
      const ttl = options?.ttl ?? PERSISTED_QUERY_TTL_SECONDS;
      await redis.set(key(name), value, 'EX', Math.max(1, Math.ceil(ttl)));
    },
    async delete(name: string): Promise<boolean> {
      return (await redis.del(key(name))) > 0;
    },
  };
}

import type { Redis } from 'ioredis';

/** How long a partner's registered query is kept after its last registration. */
export const PERSISTED_QUERY_TTL_SECONDS = 24 * 3600;

/**
 * Apollo Server's `KeyValueCache` over Redis, for the automatic persisted queries of the
 * public graph: a partner registers a query once (its SHA-256 and text) and from then on
 * sends the hash alone, to whichever gateway instance. Only registered texts are stored
 * (Apollo checks the hash first), each within the body and token limits and for the TTL
 * Apollo passes, so what partners can store is bounded by their rate and the TTL.
 */
export function redisPersistedQueryCache(redis: Redis, keyPrefix: string) {
  const key = (name: string) => `${keyPrefix}public-apq:${name}`;
  return {
    async get(name: string): Promise<string | undefined> {
      return (await redis.get(key(name))) ?? undefined;
    },
    async set(name: string, value: string, options?: { ttl?: number | null }): Promise<void> {
      const ttl = options?.ttl ?? PERSISTED_QUERY_TTL_SECONDS;
      await redis.set(key(name), value, 'EX', Math.max(1, Math.ceil(ttl)));
    },
    async delete(name: string): Promise<boolean> {
      return (await redis.del(key(name))) > 0;
    },
  };
}

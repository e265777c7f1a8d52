import type { Redis } from 'ioredis';
import { MAX_PERSISTED_QUERY_CHARS, redisPersistedQueryCache } from './persisted-query-cache';

describe('the public graph’s persisted queries in Redis', () => {
  const stored = new Map<string, string>();
  const redis = {
    set: (key: string, value: string) => Promise.resolve(void stored.set(key, value)),
    get: (key: string) => Promise.resolve(stored.get(key) ?? null),
  } as unknown as Redis;
  const cache = redisPersistedQueryCache(redis, 'p:');

  it('keeps a partner’s query for the next request', async () => {
    await cache.set('apq:abc', '{ cinemas { id } }');
    expect(await cache.get('apq:abc')).toBe('{ cinemas { id } }');
  });

  it('never parks a long text (padded with comments or strings) in Redis', async () => {
    const padded = `# ${'x'.repeat(MAX_PERSISTED_QUERY_CHARS)}\n{ cinemas { id } }`;
    await cache.set('apq:long', padded);
    expect(await cache.get('apq:long')).toBeUndefined();
    expect(stored.has('p:public-apq:apq:long')).toBe(false);
  });
});

import { LruCache } from './lru-cache';

describe('LruCache', () => {
  it('drops the least recently used entry beyond its size', () => {
    const cache = new LruCache<string, number>(2);
    cache.set('a', 1);
    cache.set('b', 2);
    expect(cache.get('a')).toBe(1); // a is now the most recently used
    cache.set('c', 3);
    expect(cache.get('b')).toBeUndefined();
    expect(cache.get('a')).toBe(1);
    expect(cache.get('c')).toBe(3);
    expect(cache.size).toBe(2);
  });

  it('keeps the total weight within its budget, and never an entry heavier than it', () => {
    const cache = new LruCache<string, string>(100, { maxWeight: 10, weigh: (v) => v.length });
    cache.set('a', 'xxxx');
    cache.set('b', 'yyyy');
    cache.set('c', 'zzzz');
    expect(cache.get('a')).toBeUndefined();
    expect(cache.totalWeight).toBe(8);
    cache.set('huge', 'x'.repeat(11));
    expect(cache.get('huge')).toBeUndefined();
    expect(cache.totalWeight).toBe(8);
    // Replacing an entry counts its new weight only.
    cache.set('b', 'y');
    expect(cache.totalWeight).toBe(5);
    cache.delete('c');
    expect(cache.totalWeight).toBe(1);
    cache.clear();
    expect([cache.size, cache.totalWeight]).toEqual([0, 0]);
  });
});

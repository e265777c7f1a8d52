/**
 * A bounded least-recently-used map: a `Map` keeps insertion order, so the first key is the
 * least recently used once every hit moves its key to the end. For caches whose keys come
 * from clients (tokens, documents, answers): however many distinct keys arrive, memory stays
 * bounded, by a number of entries and, when `weigh` is given, by their total weight too.
 */
export class LruCache<K, V> {
  private readonly entries = new Map<K, V>();
  private weight = 0;

  constructor(
    readonly maxEntries: number,
    private readonly limits: {
      readonly maxWeight: number;
      readonly weigh: (value: V) => number;
    } = {
      maxWeight: Infinity,
      weigh: () => 0,
    },
  ) {
    if (!(maxEntries >= 1)) throw new RangeError('An LRU cache holds at least one entry');
  }

  get size(): number {
    return this.entries.size;
  }

  /** The total weight of the entries (0 without `weigh`). */
  get totalWeight(): number {
    return this.weight;
  }

  get(key: K): V | undefined {
    const value = this.entries.get(key);
    if (value === undefined) return undefined;
    // Most recently used last: the first key is the one to evict.
    this.entries.delete(key);
    this.entries.set(key, value);
    return value;
  }

  set(key: K, value: V): void {
    const weight = this.limits.weigh(value);
    // Heavier than the whole budget: kept nowhere rather than emptying the cache for it.
    if (weight > this.limits.maxWeight) {
      this.delete(key);
      return;
    }
    this.delete(key);
    this.entries.set(key, value);
    this.weight += weight;
    while (this.entries.size > this.maxEntries || this.weight > this.limits.maxWeight) {
      this.delete(this.entries.keys().next().value as K);
    }
  }

  delete(key: K): boolean {
    const value = this.entries.get(key);
    if (value === undefined) return false;
    this.weight -= this.limits.weigh(value);
    return this.entries.delete(key);
  }

  clear(): void {
    this.entries.clear();
    this.weight = 0;
  }
}

import DataLoader from 'dataloader';

/**
 * A DataLoader for reads outside a request (a process-wide cache's misses): the keys asked for
 * in one turn of the event loop (every request read in it, not only one request's resolvers)
 * go in one batch, and nothing is cached, so a load is always answered by a batch that started
 * after it was made.
 */
export function batchPerTurn<K, V>(batch: DataLoader.BatchLoadFn<K, V>): DataLoader<K, V> {
  return new DataLoader(batch, { cache: false, batchScheduleFn: (run) => setImmediate(run) });
}

/**
 * DataLoader's contract: a batch function answers in the order of its keys. These order rows
 * fetched with one `IN (...)` query accordingly.
 */

/** One row per key, null where missing. */
export function byKeys<K, T>(keys: readonly K[], rows: T[], keyOf: (row: T) => K): (T | null)[] {
  const map = new Map(rows.map((r) => [keyOf(r), r]));
  return keys.map((k) => map.get(k) ?? null);
}

/** The rows of each key (one-to-many), an empty list where there are none. */
export function groupByKeys<K, T>(keys: readonly K[], rows: T[], keyOf: (row: T) => K): T[][] {
  const map = new Map<K, T[]>();
  for (const row of rows) {
    const k = keyOf(row);
    const list = map.get(k);
    if (list) list.push(row);
    else map.set(k, [row]);
  }
  return keys.map((k) => map.get(k) ?? []);
}

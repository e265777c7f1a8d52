import DataLoader from 'dataloader';
import { In, type FindOptionsWhere, type ObjectLiteral, type Repository } from 'typeorm';
import { isUuid } from './ids';

/**
 * A DataLoader for reads outside a request (a process-wide cache's misses): the keys asked for
 * in one turn of the event loop (every request read in it, not only one request's resolvers)
 * go in one batch, and nothing is cached, so a load is always answered by a batch that started
 * after it was made. A key asked for by several requests of the turn is read once: without
 * a cache, DataLoader hands the batch every load's key, so a thousand requests for one
 * showtime would otherwise make a thousand reads of it in the one batch.
 */
export function batchPerTurn<K, V>(batch: DataLoader.BatchLoadFn<K, V>): DataLoader<K, V> {
  const distinct: DataLoader.BatchLoadFn<K, V> = async (keys) => {
    const unique = [...new Set(keys)];
    if (unique.length === keys.length) return batch(keys);
    const values = await batch(unique);
    const byKey = new Map(unique.map((key, i) => [key, values[i]]));
    return keys.map((key) => byKey.get(key)!);
  };
  return new DataLoader(distinct, { cache: false, batchScheduleFn: (run) => setImmediate(run) });
}

/**
 * Rows by id (a uuid primary key `id`), in the order asked, null where missing. Only
 * well-formed ids reach the query (the others are no row): a read shared by several requests
 * (`batchPerTurn`) never fails for one caller's malformed id.
 */
export async function findByUuids<T extends ObjectLiteral & { id: string }>(
  repository: Repository<T>,
  ids: readonly string[],
): Promise<(T | null)[]> {
  const valid = ids.filter(isUuid);
  const rows =
    valid.length === 0
      ? []
      : await repository.findBy({ id: In(valid) } as unknown as FindOptionsWhere<T>);
  return byKeys(ids, rows, (row) => row.id);
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

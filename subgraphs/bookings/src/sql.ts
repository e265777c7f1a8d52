import type { DataSource, EntityManager } from 'typeorm';

/**
 * The rows an `UPDATE ... RETURNING` (or DELETE) changed. TypeORM answers those two commands
 * with `[rows, rowCount]` rather than the rows, so reading `.length` off the raw answer would
 * always see 2: every conditional write of the engine goes through here.
 */
export async function changedRows<T = unknown>(
  runner: EntityManager | DataSource,
  sql: string,
  params: unknown[],
): Promise<T[]> {
  const [rows] = await runner.query<[T[], number]>(sql, params);
  return rows;
}

/**
 * Before anything is measured, both gateways must give the same answers: every request of
 * every pool is sent to both, and the `data` must be deep-equal (object keys in any order,
 * lists in the same order), with no GraphQL errors on either side.
 */
import { isDeepStrictEqual } from 'node:util';
import { pool } from '../common/pool';
import type { RequestVariant } from './cannon';
import type { MixRow } from './mix';
import type { PeerGateway } from './peer-stack';

interface Answer {
  status: number;
  data?: unknown;
  errors?: unknown[];
}

async function ask(url: string, variant: RequestVariant): Promise<Answer> {
  const res = await fetch(url, { method: 'POST', headers: variant.headers, body: variant.body });
  const text = await res.text();
  try {
    const json = JSON.parse(text) as { data?: unknown; errors?: unknown[] };
    return { status: res.status, data: json.data, errors: json.errors };
  } catch {
    return { status: res.status, errors: [`not JSON: ${text.slice(0, 200)}`] };
  }
}

/** The first place where two JSON values differ, as a path, with both values there. */
function firstDifference(a: unknown, b: unknown, path = 'data'): string | undefined {
  if (isDeepStrictEqual(a, b)) return undefined;
  if (Array.isArray(a) && Array.isArray(b)) {
    if (a.length !== b.length) return `${path}: ${a.length} items vs ${b.length}`;
    for (let i = 0; i < a.length; i++) {
      const found = firstDifference(a[i], b[i], `${path}[${i}]`);
      if (found) return found;
    }
  } else if (a && b && typeof a === 'object' && typeof b === 'object') {
    const keys = new Set([...Object.keys(a), ...Object.keys(b)]);
    for (const key of keys) {
      const found = firstDifference(
        (a as Record<string, unknown>)[key],
        (b as Record<string, unknown>)[key],
        `${path}.${key}`,
      );
      if (found) return found;
    }
  }
  const show = (v: unknown) => (v === undefined ? 'absent' : JSON.stringify(v).slice(0, 300));
  return `${path}: ${show(a)} vs ${show(b)}`;
}

export class MismatchError extends Error {
  override readonly name = 'MismatchError';
}

/**
 * Sends every request of every row to both gateways (a few at a time) and throws a
 * {@link MismatchError} naming the query, the variables and the first difference at the
 * first disagreement or error. Answers how many requests were compared.
 */
export async function checkSameAnswers(
  rows: readonly MixRow[],
  ours: PeerGateway,
  hive: PeerGateway,
): Promise<number> {
  const seen = new Set<string>();
  const work: Array<{ row: MixRow; index: number }> = [];
  for (const row of rows) {
    row.pool.forEach((variant, index) => {
      const key = `${variant.body}\n${variant.headers.authorization ?? ''}`;
      if (seen.has(key)) return;
      seen.add(key);
      work.push({ row, index });
    });
  }
  const problems: string[] = [];
  await pool(work.length, 8, async (i) => {
    if (problems.length > 0) return;
    const { row, index } = work[i];
    const variant = row.pool[index];
    const [a, b] = await Promise.all([ask(ours.url, variant), ask(hive.url, variant)]);
    const where = `${row.query} ${row.labels[index]}`;
    for (const [gateway, answer] of [
      [ours, a],
      [hive, b],
    ] as const) {
      if (answer.status !== 200 || answer.errors?.length || answer.data == null) {
        problems.push(
          `${where}: ${gateway.label} answered ${answer.status} with ${JSON.stringify(answer.errors ?? 'no data').slice(0, 500)}`,
        );
        return;
      }
    }
    const difference = firstDifference(a.data, b.data);
    if (difference) problems.push(`${where}: ${ours.label} vs ${hive.label}: ${difference}`);
  });
  if (problems.length > 0) {
    throw new MismatchError(
      `the gateways do not give the same answers:\n  ${problems.join('\n  ')}`,
    );
  }
  return work.length;
}

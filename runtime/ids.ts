import { createHash } from 'node:crypto';
import { badUserInput } from './errors';

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

export const isUuid = (value: string): boolean => UUID.test(value);

/** Checks an ID argument that must be a UUID; anything else is the client's mistake. */
export function requireUuid(value: string, field = 'id'): string {
  if (!isUuid(value)) throw badUserInput(field, `${field} must be a UUID`);
  return value.toLowerCase();
}

/**
 * A deterministic UUID (v5-shaped) from a name: demo data gets the same ids in every database
 * and on every run, so seeding is idempotent and cross-subgraph references agree.
 */
export function stableUuid(namespace: string, name: string): string {
  const h = createHash('sha1').update(`${namespace}:${name}`).digest();
  h[6] = (h[6] & 0x0f) | 0x50;
  h[8] = (h[8] & 0x3f) | 0x80;
  const hex = h.subarray(0, 16).toString('hex');
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
}

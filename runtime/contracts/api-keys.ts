import { createHash } from 'node:crypto';

/**
 * Partner API keys, between the users subgraph (which issues, stores and revokes them) and
 * the gateway (which checks them on `/public/graphql`). The database keeps only a key's
 * SHA-256: a key is 256 random bits, so a plain hash cannot be reversed by guessing, and a
 * stolen table grants nothing. What the gateway reads per request lives in Redis under the
 * key's hash, written by the users subgraph only:
 *   `{prefix}api-key:{<hash>}`  STRING  `active:<id>:<requestsPerMinute>` | `revoked` |
 *                                       `unknown` (no such key; expires, see below)
 * The hash is the key's hash tag, so the gateway's rate-limit bucket of the key (same tag)
 * lives in the same cluster slot and one script reads both. A revoked key's record is
 * overwritten with `revoked` (never deleted): a verification racing the revocation writes
 * only where nothing is (SET NX), so it can never bring the key back.
 */

/** Every key starts so: recognisable in logs, configuration and by secret scanners. */
export const API_KEY_PREFIX = 'mh_live_';
/** Random bytes after the prefix, base64url: 43 characters. */
export const API_KEY_RANDOM_BYTES = 32;
const API_KEY_PATTERN = /^mh_live_[A-Za-z0-9_-]{43}$/;

/** Whether `key` has the shape of a key at all (anything else is refused unread). */
export function isWellFormedApiKey(key: string): boolean {
  return API_KEY_PATTERN.test(key);
}

/** What is stored and looked up instead of the key: its SHA-256, lowercase hex. */
export function apiKeyHash(key: string): string {
  return createHash('sha256').update(key).digest('hex');
}

/** The Redis key of a key's record (see above). */
export function apiKeyRecordKey(redisKeyPrefix: string, hash: string): string {
  return `${redisKeyPrefix}api-key:{${hash}}`;
}

export const activeApiKeyRecord = (id: string, requestsPerMinute: number): string =>
  `active:${id}:${requestsPerMinute}`;
export const REVOKED_API_KEY_RECORD = 'revoked';
export const UNKNOWN_API_KEY_RECORD = 'unknown';
/**
 * An unknown hash is remembered this long, so that a client repeating a wrong key does not
 * reach the database each time. Never wrong: nobody holds a key before it is issued, and
 * issuing one overwrites its record.
 */
export const UNKNOWN_API_KEY_TTL_SECONDS = 300;

/**
 * `POST {users}/internal/api-keys/verify` (signed service identity, the gateway only): what
 * the gateway asks when a key's record is not in Redis (or there is no Redis). The users
 * subgraph answers from its database and writes the record back where nothing is.
 */
export const API_KEY_VERIFY_PATH = '/internal/api-keys/verify';
/** The one service allowed to verify keys. */
export const API_KEY_VERIFIER = 'gateway';

export interface ApiKeyVerifyRequest {
  /** {@link apiKeyHash} of the presented key: the key itself never leaves the gateway. */
  hash: string;
}

/** 200. `apiKey` null: no such key, or revoked. */
export interface ApiKeyVerifyResponse {
  apiKey: { id: string; requestsPerMinute: number } | null;
}

/** A hash as {@link apiKeyHash} makes it. */
export const isApiKeyHash = (value: unknown): value is string =>
  typeof value === 'string' && /^[0-9a-f]{64}$/.test(value);

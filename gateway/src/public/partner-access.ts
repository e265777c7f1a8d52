import type { RateLimitState } from './token-bucket';

/** What became of one request to the public graph, by its `X-Api-Key`. */
export type AccessDecision =
  /** A valid key within its rate: the request counted. */
  | { readonly kind: 'admitted'; readonly apiKeyId: string; readonly rate: RateLimitState }
  /** A valid key over its rate: `RATE_LIMITED`, retry after `rate.retryAfterSeconds`. */
  | { readonly kind: 'limited'; readonly apiKeyId: string; readonly rate: RateLimitState }
  /** No such key, a revoked one, or not a key at all: `UNAUTHENTICATED`. */
  | { readonly kind: 'refused' };

export const REFUSED: AccessDecision = Object.freeze({ kind: 'refused' });

/**
 * Checks a partner's key and counts the request against the key's rate in one step: the
 * Redis store does both in one round trip for every gateway instance at once
 * (`redis-partner-access.ts`); the memory store serves the embedded default, one process
 * without Redis (`memory-partner-access.ts`). One test suite runs against both.
 */
export interface PartnerAccess {
  /**
   * One request with `key` at `now` (ms). Rejects with `SERVICE_UNAVAILABLE` when Redis or
   * the users subgraph (which knows the keys) cannot be reached.
   */
  admit(key: string, now: number, requestId?: string): Promise<AccessDecision>;
}

/**
 * Where a key missing from Redis (or every key, without Redis) is looked up: the users
 * subgraph, by the key's hash (`api-key-verifier.ts`). Null: no such key, or revoked.
 */
export type ApiKeyVerifier = (
  hash: string,
  requestId?: string,
) => Promise<{ readonly id: string; readonly requestsPerMinute: number } | null>;

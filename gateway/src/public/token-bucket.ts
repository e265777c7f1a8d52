/**
 * The rate limit of a partner key: a token bucket holding up to `requestsPerMinute` tokens,
 * refilled continuously at `requestsPerMinute` a minute; a request takes one. So a key may
 * burst up to a minute's worth at once and then go on at its rate, and "over the rate" never
 * depends on where a fixed window happens to start. The Redis store runs the same arithmetic
 * in Lua (`partner-access.scripts.ts`); both use the caller's clock (ms).
 */
export const BUCKET_REFILL_MS = 60_000;

export interface BucketState {
  /** Tokens left (fractional: refilling is continuous). */
  readonly tokens: number;
  /** When `tokens` was computed, ms. */
  readonly at: number;
}

/**
 * One request at `now` against a bucket (undefined: full). A clock that went back (another
 * gateway's, a little behind) refills nothing rather than taking tokens away.
 */
export function takeToken(
  state: BucketState | undefined,
  capacity: number,
  now: number,
): { readonly state: BucketState; readonly admitted: boolean } {
  let tokens = state?.tokens ?? capacity;
  const at = Math.max(state?.at ?? now, now);
  if (state && now > state.at) {
    tokens = Math.min(capacity, tokens + ((now - state.at) * capacity) / BUCKET_REFILL_MS);
  }
  const admitted = tokens >= 1;
  return { state: { tokens: admitted ? tokens - 1 : tokens, at }, admitted };
}

/** What the rate-limit headers say after a request left `tokens` in a bucket of `capacity`. */
export interface RateLimitState {
  /** `requestsPerMinute`. */
  readonly limit: number;
  /** Whole requests that could be made right now. */
  readonly remaining: number;
  /** Seconds until the bucket is full again (the quota is whole again). */
  readonly resetSeconds: number;
  /** Seconds until one more request will be admitted (0 when one would be now). */
  readonly retryAfterSeconds: number;
}

export function rateLimitState(capacity: number, tokens: number): RateLimitState {
  const msPerToken = BUCKET_REFILL_MS / capacity;
  return {
    limit: capacity,
    remaining: Math.floor(tokens),
    resetSeconds: Math.ceil(((capacity - tokens) * msPerToken) / 1000),
    // Rounded up, so that retrying after it always succeeds (given no one else spends).
    retryAfterSeconds: tokens >= 1 ? 0 : Math.max(1, Math.ceil(((1 - tokens) * msPerToken) / 1000)),
  };
}

import type { ResolvedSubscribeOptions, SubscribeOptions } from './transport';

export const DEFAULT_MAX_ATTEMPTS = 5;
export const DEFAULT_RETRY_AFTER_MS = 1000;
/** Streams keep about this many entries; older ones are trimmed (`XADD MAXLEN ~`). */
export const DEFAULT_STREAM_MAX_LENGTH = 100_000;

/** Applies defaults and refuses nonsense early, where the caller can see it. */
export function resolveSubscribeOptions(options: SubscribeOptions): ResolvedSubscribeOptions {
  const resolved = {
    ...options,
    maxAttempts: options.maxAttempts ?? DEFAULT_MAX_ATTEMPTS,
    retryAfterMs: options.retryAfterMs ?? DEFAULT_RETRY_AFTER_MS,
  };
  if (!Number.isInteger(resolved.maxAttempts) || resolved.maxAttempts < 1) {
    throw new Error(`maxAttempts must be a positive integer, got ${resolved.maxAttempts}`);
  }
  if (!Number.isFinite(resolved.retryAfterMs) || resolved.retryAfterMs < 0) {
    throw new Error(`retryAfterMs must be a non-negative number, got ${resolved.retryAfterMs}`);
  }
  if (!resolved.group) throw new Error('A subscription needs a group');
  if (!resolved.consumer) throw new Error('A subscription needs a consumer name');
  return resolved;
}

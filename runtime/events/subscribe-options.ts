import type { ResolvedSubscribeOptions, SubscribeOptions } from './transport';

export const DEFAULT_MAX_ATTEMPTS = 5;
export const DEFAULT_RETRY_AFTER_MS = 1000;
/**
 * The in-process transport's memory bound: it keeps at most this many entries per stream,
 * dropping the oldest beyond it whether read or not (it loses everything on exit anyway).
 * Redis streams have no such bound: they are trimmed only to what every group acknowledged,
 * and one longer than this after trimming is reported in the log.
 */
export const DEFAULT_STREAM_MAX_LENGTH = 100_000;
/** `EVENT_RETENTION_HOURS`' default (168 h, a week), for transports built without config. */
export const DEFAULT_EVENT_RETENTION_MS = 168 * 3_600_000;
/** A consumer idle this long with nothing pending belongs to a stopped instance. */
export const DEFAULT_IDLE_CONSUMER_MS = 10 * 60_000;

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

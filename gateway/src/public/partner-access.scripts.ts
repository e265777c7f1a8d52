/**
 * The Lua script of `RedisPartnerAccess`: a partner request's key check and rate limit in
 * one round trip, shared by every gateway instance. Keys (one hash tag, the key's hash, so
 * one cluster slot):
 *   record  STRING  the key's record, written by the users subgraph only
 *                   (`runtime/contracts/api-keys.ts`): `active:<id>:<requestsPerMinute>`,
 *                   `revoked` or `unknown`
 *   bucket  HASH    `tokens` (fractional), `at` (ms): the key's token bucket
 *                   (`token-bucket.ts`, whose arithmetic this mirrors). It lives as long as a
 *                   bucket takes to fill up: a bucket that is gone is a full one.
 * A revocation overwrites the record, so from the next request on every gateway refuses
 * the key: there is nothing per instance to invalidate.
 *
 * Time is the caller's `now` (ms), as in the seat-hold scripts: tests drive it, and the
 * memory store shares the same notion of time.
 *
 * KEYS: record, bucket. ARGV: now, fallback record ('' for none; what the users subgraph
 * answered for a key Redis had no record of, used only if Redis still has none).
 * Returns {'MISS'} (no record and no fallback: ask the users subgraph), {'REFUSED'}, or
 * {'OK', id, requestsPerMinute, admitted (1|0), tokens left (a string: Lua numbers become
 * integers in replies)}.
 */
export const ADMIT_LUA = `
local record = redis.call('GET', KEYS[1])
if not record then
  if ARGV[2] == '' then return {'MISS'} end
  record = ARGV[2]
end
local id, rpm = string.match(record, '^active:([^:]+):(%d+)$')
if not id then return {'REFUSED'} end
local capacity = tonumber(rpm)
local now = tonumber(ARGV[1])
local refillMs = 60000

local state = redis.call('HMGET', KEYS[2], 'tokens', 'at')
local tokens = tonumber(state[1])
local at = tonumber(state[2])
if not tokens or not at then
  tokens = capacity
  at = now
elseif now > at then
  tokens = math.min(capacity, tokens + (now - at) * capacity / refillMs)
  at = now
end
local admitted = 0
if tokens >= 1 then
  tokens = tokens - 1
  admitted = 1
end
local left = string.format('%.17g', tokens)
redis.call('HSET', KEYS[2], 'tokens', left, 'at', at)
redis.call('PEXPIRE', KEYS[2], refillMs)
return {'OK', id, capacity, admitted, left}
`;

/**
 * The Lua scripts of `RedisStreamsTransport`'s upkeep. Each one reads the state of a stream's
 * consumer groups and acts on it in one atomic step, so nothing a consumer does in between
 * (reading, acknowledging, claiming) can make the decision wrong.
 *
 * Key: the stream, `${keyPrefix}events:${stream}` (one key per script: cluster-safe).
 *
 * Stream ids are `ms-seq`. Lua numbers are doubles, exact up to 2^53: enough for both parts
 * (ms until the year 287,000; seq counts entries added within one millisecond). The ms part
 * is kept as the string Redis gave, never printed back from a number (Lua would print large
 * numbers in exponent form).
 */

const PRELUDE = `
local function splitId(id)
  local dash = string.find(id, '-', 1, true)
  return string.sub(id, 1, dash - 1), tonumber(string.sub(id, dash + 1))
end

local function idLess(a, b)
  local am, as = splitId(a)
  local bm, bs = splitId(b)
  am, bm = tonumber(am), tonumber(bm)
  return am < bm or (am == bm and as < bs)
end

local function fields(flat)
  local t = {}
  for i = 1, #flat, 2 do t[flat[i]] = flat[i + 1] end
  return t
end
`;

/**
 * Trims a stream down to what some consumer group still needs.
 *
 * For each group, the oldest entry it may still need is its oldest pending entry (delivered,
 * not acknowledged: it will be delivered again) or, with nothing pending, the entry after its
 * `last-delivered-id` (everything up to that one is acknowledged). `XTRIM MINID` with the
 * smallest of these removes only entries that every group has acknowledged. A stream without
 * groups has no one to wait for: entries older than the cutoff (the event retention) go.
 *
 * KEYS: stream. ARGV: cutoffMs (for a stream without groups).
 * Returns {trimmed, lengthAfter, groupCount}.
 */
export const TRIM_ACKNOWLEDGED_LUA = `${PRELUDE}
local key = KEYS[1]
if redis.call('EXISTS', key) == 0 then return {0, 0, 0} end
local groups = redis.call('XINFO', 'GROUPS', key)
local threshold
if #groups == 0 then
  threshold = ARGV[1] .. '-0'
else
  for _, raw in ipairs(groups) do
    local group = fields(raw)
    local needed
    if tonumber(group['pending']) > 0 then
      -- XPENDING summary: {count, smallest id, greatest id, consumers}.
      needed = redis.call('XPENDING', key, group['name'])[2]
    else
      local ms, seq = splitId(group['last-delivered-id'])
      needed = ms .. '-' .. string.format('%d', seq + 1)
    end
    if threshold == nil or idLess(needed, threshold) then threshold = needed end
  end
end
local trimmed = redis.call('XTRIM', key, 'MINID', threshold)
return {trimmed, redis.call('XLEN', key), #groups}
`;

/**
 * Removes the consumers of a group that have been idle for at least `idleMs` and hold no
 * pending entries: consumers of instances that stopped or died (a live consumer touches the
 * group at every read, within a second or so). `XGROUP DELCONSUMER` discards the consumer's
 * pending entries, so one with pending entries is never removed here: they are first taken
 * over by a live consumer (`XAUTOCLAIM`), after which it is removed on a later pass. Checking
 * and deleting in one script means no entry can be delivered to it in between. Removing a
 * consumer that is in fact alive loses nothing: its next read creates it again.
 *
 * KEYS: stream. ARGV: group, idleMs, keep (this instance's consumer name, never removed).
 * Returns the names removed.
 */
export const REMOVE_IDLE_CONSUMERS_LUA = `${PRELUDE}
local key, group, idleMs, keep = KEYS[1], ARGV[1], tonumber(ARGV[2]), ARGV[3]
if redis.call('EXISTS', key) == 0 then return {} end
-- The group may not exist (yet, or any more): then there is nothing to remove.
local consumers = redis.pcall('XINFO', 'CONSUMERS', key, group)
if consumers['err'] then return {} end
local removed = {}
for _, raw in ipairs(consumers) do
  local c = fields(raw)
  if c['name'] ~= keep and tonumber(c['pending']) == 0 and tonumber(c['idle']) >= idleMs then
    redis.call('XGROUP', 'DELCONSUMER', key, group, c['name'])
    removed[#removed + 1] = c['name']
  end
end
return removed
`;

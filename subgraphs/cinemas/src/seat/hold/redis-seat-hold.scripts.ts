/**
 * The Lua scripts of `RedisSeatHoldStore`. Each one reads, decides, writes, INCRs the
 * showtime's version and PUBLISHes the event in one atomic step, which is what gives the
 * store its guarantees: two holds can never interleave (invariant 2), the version order is
 * the publish order, and a change is published exactly once, never lost between a write and
 * a separate PUBLISH.
 *
 * Keys of a showtime share the hash tag `{showtimeId}` (one cluster slot per showtime):
 *   holds    HASH   seatId -> holder tag (may still name holders whose window has passed)
 *   windows  HASH   holder tag -> window end, ms
 *   version  STRING the showtime's event counter
 * and the sweeper's index, one for the whole prefix:
 *   expiries ZSET   member `showtimeId|holder`, score = window end, ms
 *
 * Time is the caller's `now` (ms), never Redis' clock, so tests can drive it and both stores
 * share one notion of "expired": a window has passed when `end <= now`.
 *
 * Events are assembled by hand rather than with `cjson.encode(table)`: cjson turns an empty
 * table into `{}` and orders keys at random, while subscribers expect the exact shape of
 * `JSON.stringify(SeatEvent)`.
 */

const PRELUDE = `
local function jsonSeat(seat, status, holder)
  local h = 'null'
  if holder then h = cjson.encode(holder) end
  return '{"seatId":' .. cjson.encode(seat) .. ',"status":' .. cjson.encode(status) ..
    ',"holder":' .. h .. '}'
end

-- INCR and PUBLISH together: one version, one event. Nothing when nothing changed.
local function commit(versionKey, channel, showtimeId, changes)
  if #changes == 0 then
    return tonumber(redis.call('GET', versionKey) or '0')
  end
  local version = redis.call('INCR', versionKey)
  redis.call('PUBLISH', channel, '{"showtimeId":' .. cjson.encode(showtimeId) ..
    ',"version":' .. version .. ',"seats":[' .. table.concat(changes, ',') .. ']}')
  return version
end

local function hashToTable(flat)
  local t = {}
  for i = 1, #flat, 2 do t[flat[i]] = flat[i + 1] end
  return t
end
`;

/**
 * KEYS: holds, windows, version, expiries.
 * ARGV: showtimeId, holder, now, ttlMs, maxSeats, channel, member, seatId...
 * Returns {'OK', expiresAt, version, heldSeatId...} | {'SEAT_UNAVAILABLE', seatId...} |
 * {'HOLD_LIMIT_EXCEEDED'}.
 */
export const HOLD_LUA = `${PRELUDE}
local holdsKey, windowsKey, versionKey, expiriesKey = KEYS[1], KEYS[2], KEYS[3], KEYS[4]
local showtimeId, holder = ARGV[1], ARGV[2]
local now, ttlMs, maxSeats = tonumber(ARGV[3]), tonumber(ARGV[4]), tonumber(ARGV[5])
local channel, member = ARGV[6], ARGV[7]

local requested, wanted = {}, {}
for i = 8, #ARGV do
  requested[#requested + 1] = ARGV[i]
  wanted[ARGV[i]] = true
end

local holds = hashToTable(redis.call('HGETALL', holdsKey))
local windows = hashToTable(redis.call('HGETALL', windowsKey))
local function live(h)
  local ends = tonumber(windows[h])
  return ends ~= nil and ends > now
end

-- Seats of holders whose window has passed are free; only live holders block.
local conflicts = {'SEAT_UNAVAILABLE'}
for _, seat in ipairs(requested) do
  local h = holds[seat]
  if h and h ~= holder and live(h) then conflicts[#conflicts + 1] = seat end
end
if #conflicts > 1 then return conflicts end

local holderLive = live(holder)
local mine, total = {}, 0
if holderLive then
  for seat, h in pairs(holds) do
    if h == holder then
      mine[seat] = true
      total = total + 1
    end
  end
end
for _, seat in ipairs(requested) do
  if not mine[seat] then total = total + 1 end
end
if total > maxSeats then return {'HOLD_LIMIT_EXCEEDED'} end

local changes = {}
local expiresAt
if holderLive then
  expiresAt = tonumber(windows[holder])
else
  -- A new window; leftovers of the holder's expired one not asked for again are freed now.
  expiresAt = now + ttlMs
  redis.call('HSET', windowsKey, holder, expiresAt)
  redis.call('ZADD', expiriesKey, expiresAt, member)
  local stale = {}
  for seat, h in pairs(holds) do
    if h == holder and not wanted[seat] then stale[#stale + 1] = seat end
  end
  table.sort(stale)
  for _, seat in ipairs(stale) do
    redis.call('HDEL', holdsKey, seat)
    changes[#changes + 1] = jsonSeat(seat, 'AVAILABLE', nil)
  end
end
for _, seat in ipairs(requested) do
  if not mine[seat] then
    redis.call('HSET', holdsKey, seat, holder)
    mine[seat] = true
    changes[#changes + 1] = jsonSeat(seat, 'HELD', holder)
  end
end

local result = {'OK', expiresAt, commit(versionKey, channel, showtimeId, changes)}
for seat in pairs(mine) do result[#result + 1] = seat end
return result
`;

/**
 * KEYS: holds, windows, version. ARGV: showtimeId, holder, now, channel, seatId...
 * Returns {version, releasedSeatId...}.
 */
export const RELEASE_LUA = `${PRELUDE}
local holdsKey, windowsKey, versionKey = KEYS[1], KEYS[2], KEYS[3]
local showtimeId, holder, now, channel = ARGV[1], ARGV[2], tonumber(ARGV[3]), ARGV[4]
local released, changes = {}, {}
-- An expired holder holds nothing; its leftovers are the sweeper's to free and publish.
local ends = tonumber(redis.call('HGET', windowsKey, holder))
if ends ~= nil and ends > now then
  for i = 5, #ARGV do
    local seat = ARGV[i]
    if redis.call('HGET', holdsKey, seat) == holder then
      redis.call('HDEL', holdsKey, seat)
      released[#released + 1] = seat
      changes[#changes + 1] = jsonSeat(seat, 'AVAILABLE', nil)
    end
  end
end
local result = {commit(versionKey, channel, showtimeId, changes)}
for _, seat in ipairs(released) do result[#result + 1] = seat end
return result
`;

/**
 * KEYS: holds, windows, version. ARGV: now.
 * Returns {version, seatId, holder, seatId, holder, ...}, expired windows left out. A script
 * rather than three reads, so the holds and the version belong to the same instant.
 */
export const SNAPSHOT_LUA = `
local holdsKey, windowsKey, versionKey = KEYS[1], KEYS[2], KEYS[3]
local now = tonumber(ARGV[1])
local result = {tonumber(redis.call('GET', versionKey) or '0')}
local windows = {}
local flat = redis.call('HGETALL', windowsKey)
for i = 1, #flat, 2 do windows[flat[i]] = tonumber(flat[i + 1]) end
flat = redis.call('HGETALL', holdsKey)
for i = 1, #flat, 2 do
  local ends = windows[flat[i + 1]]
  if ends ~= nil and ends > now then
    result[#result + 1] = flat[i]
    result[#result + 1] = flat[i + 1]
  end
end
return result
`;

/**
 * KEYS: holds, windows, version, expiries. ARGV: member, showtimeId, holder, now, channel.
 * Returns 1 when this call released the window, 0 when there was nothing to do (another
 * sweeper got there first, or the holder started a new window since it was listed).
 */
export const SWEEP_LUA = `${PRELUDE}
local holdsKey, windowsKey, versionKey, expiriesKey = KEYS[1], KEYS[2], KEYS[3], KEYS[4]
local member, showtimeId, holder = ARGV[1], ARGV[2], ARGV[3]
local now, channel = tonumber(ARGV[4]), ARGV[5]

-- The ZSCORE re-check is what makes racing sweepers safe: whoever runs second finds the
-- member gone and does nothing.
local score = tonumber(redis.call('ZSCORE', expiriesKey, member))
if score == nil or score > now then return 0 end
local ends = tonumber(redis.call('HGET', windowsKey, holder))
if ends ~= nil and ends > now then
  -- The window was renewed without its index entry (cannot happen through HOLD_LUA, which
  -- writes both): repair the index instead of freeing live seats.
  redis.call('ZADD', expiriesKey, ends, member)
  return 0
end

redis.call('ZREM', expiriesKey, member)
redis.call('HDEL', windowsKey, holder)
local seats = {}
local flat = redis.call('HGETALL', holdsKey)
for i = 1, #flat, 2 do
  if flat[i + 1] == holder then seats[#seats + 1] = flat[i] end
end
table.sort(seats)
local changes = {}
for _, seat in ipairs(seats) do
  redis.call('HDEL', holdsKey, seat)
  changes[#changes + 1] = jsonSeat(seat, 'AVAILABLE', nil)
end
commit(versionKey, channel, showtimeId, changes)
return 1
`;

/**
 * KEYS: holds, version. ARGV: showtimeId, channel, seatId, status, seatId, status, ...
 * Returns the new version.
 */
export const PUBLISH_CHANGE_LUA = `${PRELUDE}
local holdsKey, versionKey = KEYS[1], KEYS[2]
local showtimeId, channel = ARGV[1], ARGV[2]
local changes = {}
for i = 3, #ARGV, 2 do
  redis.call('HDEL', holdsKey, ARGV[i])
  changes[#changes + 1] = jsonSeat(ARGV[i], ARGV[i + 1], nil)
end
return commit(versionKey, channel, showtimeId, changes)
`;

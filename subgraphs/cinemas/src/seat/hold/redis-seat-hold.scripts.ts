/**
 * The Lua scripts of `RedisSeatHoldStore`. Each one reads, decides, writes, INCRs the
 * showtime's version and PUBLISHes the event in one atomic step, which is what gives the
 * store its guarantees: two holds can never interleave (invariant 2), the version order is
 * the publish order, and a change is published exactly once, never lost between a write and
 * a separate PUBLISH. The anti-hoarding rules (cooldown, showtimes per holder) are decided in
 * the same step as the hold, so racing holds cannot slip past them.
 *
 * Keys of a showtime share the hash tag `{showtimeId}` (one cluster slot per showtime):
 *   holds     HASH   seatId -> holder tag (may still name holders whose window has passed)
 *   windows   HASH   holder tag -> window end, ms
 *   cooldowns HASH   holder tag -> earliest start of the holder's next window, ms
 *   reserved  HASH   seatId -> "<until ms>:<holder tag>": a booking's seats (RESERVE_LUA,
 *                    or RETAKE_LUA for a paid booking taking released seats back).
 *                    Kept apart from `holds` so that no rule of holds (windows, the sweeper,
 *                    releases, per-holder counts) can touch them; they block every hold
 *                    until `until` and leave with PUBLISH_CHANGE_LUA (BOOKED or AVAILABLE).
 *                    `until` lets a marker whose booking never got written (a crash between
 *                    this script and the booking's commit) lapse on its own.
 *   sold      HASH   seatId -> '1': seats sold (BOOKED through PUBLISH_CHANGE_LUA, or loaded
 *                    from the reservation record by LOAD_RECORD_LUA)
 *   facts     HASH   'epoch' -> counter of published changes since a load of the record was
 *                    first asked for (a load that read the record before a change is
 *                    refused); 'closed' -> '1' once the showtime was cancelled (no holds)
 * The record counts as loaded while both `reserved` and `sold` hold the field '' (no seat id
 * is empty): Redis losing either key (or everything) makes the next hold load it again, so
 * what PostgreSQL records is never forgotten for long.
 *   version   STRING the showtime's event counter
 * Every script that writes them sets their time to live (PEXPIRE) to a day after the
 * showtime ends (`keepMs`, computed by the caller), so nothing of a past showtime stays.
 * Keys of a holder (its tag), across showtimes:
 *   showtimes ZSET   showtimeId -> window end, ms: the showtimes where it holds seats
 *   calls     ZSET   its hold/release calls of the last minute, score = time, ms
 * and the sweeper's index, one for the whole prefix:
 *   expiries  ZSET   member `showtimeId|holder`, score = window end, ms
 *
 * Time is the caller's `now` (ms), never Redis' clock, so tests can drive it and both stores
 * share one notion of "expired": a window has passed when `end <= now`. For the same reason
 * time to live is always relative (PEXPIRE with a duration the caller computed against its
 * own clock), never PEXPIREAT.
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

-- Time to live for the showtime's keys that exist (PEXPIRE ignores missing ones).
local function keep(keys, ms)
  for _, key in ipairs(keys) do redis.call('PEXPIRE', key, ms) end
end

-- The sliding log of a holder's calls: nil when one more is admitted (and counted), else
-- how long until it would be. "At most N in any 60 s" holds exactly, at most N entries.
local function admitCall(callsKey, now, limit, windowMs)
  redis.call('ZREMRANGEBYSCORE', callsKey, '-inf', now - windowMs)
  local count = redis.call('ZCARD', callsKey)
  if count >= limit then
    local oldest = redis.call('ZRANGE', callsKey, 0, 0, 'WITHSCORES')
    return tonumber(oldest[2]) + windowMs - now
  end
  -- Unique among the entries kept: an older one at the same time has a lower count.
  redis.call('ZADD', callsKey, now, now .. ':' .. count)
  redis.call('PEXPIRE', callsKey, windowMs)
  return nil
end

local function hashToTable(flat)
  local t = {}
  for i = 1, #flat, 2 do t[flat[i]] = flat[i + 1] end
  return t
end

-- The holder of a reservation marker ("<until>:<holder>") while it lasts; nil once lapsed.
-- HGET/HMGET answer false for a missing field.
local function reservedBy(marker, now)
  if not marker then return nil end
  local colon = string.find(marker, ':', 1, true)
  if not colon or tonumber(string.sub(marker, 1, colon - 1)) <= now then return nil end
  return string.sub(marker, colon + 1)
end

-- Seats of one holder in a holds table.
local function seatsOf(holds, holder)
  local seats = {}
  for seat, h in pairs(holds) do
    if h == holder then seats[#seats + 1] = seat end
  end
  return seats
end
`;

/**
 * KEYS: calls. ARGV: now, ratePerMinute, windowMs.
 * Returns {1} when the call is admitted (and counted), {0, waitMs} when over the rate. A
 * sliding log rather than a counter per minute: "at most N in any 60 s" holds exactly,
 * at no more than N entries per holder.
 */
export const ADMIT_LUA = `${PRELUDE}
local wait = admitCall(KEYS[1], tonumber(ARGV[1]), tonumber(ARGV[2]), tonumber(ARGV[3]))
if wait then return {0, wait} end
return {1}
`;

/**
 * KEYS: holds, windows, version, expiries, cooldowns, holderShowtimes, reserved, sold, facts,
 * calls.
 * ARGV: showtimeId, holder, now, ttlMs, maxSeats, channel, member, keepMs, cooldownMs,
 * maxShowtimes, checkRecord (1: refuse sold seats, once the record is loaded), admitLimit
 * (0: the call was admitted before; else ratePerMinute), rateWindowMs, seatId...
 * Returns {'OK', expiresAt, version, heldSeatId...} | {'SEAT_UNAVAILABLE', seatId...} |
 * {'HOLD_LIMIT_EXCEEDED'} | {'SHOWTIME_LIMIT_EXCEEDED'} | {'COOLING_DOWN', waitMs} |
 * {'RATE_LIMITED', waitMs} | {'SHOWTIME_CLOSED'} | {'LOAD_RECORD', epoch}.
 * The whole hold path in one round trip: closed showtime, record, rate, then the hold. The
 * first two answers count nothing; 'LOAD_RECORD' asks the caller to read the reservation
 * record, hand it to LOAD_RECORD_LUA with the epoch, and call again.
 */
export const HOLD_LUA = `${PRELUDE}
local holdsKey, windowsKey, versionKey, expiriesKey = KEYS[1], KEYS[2], KEYS[3], KEYS[4]
local cooldownsKey, showtimesKey, reservedKey = KEYS[5], KEYS[6], KEYS[7]
local soldKey, factsKey, callsKey = KEYS[8], KEYS[9], KEYS[10]
local showtimeId, holder = ARGV[1], ARGV[2]
local now, ttlMs, maxSeats = tonumber(ARGV[3]), tonumber(ARGV[4]), tonumber(ARGV[5])
local channel, member, keepTtl = ARGV[6], ARGV[7], tonumber(ARGV[8])
local cooldownMs, maxShowtimes = tonumber(ARGV[9]), tonumber(ARGV[10])
local checkRecord, admitLimit, rateWindowMs = ARGV[11] == '1', tonumber(ARGV[12]), tonumber(ARGV[13])

local requested, wanted = {}, {}
for i = 14, #ARGV do
  requested[#requested + 1] = ARGV[i]
  wanted[ARGV[i]] = true
end

if redis.call('HGET', factsKey, 'closed') then return {'SHOWTIME_CLOSED'} end
if checkRecord and not (redis.call('HEXISTS', reservedKey, '') == 1 and
    redis.call('HEXISTS', soldKey, '') == 1) then
  -- From now on every published change counts, so that a load can tell it read too early.
  redis.call('HSETNX', factsKey, 'epoch', 0)
  redis.call('PEXPIRE', factsKey, keepTtl)
  return {'LOAD_RECORD', redis.call('HGET', factsKey, 'epoch')}
end
if admitLimit > 0 then
  local wait = admitCall(callsKey, now, admitLimit, rateWindowMs)
  if wait then return {'RATE_LIMITED', wait} end
end

local holds = hashToTable(redis.call('HGETALL', holdsKey))
local windows = hashToTable(redis.call('HGETALL', windowsKey))
local function live(h)
  local ends = tonumber(windows[h])
  return ends ~= nil and ends > now
end

local holderLive = live(holder)
-- A new window only once the cooldown since the holder last held seats here has passed.
if not holderLive then
  local allowed = tonumber(redis.call('HGET', cooldownsKey, holder))
  if allowed ~= nil and allowed > now then return {'COOLING_DOWN', allowed - now} end
end

local mine, total = {}, 0
if holderLive then
  for _, seat in ipairs(seatsOf(holds, holder)) do
    mine[seat] = true
    total = total + 1
  end
end

-- Holding seats here for the first time (in this window) takes one more showtime.
if total == 0 then
  redis.call('ZREMRANGEBYSCORE', showtimesKey, '-inf', now)
  if redis.call('ZSCORE', showtimesKey, showtimeId) == false and
      redis.call('ZCARD', showtimesKey) >= maxShowtimes then
    return {'SHOWTIME_LIMIT_EXCEEDED'}
  end
end

-- Seats of holders whose window has passed are free; only live holders block. A live
-- reservation blocks everyone, its own holder included (the seats are its booking's now),
-- and so does a sale.
local markers = redis.call('HMGET', reservedKey, unpack(requested))
local sold = {}
if checkRecord then sold = redis.call('HMGET', soldKey, unpack(requested)) end
local conflicts = {'SEAT_UNAVAILABLE'}
local lapsed = {}
for i, seat in ipairs(requested) do
  local h = holds[seat]
  if sold[i] or reservedBy(markers[i], now) or (h and h ~= holder and live(h)) then
    conflicts[#conflicts + 1] = seat
  elseif markers[i] then
    lapsed[#lapsed + 1] = seat
  end
end
if #conflicts > 1 then return conflicts end

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
  for _, seat in ipairs(seatsOf(holds, holder)) do
    if not wanted[seat] then stale[#stale + 1] = seat end
  end
  table.sort(stale)
  for _, seat in ipairs(stale) do
    redis.call('HDEL', holdsKey, seat)
    changes[#changes + 1] = jsonSeat(seat, 'AVAILABLE', nil)
  end
end
for _, seat in ipairs(lapsed) do redis.call('HDEL', reservedKey, seat) end
for _, seat in ipairs(requested) do
  if not mine[seat] then
    redis.call('HSET', holdsKey, seat, holder)
    mine[seat] = true
    changes[#changes + 1] = jsonSeat(seat, 'HELD', holder)
  end
end

-- Holding seats again (also after releasing them all) moves the cooldown back to the
-- window's end: letting a window run out always costs the full cooldown.
redis.call('HSET', cooldownsKey, holder, expiresAt + cooldownMs)
redis.call('ZADD', showtimesKey, expiresAt, showtimeId)
local latest = redis.call('ZRANGE', showtimesKey, -1, -1, 'WITHSCORES')
redis.call('PEXPIRE', showtimesKey, math.max(1, tonumber(latest[2]) - now))

local version = commit(versionKey, channel, showtimeId, changes)
keep({holdsKey, windowsKey, versionKey, cooldownsKey}, keepTtl)
local result = {'OK', expiresAt, version}
for seat in pairs(mine) do result[#result + 1] = seat end
return result
`;

/**
 * KEYS: holds, windows, version, cooldowns, holderShowtimes, calls.
 * ARGV: showtimeId, holder, now, channel, keepMs, cooldownMs, admitLimit (0: admitted
 * before; else ratePerMinute), rateWindowMs, seatId...
 * Returns {version, releasedSeatId...} | {'RATE_LIMITED', waitMs}.
 */
export const RELEASE_LUA = `${PRELUDE}
local holdsKey, windowsKey, versionKey = KEYS[1], KEYS[2], KEYS[3]
local cooldownsKey, showtimesKey, callsKey = KEYS[4], KEYS[5], KEYS[6]
local showtimeId, holder, now, channel = ARGV[1], ARGV[2], tonumber(ARGV[3]), ARGV[4]
local keepTtl, cooldownMs = tonumber(ARGV[5]), tonumber(ARGV[6])
local admitLimit, rateWindowMs = tonumber(ARGV[7]), tonumber(ARGV[8])
if admitLimit > 0 then
  local wait = admitCall(callsKey, now, admitLimit, rateWindowMs)
  if wait then return {'RATE_LIMITED', wait} end
end
local released, changes = {}, {}
-- An expired holder holds nothing; its leftovers are the sweeper's to free and publish.
local ends = tonumber(redis.call('HGET', windowsKey, holder))
if ends ~= nil and ends > now then
  for i = 9, #ARGV do
    local seat = ARGV[i]
    if redis.call('HGET', holdsKey, seat) == holder then
      redis.call('HDEL', holdsKey, seat)
      released[#released + 1] = seat
      changes[#changes + 1] = jsonSeat(seat, 'AVAILABLE', nil)
    end
  end
  -- The last seat given back: the cooldown runs from now, and the showtime no longer
  -- counts against the holder's cap. The window itself keeps running.
  if #released > 0 and #seatsOf(hashToTable(redis.call('HGETALL', holdsKey)), holder) == 0 then
    redis.call('HSET', cooldownsKey, holder, now + cooldownMs)
    redis.call('ZREM', showtimesKey, showtimeId)
  end
end
local result = {commit(versionKey, channel, showtimeId, changes)}
if #changes > 0 then keep({holdsKey, windowsKey, versionKey, cooldownsKey}, keepTtl) end
for _, seat in ipairs(released) do result[#result + 1] = seat end
return result
`;

/**
 * KEYS: holds, windows, version, reserved. ARGV: now.
 * Returns {version, seatId, holder, seatId, holder, ...}, expired windows and lapsed
 * reservations left out; a reserved seat is listed under its holder like a held one. A script
 * rather than several reads, so the holds and the version belong to the same instant.
 */
export const SNAPSHOT_LUA = `${PRELUDE}
local holdsKey, windowsKey, versionKey, reservedKey = KEYS[1], KEYS[2], KEYS[3], KEYS[4]
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
flat = redis.call('HGETALL', reservedKey)
for i = 1, #flat, 2 do
  local h = reservedBy(flat[i + 1], now)
  if h then
    result[#result + 1] = flat[i]
    result[#result + 1] = h
  end
end
return result
`;

/**
 * KEYS: holds, windows, version, cooldowns, holderShowtimes, reserved.
 * ARGV: showtimeId, holder, now, until, channel, keepMs, cooldownMs, seatId...
 * Returns {'OK', version} | {'SEATS_NOT_HELD', seatId...}.
 * Checks and moves in one step: between a hold and its reservation there is no instant in
 * which the seats are free, so no other holder can take them.
 */
export const RESERVE_LUA = `${PRELUDE}
local holdsKey, windowsKey, versionKey = KEYS[1], KEYS[2], KEYS[3]
local cooldownsKey, showtimesKey, reservedKey = KEYS[4], KEYS[5], KEYS[6]
local showtimeId, holder, now, untilMs = ARGV[1], ARGV[2], tonumber(ARGV[3]), ARGV[4]
local channel, keepTtl, cooldownMs = ARGV[5], tonumber(ARGV[6]), tonumber(ARGV[7])

local ends = tonumber(redis.call('HGET', windowsKey, holder))
local holderLive = ends ~= nil and ends > now
local missing, todo = {'SEATS_NOT_HELD'}, {}
for i = 8, #ARGV do
  local seat = ARGV[i]
  -- Already this holder's reservation: a retry, nothing to do for this seat.
  if reservedBy(redis.call('HGET', reservedKey, seat), now) ~= holder then
    if holderLive and redis.call('HGET', holdsKey, seat) == holder then
      todo[#todo + 1] = seat
    else
      missing[#missing + 1] = seat
    end
  end
end
if #missing > 1 then return missing end

local changes = {}
for _, seat in ipairs(todo) do
  redis.call('HDEL', holdsKey, seat)
  redis.call('HSET', reservedKey, seat, untilMs .. ':' .. holder)
  changes[#changes + 1] = jsonSeat(seat, 'HELD', holder)
end
-- Like a release of the last seat: the showtime stops counting against the holder's cap and
-- the cooldown runs from now; the window keeps running for any further seats.
if #todo > 0 and #seatsOf(hashToTable(redis.call('HGETALL', holdsKey)), holder) == 0 then
  redis.call('HSET', cooldownsKey, holder, now + cooldownMs)
  redis.call('ZREM', showtimesKey, showtimeId)
end
local version = commit(versionKey, channel, showtimeId, changes)
if #changes > 0 then keep({holdsKey, windowsKey, versionKey, cooldownsKey, reservedKey}, keepTtl) end
return {'OK', version}
`;

/**
 * KEYS: holds, version, reserved.
 * ARGV: showtimeId, holder, now, until, channel, keepMs, seatId...
 * Returns the version.
 * A booking takes its paid seats back: nothing is checked against holds (the caller's record
 * already decided), every seat not yet this holder's reservation becomes one. Its hold entry
 * goes too, live or lapsed, or SWEEP_LUA would announce the seat AVAILABLE when that
 * window ends. The holder's own live reservation only moves its end later.
 */
export const RETAKE_LUA = `${PRELUDE}
local holdsKey, versionKey, reservedKey = KEYS[1], KEYS[2], KEYS[3]
local showtimeId, holder, now, untilMs = ARGV[1], ARGV[2], tonumber(ARGV[3]), ARGV[4]
local channel, keepTtl = ARGV[5], tonumber(ARGV[6])
local changes = {}
for i = 7, #ARGV do
  local seat = ARGV[i]
  local marker = redis.call('HGET', reservedKey, seat)
  if reservedBy(marker, now) == holder then
    local ends = tonumber(string.sub(marker, 1, string.find(marker, ':', 1, true) - 1))
    if ends < tonumber(untilMs) then redis.call('HSET', reservedKey, seat, untilMs .. ':' .. holder) end
  else
    redis.call('HDEL', holdsKey, seat)
    redis.call('HSET', reservedKey, seat, untilMs .. ':' .. holder)
    changes[#changes + 1] = jsonSeat(seat, 'HELD', holder)
  end
end
local version = commit(versionKey, channel, showtimeId, changes)
keep({holdsKey, versionKey, reservedKey}, keepTtl)
return version
`;

/**
 * KEYS: holds, windows, version, expiries, holderShowtimes.
 * ARGV: member, showtimeId, holder, now, channel, fallbackKeepMs.
 * Returns 1 when this call released the window, 0 when there was nothing to do (another
 * sweeper got there first, or the holder started a new window since it was listed).
 */
export const SWEEP_LUA = `${PRELUDE}
local holdsKey, windowsKey, versionKey, expiriesKey = KEYS[1], KEYS[2], KEYS[3], KEYS[4]
local showtimesKey = KEYS[5]
local member, showtimeId, holder = ARGV[1], ARGV[2], ARGV[3]
local now, channel, fallbackKeep = tonumber(ARGV[4]), ARGV[5], tonumber(ARGV[6])

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
-- The cooldown entry stays: it is what keeps the holder from starting again at once.
redis.call('ZREM', showtimesKey, showtimeId)
local seats = seatsOf(hashToTable(redis.call('HGETALL', holdsKey)), holder)
table.sort(seats)
local changes = {}
for _, seat in ipairs(seats) do
  redis.call('HDEL', holdsKey, seat)
  changes[#changes + 1] = jsonSeat(seat, 'AVAILABLE', nil)
end
commit(versionKey, channel, showtimeId, changes)
-- The counter existed with its time to live unless it had expired meanwhile: never leave
-- one behind without any.
if redis.call('PTTL', versionKey) == -1 then redis.call('PEXPIRE', versionKey, fallbackKeep) end
return 1
`;

/**
 * KEYS: holds, version, reserved, sold, facts.
 * ARGV: showtimeId, channel, keepMs, seatId, status, seatId, status, ...
 * Returns the new version. BOOKED seats become sold, the others not; a load of the
 * reservation record under way (the facts hash exists) learns that it read too early.
 */
export const PUBLISH_CHANGE_LUA = `${PRELUDE}
local holdsKey, versionKey, reservedKey, soldKey, factsKey = KEYS[1], KEYS[2], KEYS[3], KEYS[4], KEYS[5]
local showtimeId, channel, keepTtl = ARGV[1], ARGV[2], tonumber(ARGV[3])
local changes = {}
for i = 4, #ARGV, 2 do
  redis.call('HDEL', holdsKey, ARGV[i])
  redis.call('HDEL', reservedKey, ARGV[i])
  if ARGV[i + 1] == 'BOOKED' then
    redis.call('HSET', soldKey, ARGV[i], '1')
  else
    redis.call('HDEL', soldKey, ARGV[i])
  end
  changes[#changes + 1] = jsonSeat(ARGV[i], ARGV[i + 1], nil)
end
if redis.call('EXISTS', factsKey) == 1 then redis.call('HINCRBY', factsKey, 'epoch', 1) end
local version = commit(versionKey, channel, showtimeId, changes)
keep({holdsKey, versionKey, soldKey, factsKey}, keepTtl)
return version
`;

/**
 * KEYS: sold, facts, reserved.
 * ARGV: epoch, now, keepMs, soldCount, soldSeatId..., then seatId, until, holder per PENDING
 * reservation.
 * Returns 1 when the record is loaded (by this call or an earlier one), 0 when a change was
 * published since the caller was given `epoch`: its record may predate that change, so it
 * must read it again. Markers already there (a reservation made since) are kept.
 */
export const LOAD_RECORD_LUA = `${PRELUDE}
local soldKey, factsKey, reservedKey = KEYS[1], KEYS[2], KEYS[3]
local epoch, now, keepTtl, soldCount = ARGV[1], tonumber(ARGV[2]), tonumber(ARGV[3]), tonumber(ARGV[4])
if redis.call('HEXISTS', reservedKey, '') == 1 and redis.call('HEXISTS', soldKey, '') == 1 then
  return 1
end
if redis.call('HGET', factsKey, 'epoch') ~= epoch then return 0 end
for i = 5, 4 + soldCount do redis.call('HSET', soldKey, ARGV[i], '1') end
for i = 5 + soldCount, #ARGV, 3 do
  local untilMs = tonumber(ARGV[i + 1])
  if untilMs > now then redis.call('HSETNX', reservedKey, ARGV[i], untilMs .. ':' .. ARGV[i + 2]) end
end
redis.call('HSET', soldKey, '', '1')
redis.call('HSET', reservedKey, '', '1')
keep({soldKey, factsKey, reservedKey}, keepTtl)
return 1
`;

/**
 * KEYS: facts. ARGV: keepMs.
 * The showtime was cancelled: HOLD_LUA refuses from now on.
 */
export const CLOSE_SHOWTIME_LUA = `
redis.call('HSET', KEYS[1], 'closed', '1')
redis.call('PEXPIRE', KEYS[1], tonumber(ARGV[1]))
return 1
`;

/**
 * The Lua scripts of `RedisSeatHoldStore`. Each one reads, decides, writes, INCRs the
 * showtime's version and PUBLISHes the event in one atomic step, which is what gives the
 * store its guarantees: two holds can never interleave (invariant 2), the version order is
 * the publish order, and a change is published exactly once, never lost between a write and
 * a separate PUBLISH.
 *
 * Two ways to run them, chosen by the store (`RedisSeatHoldStore`, option `splitSlots`):
 * - on one Redis, a hold or release is one script over the showtime's keys, the holder's
 *   keys and the expiry shard together (one round trip, everything atomic, as ever);
 * - on a Redis Cluster no script may touch two slots, so the same scripts run with the
 *   showtime's keys alone (`split` = '1') and the holder-wide rules go through the holder
 *   scripts below (HOLDER_ENTER_LUA before the showtime's script, HOLDER_PLACE_LUA after),
 *   and the expiry shard is updated by INDEX_LUA / REINDEX_LUA (see the store).
 *
 * Keys of a showtime share the hash tag `{showtimeId}` (one cluster slot per showtime):
 *   holds     HASH   seatId -> holder tag (may still name holders whose window has passed)
 *   windows   HASH   holder tag -> window end, ms
 *   expiries  ZSET   holder tag -> window end, ms: the showtime's own index of its windows,
 *                    so that one script can find and release every due window of it
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
 *   places    HASH   holder tag -> counter of the showtime's decisions about the holder's
 *                    place among its showtimes (split mode only: orders them, see below)
 * The record counts as loaded while both `reserved` and `sold` hold the field '' (no seat id
 * is empty): Redis losing either key (or everything) makes the next hold load it again, so
 * what PostgreSQL records is never forgotten for long.
 *   version   STRING the showtime's event counter
 * Every script that writes them sets their time to live (PEXPIRE) to a day after the
 * showtime ends (`keepMs`, computed by the caller), so nothing of a past showtime stays.
 * Keys of a holder (its tag, as the hash tag `{h:<tag>}`: one slot per holder), across
 * showtimes:
 *   showtimes ZSET   showtimeId -> window end, ms: the showtimes where it holds seats
 *   calls     ZSET   its hold/release calls of the last minute, score = time, ms
 *   claims    ZSET   (split mode) `showtimeId|callId` -> lease end, ms: holds under way
 *   placeSeqs HASH   (split mode) showtimeId -> the last `places` counter applied
 * and the sweeper's index, sharded so that no node carries it all:
 *   expiry shard k (of EXPIRY_SHARDS, `{seat-expiry:k}`) ZSET showtimeId -> a time at or
 *                    before the showtime's earliest window end, ms
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

-- The showtime's earliest window end, or nil when it has none.
local function nextExpiry(expiriesKey)
  local first = redis.call('ZRANGE', expiriesKey, 0, 0, 'WITHSCORES')
  if #first == 0 then return nil end
  return tonumber(first[2])
end

-- Lowers a showtime's entry in its expiry shard to \`at\` (ZADD LT, written out so that
-- Redis before 6.2 runs it too).
local function indexAt(shardKey, showtimeId, at)
  local current = tonumber(redis.call('ZSCORE', shardKey, showtimeId))
  if current == nil or current > at then redis.call('ZADD', shardKey, at, showtimeId) end
end

-- Split mode: the holder's place in the showtime as the showtime sees it now (its window's
-- end while it holds seats here in a live window, else 0), with the next number of the
-- showtime's decisions about it; HOLDER_PLACE_LUA applies only the latest.
-- A caller that knows the place already (it read the holder's window and seats) passes it as
-- \`known\`, sparing the scan of the showtime's holds.
local function placeDecision(placesKey, holdsKey, windowsKey, holder, now, keepTtl, known)
  local place = known or 0
  local ends = known == nil and tonumber(redis.call('HGET', windowsKey, holder)) or nil
  if ends ~= nil and ends > now then
    local flat = redis.call('HGETALL', holdsKey)
    for i = 2, #flat, 2 do
      if flat[i] == holder then
        place = ends
        break
      end
    end
  end
  local seq = redis.call('HINCRBY', placesKey, holder, 1)
  redis.call('PEXPIRE', placesKey, keepTtl)
  return place, seq
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
 * KEYS: holds, windows, version, expiries, cooldowns, reserved, sold, facts, places, then on
 * one Redis (split = '0') also holderShowtimes, calls, expiryShard.
 * ARGV: showtimeId, holder, now, ttlMs, maxSeats, channel, split ('1': cluster, showtime
 * keys only), keepMs, cooldownMs, maxShowtimes, checkRecord (1: refuse sold seats, once the
 * record is loaded), admitLimit (0: the call was admitted before; else ratePerMinute),
 * rateWindowMs, seatId...
 * Returns {'OK', expiresAt, version, heldSeatId...} | {'SEAT_UNAVAILABLE', seatId...} |
 * {'HOLD_LIMIT_EXCEEDED'} | {'SHOWTIME_LIMIT_EXCEEDED'} | {'COOLING_DOWN', waitMs} |
 * {'RATE_LIMITED', waitMs} | {'SHOWTIME_CLOSED'} | {'LOAD_RECORD', epoch}; in split mode
 * every answer is preceded by the holder's place decision (place, seq) and the time the
 * expiry shard must index the showtime at (0: unchanged), and the holder-wide rules
 * (rate, showtimes per holder) are HOLDER_ENTER_LUA's.
 * The whole hold path in one round trip: closed showtime, record, rate, then the hold. The
 * first two answers count nothing; 'LOAD_RECORD' asks the caller to read the reservation
 * record, hand it to LOAD_RECORD_LUA with the epoch, and call again.
 */
export const HOLD_LUA = `${PRELUDE}
local holdsKey, windowsKey, versionKey, expiriesKey = KEYS[1], KEYS[2], KEYS[3], KEYS[4]
local cooldownsKey, reservedKey, soldKey, factsKey = KEYS[5], KEYS[6], KEYS[7], KEYS[8]
local placesKey, showtimesKey, callsKey, shardKey = KEYS[9], KEYS[10], KEYS[11], KEYS[12]
local showtimeId, holder = ARGV[1], ARGV[2]
local now, ttlMs, maxSeats = tonumber(ARGV[3]), tonumber(ARGV[4]), tonumber(ARGV[5])
local channel, split, keepTtl = ARGV[6], ARGV[7] == '1', tonumber(ARGV[8])
local cooldownMs, maxShowtimes = tonumber(ARGV[9]), tonumber(ARGV[10])
local checkRecord, admitLimit, rateWindowMs = ARGV[11] == '1', tonumber(ARGV[12]), tonumber(ARGV[13])

local requested, wanted = {}, {}
for i = 14, #ARGV do
  requested[#requested + 1] = ARGV[i]
  wanted[ARGV[i]] = true
end

-- Split mode: every answer says where the holder stands in the showtime now, so that the
-- caller can settle the place HOLDER_ENTER_LUA took for it (keep it, or give it back).
local function answer(reply, reindex, known)
  if not split then return reply end
  local place, seq = placeDecision(placesKey, holdsKey, windowsKey, holder, now, keepTtl, known)
  local out = {place, seq, reindex or 0}
  for _, v in ipairs(reply) do out[#out + 1] = v end
  return out
end

if redis.call('HGET', factsKey, 'closed') then return answer({'SHOWTIME_CLOSED'}) end
if checkRecord and not (redis.call('HEXISTS', reservedKey, '') == 1 and
    redis.call('HEXISTS', soldKey, '') == 1) then
  -- From now on every published change counts, so that a load can tell it read too early.
  redis.call('HSETNX', factsKey, 'epoch', 0)
  redis.call('PEXPIRE', factsKey, keepTtl)
  return answer({'LOAD_RECORD', redis.call('HGET', factsKey, 'epoch')})
end
if not split and admitLimit > 0 then
  local wait = admitCall(callsKey, now, admitLimit, rateWindowMs)
  if wait then return {'RATE_LIMITED', wait} end
end

-- Reads what the hold is about only: the seats asked for, their holders' windows and the
-- holder's own seats. A holder without a window here (live or passed) holds no seat here (a
-- window leaves only with its seats, in SWEEP_LUA), so a first hold never reads the
-- showtime's holds whole: in a rush on one hall that would be every seat held so far, for
-- every hold, one after another on the one Redis. Unless the windows are gone altogether (a
-- key expired or evicted apart from the holds): then the holds are read, as ever, so that the
-- holder's leftovers are freed rather than taken back.
local windowEnds = {}
local function live(h)
  local ends = windowEnds[h]
  if ends == nil then
    ends = tonumber(redis.call('HGET', windowsKey, h)) or false
    windowEnds[h] = ends
  end
  return ends ~= false and ends > now
end
local holderLive = live(holder)
local own = {}
if windowEnds[holder] ~= false or redis.call('EXISTS', windowsKey) == 0 then
  local flat = redis.call('HGETALL', holdsKey)
  for i = 1, #flat, 2 do
    if flat[i + 1] == holder then own[#own + 1] = flat[i] end
  end
end
local current = redis.call('HMGET', holdsKey, unpack(requested))
-- A new window only once the cooldown since the holder last held seats here has passed.
-- The holder's place as it stands, for the refusals below (nothing of it changes).
local standing = 0
if holderLive and #own > 0 then standing = windowEnds[holder] end
if not holderLive then
  local allowed = tonumber(redis.call('HGET', cooldownsKey, holder))
  if allowed ~= nil and allowed > now then
    return answer({'COOLING_DOWN', allowed - now}, nil, standing)
  end
end

local mine, total = {}, 0
if holderLive then
  for _, seat in ipairs(own) do
    mine[seat] = true
    total = total + 1
  end
end

-- Holding seats here for the first time (in this window) takes one more showtime.
if total == 0 and not split then
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
  local h = current[i]
  if sold[i] or reservedBy(markers[i], now) or (h and h ~= holder and live(h)) then
    conflicts[#conflicts + 1] = seat
  elseif markers[i] then
    lapsed[#lapsed + 1] = seat
  end
end
if #conflicts > 1 then return answer(conflicts, nil, standing) end

for _, seat in ipairs(requested) do
  if not mine[seat] then total = total + 1 end
end
if total > maxSeats then return answer({'HOLD_LIMIT_EXCEEDED'}, nil, standing) end

local changes = {}
local expiresAt
local reindex = 0
if holderLive then
  expiresAt = windowEnds[holder]
else
  -- A new window; leftovers of the holder's expired one not asked for again are freed now.
  expiresAt = now + ttlMs
  local earliest = nextExpiry(expiriesKey)
  redis.call('HSET', windowsKey, holder, expiresAt)
  redis.call('ZADD', expiriesKey, expiresAt, holder)
  -- The expiry shard must list the showtime no later than its earliest window. Only a
  -- window that becomes the earliest needs it (others are covered by the entry already
  -- there), which keeps the shard out of most holds' way.
  if earliest == nil or expiresAt < earliest then
    if split then reindex = expiresAt else indexAt(shardKey, showtimeId, expiresAt) end
  end
  local stale = {}
  for _, seat in ipairs(own) do
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
if not split then
  redis.call('ZADD', showtimesKey, expiresAt, showtimeId)
  local latest = redis.call('ZRANGE', showtimesKey, -1, -1, 'WITHSCORES')
  redis.call('PEXPIRE', showtimesKey, math.max(1, tonumber(latest[2]) - now))
end

local version = commit(versionKey, channel, showtimeId, changes)
keep({holdsKey, windowsKey, versionKey, cooldownsKey, expiriesKey}, keepTtl)
local result = {'OK', expiresAt, version}
for seat in pairs(mine) do result[#result + 1] = seat end
-- Held: the holder holds seats here in its live window.
return answer(result, reindex, expiresAt)
`;

/**
 * KEYS: holds, windows, version, cooldowns, places, then on one Redis (split = '0') also
 * holderShowtimes, calls.
 * ARGV: showtimeId, holder, now, channel, keepMs, cooldownMs, admitLimit (0: admitted
 * before, always in split mode; else ratePerMinute), rateWindowMs, split, seatId...
 * Returns {version, releasedSeatId...} | {'RATE_LIMITED', waitMs}; in split mode preceded by
 * the holder's place decision (place, seq) when its last seat here went (else -1, 0).
 */
export const RELEASE_LUA = `${PRELUDE}
local holdsKey, windowsKey, versionKey = KEYS[1], KEYS[2], KEYS[3]
local cooldownsKey, placesKey, showtimesKey, callsKey = KEYS[4], KEYS[5], KEYS[6], KEYS[7]
local showtimeId, holder, now, channel = ARGV[1], ARGV[2], tonumber(ARGV[3]), ARGV[4]
local keepTtl, cooldownMs = tonumber(ARGV[5]), tonumber(ARGV[6])
local admitLimit, rateWindowMs, split = tonumber(ARGV[7]), tonumber(ARGV[8]), ARGV[9] == '1'
if admitLimit > 0 then
  local wait = admitCall(callsKey, now, admitLimit, rateWindowMs)
  if wait then return {'RATE_LIMITED', wait} end
end
local released, changes = {}, {}
local place, seq = -1, 0
-- An expired holder holds nothing; its leftovers are the sweeper's to free and publish.
local ends = tonumber(redis.call('HGET', windowsKey, holder))
if ends ~= nil and ends > now then
  for i = 10, #ARGV do
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
    if split then
      place, seq = placeDecision(placesKey, holdsKey, windowsKey, holder, now, keepTtl)
    else
      redis.call('ZREM', showtimesKey, showtimeId)
    end
  end
end
local result = {commit(versionKey, channel, showtimeId, changes)}
if #changes > 0 then keep({holdsKey, windowsKey, versionKey, cooldownsKey}, keepTtl) end
for _, seat in ipairs(released) do result[#result + 1] = seat end
if split then
  table.insert(result, 1, seq)
  table.insert(result, 1, place)
end
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
 * KEYS: holds, windows, version, cooldowns, reserved, places, then on one Redis (split =
 * '0') also holderShowtimes.
 * ARGV: showtimeId, holder, now, until, channel, keepMs, cooldownMs, split, seatId...
 * Returns {'OK', version, place, seq} | {'SEATS_NOT_HELD', seatId...}; place and seq (split
 * mode) are the holder's place decision when its last held seat here was reserved (else -1,
 * 0).
 * Checks and moves in one step: between a hold and its reservation there is no instant in
 * which the seats are free, so no other holder can take them.
 */
export const RESERVE_LUA = `${PRELUDE}
local holdsKey, windowsKey, versionKey = KEYS[1], KEYS[2], KEYS[3]
local cooldownsKey, reservedKey, placesKey, showtimesKey = KEYS[4], KEYS[5], KEYS[6], KEYS[7]
local showtimeId, holder, now, untilMs = ARGV[1], ARGV[2], tonumber(ARGV[3]), ARGV[4]
local channel, keepTtl, cooldownMs = ARGV[5], tonumber(ARGV[6]), tonumber(ARGV[7])
local split = ARGV[8] == '1'

local ends = tonumber(redis.call('HGET', windowsKey, holder))
local holderLive = ends ~= nil and ends > now
local missing, todo = {'SEATS_NOT_HELD'}, {}
for i = 9, #ARGV do
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
local place, seq = -1, 0
if #todo > 0 and #seatsOf(hashToTable(redis.call('HGETALL', holdsKey)), holder) == 0 then
  redis.call('HSET', cooldownsKey, holder, now + cooldownMs)
  if split then
    place, seq = placeDecision(placesKey, holdsKey, windowsKey, holder, now, keepTtl)
  else
    redis.call('ZREM', showtimesKey, showtimeId)
  end
end
local version = commit(versionKey, channel, showtimeId, changes)
if #changes > 0 then keep({holdsKey, windowsKey, versionKey, cooldownsKey, reservedKey}, keepTtl) end
return {'OK', version, place, seq}
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
 * KEYS: holds, windows, version, expiries, expiryShard (touched only when split = '0').
 * ARGV: showtimeId, now, channel, fallbackKeepMs, limit, split.
 * Releases the showtime's windows that have passed (at most `limit` of them), one AVAILABLE
 * event per window that still held seats. Returns {released, next}: how many windows this
 * call released, and the showtime's earliest window end left (-1: none), which the expiry
 * shard must list it at. On one Redis the script updates the shard itself; in split mode
 * the caller does (see the store's `sweep`).
 * Safe to run concurrently: a window leaves the showtime's `expiries` in the step that
 * releases it, so whoever runs second finds nothing due.
 */
export const SWEEP_LUA = `${PRELUDE}
local holdsKey, windowsKey, versionKey, expiriesKey = KEYS[1], KEYS[2], KEYS[3], KEYS[4]
local shardKey = KEYS[5]
local showtimeId, now, channel = ARGV[1], tonumber(ARGV[2]), ARGV[3]
local fallbackKeep, limit, split = tonumber(ARGV[4]), tonumber(ARGV[5]), ARGV[6] == '1'

local due = redis.call('ZRANGEBYSCORE', expiriesKey, '-inf', now, 'LIMIT', 0, limit)
local released = 0
local holds
for _, holder in ipairs(due) do
  local ends = tonumber(redis.call('HGET', windowsKey, holder))
  if ends ~= nil and ends > now then
    -- The window was renewed without its index entry (cannot happen through HOLD_LUA, which
    -- writes both): repair the index instead of freeing live seats.
    redis.call('ZADD', expiriesKey, ends, holder)
  else
    redis.call('ZREM', expiriesKey, holder)
    redis.call('HDEL', windowsKey, holder)
    -- The cooldown entry stays: it is what keeps the holder from starting again at once.
    -- The holder's place among its showtimes ended with the window (its score).
    holds = holds or hashToTable(redis.call('HGETALL', holdsKey))
    local seats = seatsOf(holds, holder)
    table.sort(seats)
    local changes = {}
    for _, seat in ipairs(seats) do
      redis.call('HDEL', holdsKey, seat)
      holds[seat] = nil
      changes[#changes + 1] = jsonSeat(seat, 'AVAILABLE', nil)
    end
    commit(versionKey, channel, showtimeId, changes)
    released = released + 1
  end
end
if released > 0 and redis.call('PTTL', versionKey) == -1 then
  -- The counter existed with its time to live unless it had expired meanwhile: never leave
  -- one behind without any.
  redis.call('PEXPIRE', versionKey, fallbackKeep)
end
local next = nextExpiry(expiriesKey) or -1
if not split then
  if next < 0 then
    redis.call('ZREM', shardKey, showtimeId)
  else
    redis.call('ZADD', shardKey, next, showtimeId)
  end
end
return {released, next}
`;

/**
 * KEYS: every expiry shard, in shard order. ARGV: now.
 * Returns the positions (1-based) of the shards that list a showtime due at `now`.
 * One Redis only (the keys span slots): lets a sweep ask about all the shards in one round
 * trip and walk only the ones with something due, instead of one ZRANGEBYSCORE per shard
 * four times a second while nothing expires. Read-only; an entry that becomes due just after
 * is found by the next sweep, as it would be by a per-shard walk that had passed its shard.
 */
export const DUE_SHARDS_LUA = `
local due = {}
for i = 1, #KEYS do
  if #redis.call('ZRANGEBYSCORE', KEYS[i], '-inf', ARGV[1], 'LIMIT', 0, 1) > 0 then
    due[#due + 1] = i
  end
end
return due
`;

/**
 * KEYS: expiryShard. ARGV: showtimeId, at.
 * Split mode, after a hold made a window the showtime's earliest (HOLD_LUA's reindex): the
 * shard must list the showtime no later than `at`. When it already does, the entry is still
 * moved (1 ms earlier) so that a sweeper that listed it before this hold cannot raise it past
 * the new window (REINDEX_LUA only moves an entry it finds as it listed it).
 */
export const INDEX_LUA = `
local current = tonumber(redis.call('ZSCORE', KEYS[1], ARGV[1]))
local at = tonumber(ARGV[2])
if current == nil or current > at then
  redis.call('ZADD', KEYS[1], at, ARGV[1])
else
  redis.call('ZADD', KEYS[1], current - 1, ARGV[1])
end
return 1
`;

/**
 * KEYS: expiryShard. ARGV: showtimeId, listedScore, next (-1: no window left).
 * Split mode, after SWEEP_LUA: moves the showtime's entry to its next window end (or drops
 * it) only if the entry is still the one the sweeper listed; a hold that touched it since
 * (INDEX_LUA always moves it) may have added a window SWEEP_LUA did not see, so the entry
 * stays due and the next pass sweeps the showtime again.
 */
export const REINDEX_LUA = `
local current = redis.call('ZSCORE', KEYS[1], ARGV[1])
if not current or tonumber(current) ~= tonumber(ARGV[2]) then return 0 end
if tonumber(ARGV[3]) < 0 then
  redis.call('ZREM', KEYS[1], ARGV[1])
else
  redis.call('ZADD', KEYS[1], ARGV[3], ARGV[1])
end
return 1
`;

/**
 * KEYS (one holder's slot): showtimes, calls, claims.
 * ARGV: now, admitLimit (0: admitted before), rateWindowMs, showtimeId, maxShowtimes,
 * placeUntil, claim, leaseUntil.
 * Returns {'OK'} | {'RATE_LIMITED', waitMs} | {'SHOWTIME_LIMIT_EXCEEDED'}.
 * Split mode, the holder's half of a hold, run before HOLD_LUA: counts the call, and takes
 * the showtime's place among the holder's showtimes if it has none there yet (refusing
 * beyond maxShowtimes), so two holds racing in two showtimes cannot both slip under the cap.
 * The place lasts until `placeUntil` (the end a new window would get: never shorter than the
 * window) and the claim marks the hold as under way until HOLDER_PLACE_LUA settles it; a
 * caller that dies in between leaves a place that lapses at `placeUntil` and a claim that
 * lapses at `leaseUntil`, never one that lasts.
 */
export const HOLDER_ENTER_LUA = `${PRELUDE}
local showtimesKey, callsKey, claimsKey = KEYS[1], KEYS[2], KEYS[3]
local now, admitLimit, rateWindowMs = tonumber(ARGV[1]), tonumber(ARGV[2]), tonumber(ARGV[3])
local showtimeId, maxShowtimes, placeUntil = ARGV[4], tonumber(ARGV[5]), tonumber(ARGV[6])
local claim, leaseUntil = ARGV[7], tonumber(ARGV[8])
if admitLimit > 0 then
  local wait = admitCall(callsKey, now, admitLimit, rateWindowMs)
  if wait then return {'RATE_LIMITED', wait} end
end
redis.call('ZREMRANGEBYSCORE', showtimesKey, '-inf', now)
if redis.call('ZSCORE', showtimesKey, showtimeId) == false then
  if redis.call('ZCARD', showtimesKey) >= maxShowtimes then return {'SHOWTIME_LIMIT_EXCEEDED'} end
  redis.call('ZADD', showtimesKey, placeUntil, showtimeId)
end
local latest = redis.call('ZRANGE', showtimesKey, -1, -1, 'WITHSCORES')
redis.call('PEXPIRE', showtimesKey, math.max(1, tonumber(latest[2]) - now))
redis.call('ZREMRANGEBYSCORE', claimsKey, '-inf', now)
redis.call('ZADD', claimsKey, leaseUntil, claim)
local last = redis.call('ZRANGE', claimsKey, -1, -1, 'WITHSCORES')
redis.call('PEXPIRE', claimsKey, math.max(1, tonumber(last[2]) - now))
return {'OK'}
`;

/**
 * KEYS (one holder's slot): showtimes, claims, placeSeqs.
 * ARGV: now, showtimeId, claim ('' : none), place (window end, or 0: no seats there), seq,
 * keepMs.
 * Split mode, after a showtime's script decided the holder's place there (HOLD_LUA,
 * RELEASE_LUA, RESERVE_LUA): applies the decision unless a later one was applied already
 * (decisions reach here in any order; `seq` is the showtime's count of them). A place is
 * given back only while no other hold of the holder in that showtime is under way (its
 * claim): that hold may have taken seats after this decision was made.
 * Returns 1 when the decision was applied.
 */
export const HOLDER_PLACE_LUA = `
local showtimesKey, claimsKey, seqsKey = KEYS[1], KEYS[2], KEYS[3]
local now, showtimeId, claim = tonumber(ARGV[1]), ARGV[2], ARGV[3]
local place, seq, keepTtl = tonumber(ARGV[4]), tonumber(ARGV[5]), tonumber(ARGV[6])
if claim ~= '' then redis.call('ZREM', claimsKey, claim) end
if seq <= tonumber(redis.call('HGET', seqsKey, showtimeId) or '0') then return 0 end
redis.call('HSET', seqsKey, showtimeId, seq)
redis.call('PEXPIRE', seqsKey, keepTtl)
if place > now then
  redis.call('ZADD', showtimesKey, place, showtimeId)
  local latest = redis.call('ZRANGE', showtimesKey, -1, -1, 'WITHSCORES')
  redis.call('PEXPIRE', showtimesKey, math.max(1, tonumber(latest[2]) - now))
  return 1
end
redis.call('ZREMRANGEBYSCORE', claimsKey, '-inf', now)
local prefix = showtimeId .. '|'
for _, other in ipairs(redis.call('ZRANGE', claimsKey, 0, -1)) do
  if string.sub(other, 1, #prefix) == prefix then return 1 end
end
redis.call('ZREM', showtimesKey, showtimeId)
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
 * ARGV: epoch, now, keepMs, closed ('1': the showtime was cancelled), soldCount,
 * soldSeatId..., then seatId, until, holder per PENDING reservation.
 * Returns 1 when the record is loaded (by this call or an earlier one), 0 when a change was
 * published since the caller was given `epoch`: its record may predate that change, so it
 * must read it again. Markers already there (a reservation made since) are kept. A cancelled
 * showtime is closed whatever the epoch (a cancellation is never undone), so that losing the
 * showtime's facts never reopens it to holds.
 */
export const LOAD_RECORD_LUA = `${PRELUDE}
local soldKey, factsKey, reservedKey = KEYS[1], KEYS[2], KEYS[3]
local epoch, now, keepTtl = ARGV[1], tonumber(ARGV[2]), tonumber(ARGV[3])
local closed, soldCount = ARGV[4] == '1', tonumber(ARGV[5])
if closed then
  redis.call('HSET', factsKey, 'closed', '1')
  redis.call('PEXPIRE', factsKey, keepTtl)
end
if redis.call('HEXISTS', reservedKey, '') == 1 and redis.call('HEXISTS', soldKey, '') == 1 then
  return 1
end
if redis.call('HGET', factsKey, 'epoch') ~= epoch then return 0 end
for i = 6, 5 + soldCount do redis.call('HSET', soldKey, ARGV[i], '1') end
for i = 6 + soldCount, #ARGV, 3 do
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

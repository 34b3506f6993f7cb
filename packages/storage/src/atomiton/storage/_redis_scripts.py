"""The Lua scripts of RedisStorage: each runs whole on the server, so each operation is atomic.

Names (``P`` is the client's prefix): a value lives at ``P + key`` (a plain string, so
``GET``/``MGET`` read it); ``P + "<NUL>index"`` is a sorted set of every key (score 0, so
``ZRANGEBYLEX`` lists a prefix in byte order = code-point order); ``P + "<NUL>expires"`` is a
sorted set of the keys with a TTL, scored by their expiry in milliseconds. Keys and prefixes
hold no NUL, so these two names can never be a value's name.

Every script takes ``ARGV[1]``: the caller's time in ms, or ``""`` for the server's clock
(``TIME``). With the server's clock a value also gets a native expiry (``PXAT``) one millisecond
before its score, so ``GET`` and the scripts agree on the exact millisecond a key dies: alive
while ``now < score``.
"""

from __future__ import annotations

_CLOCK = """
local function clock(given)
  if given ~= '' then return tonumber(given), false end
  local t = redis.call('TIME')
  return tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000), true
end
local function live(expires, member, now)
  local e = redis.call('ZSCORE', expires, member)
  return (not e) or tonumber(e) > now
end
"""

# KEYS: index, expires, value. ARGV: now, key, value, ttl_ms or "".
WRITE = (
    _CLOCK
    + """
redis.call('ZADD', KEYS[1], 0, ARGV[2])
if ARGV[4] == '' then
  redis.call('SET', KEYS[3], ARGV[3])
  redis.call('ZREM', KEYS[2], ARGV[2])
  return 1
end
local now, server = clock(ARGV[1])
local exp = now + tonumber(ARGV[4])
if server and exp < 4e15 then
  redis.call('SET', KEYS[3], ARGV[3], 'PXAT', exp - 1)
else
  redis.call('SET', KEYS[3], ARGV[3])
end
redis.call('ZADD', KEYS[2], exp, ARGV[2])
return 1
"""
)

# KEYS: index, expires, values... ARGV: now, ttl_ms or "", prefix length, values...
WRITE_MANY = (
    _CLOCK
    + """
local plen = tonumber(ARGV[3])
local n = #KEYS - 2
local members = {}
for i = 1, n do members[i] = string.sub(KEYS[i + 2], plen + 1) end
local exp, server = nil, false
if ARGV[2] ~= '' then
  local now
  now, server = clock(ARGV[1])
  exp = now + tonumber(ARGV[2])
  server = server and exp < 4e15  -- beyond year 100000 no native expiry: the score decides
end
for start = 1, n, 500 do
  local last = math.min(start + 499, n)
  local pairs_, scored = {}, {}
  for i = start, last do
    if server then
      redis.call('SET', KEYS[i + 2], ARGV[i + 3], 'PXAT', exp - 1)
    else
      pairs_[#pairs_ + 1] = KEYS[i + 2]
      pairs_[#pairs_ + 1] = ARGV[i + 3]
    end
    scored[#scored + 1] = 0
    scored[#scored + 1] = members[i]
  end
  if #pairs_ > 0 then redis.call('MSET', unpack(pairs_)) end
  redis.call('ZADD', KEYS[1], unpack(scored))
  if exp then
    for i = 1, #scored, 2 do scored[i] = exp end
    redis.call('ZADD', KEYS[2], unpack(scored))
  else
    redis.call('ZREM', KEYS[2], unpack(members, start, last))
  end
end
return n
"""
)

# KEYS: expires, value. ARGV: now, key. Returns the value, or nil when absent or expired.
READ = (
    _CLOCK
    + """
local v = redis.call('GET', KEYS[2])
if not v then return false end
local now = clock(ARGV[1])
if live(KEYS[1], ARGV[2], now) then return v end
return false
"""
)

# KEYS: expires, value. ARGV: now, key. Returns {value} or {value, remaining ms}, or nil.
READ_ENTRY = (
    _CLOCK
    + """
local v = redis.call('GET', KEYS[2])
if not v then return false end
local now = clock(ARGV[1])
local e = redis.call('ZSCORE', KEYS[1], ARGV[2])
if not e then return {v} end
e = tonumber(e)
if e <= now then return false end
return {v, tostring(e - now)}
"""
)

# KEYS: expires, value. ARGV: now, key. Returns the value's length, or nil.
SIZE = (
    _CLOCK
    + """
if redis.call('EXISTS', KEYS[2]) == 0 then return false end
local now = clock(ARGV[1])
if live(KEYS[1], ARGV[2], now) then return redis.call('STRLEN', KEYS[2]) end
return false
"""
)

# KEYS: expires, values... ARGV: now, prefix length. Returns {key, value, key, value...} of the
# live ones (used with a caller's clock; with the server's clock MGET answers directly).
READ_MANY = (
    _CLOCK
    + """
local now = clock(ARGV[1])
local plen = tonumber(ARGV[2])
local found = {}
for i = 2, #KEYS do
  local v = redis.call('GET', KEYS[i])
  if v then
    local member = string.sub(KEYS[i], plen + 1)
    if live(KEYS[1], member, now) then
      found[#found + 1] = member
      found[#found + 1] = v
    end
  end
end
return found
"""
)

# KEYS: index, expires, values... ARGV: now, prefix length. Returns how many were live.
DELETE_MANY = (
    _CLOCK
    + """
local now = clock(ARGV[1])
local plen = tonumber(ARGV[2])
local count = 0
for i = 3, #KEYS do
  local member = string.sub(KEYS[i], plen + 1)
  local alive = live(KEYS[2], member, now)
  if redis.call('DEL', KEYS[i]) == 1 and alive then count = count + 1 end
  redis.call('ZREM', KEYS[1], member)
  redis.call('ZREM', KEYS[2], member)
end
return count
"""
)

# KEYS: index, expires. ARGV: now, min, max (ZRANGEBYLEX bounds). Returns the live keys, sorted.
LIST = (
    _CLOCK
    + """
local keys = redis.call('ZRANGEBYLEX', KEYS[1], ARGV[2], ARGV[3])
if #keys == 0 or redis.call('ZCARD', KEYS[2]) == 0 then return keys end
local now = clock(ARGV[1])
local out = {}
for start = 1, #keys, 4000 do
  local last = math.min(start + 3999, #keys)
  local scores = redis.call('ZMSCORE', KEYS[2], unpack(keys, start, last))
  for i = start, last do
    local e = scores[i - start + 1]
    if (not e) or tonumber(e) > now then out[#out + 1] = keys[i] end
  end
end
return out
"""
)

# KEYS: index, expires. ARGV: now. Returns the number of live keys.
COUNT = (
    _CLOCK
    + """
local total = redis.call('ZCARD', KEYS[1])
if redis.call('ZCARD', KEYS[2]) == 0 then return total end
local now = clock(ARGV[1])
return total - redis.call('ZCOUNT', KEYS[2], '-inf', now)
"""
)

# KEYS: index, expires. ARGV: now, prefix. Returns the summed length of the live values.
TOTAL_SIZE = (
    _CLOCK
    + """
local now = clock(ARGV[1])
local keys = redis.call('ZRANGE', KEYS[1], 0, -1)
local check = redis.call('ZCARD', KEYS[2]) > 0
local total = 0
for i = 1, #keys do
  if (not check) or live(KEYS[2], keys[i], now) then
    total = total + redis.call('STRLEN', ARGV[2] .. keys[i])
  end
end
return total
"""
)

# KEYS: index, expires. ARGV: now, prefix. Removes the expired keys; returns how many.
PURGE = (
    _CLOCK
    + """
local now = clock(ARGV[1])
local gone = redis.call('ZRANGEBYSCORE', KEYS[2], '-inf', now)
for start = 1, #gone, 4000 do
  local last = math.min(start + 3999, #gone)
  for i = start, last do redis.call('DEL', ARGV[2] .. gone[i]) end
  redis.call('ZREM', KEYS[1], unpack(gone, start, last))
end
redis.call('ZREMRANGEBYSCORE', KEYS[2], '-inf', now)
return #gone
"""
)

# KEYS: index, expires. ARGV: prefix. Removes every key of this prefix's index, and the index.
CLEAR = """
local keys = redis.call('ZRANGE', KEYS[1], 0, -1)
for start = 1, #keys, 4000 do
  local names = {}
  for i = start, math.min(start + 3999, #keys) do names[#names + 1] = ARGV[1] .. keys[i] end
  redis.call('UNLINK', unpack(names))
end
redis.call('DEL', KEYS[1], KEYS[2])
return #keys
"""

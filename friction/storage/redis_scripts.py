"""The Lua scripts of the Redis store (see ``friction.storage.redis_store`` for the keys).

Kept apart from the adapter because they are a protocol of their own: positional
KEYS/ARGV layouts that the adapter fills and the store contract suite holds to
the Python transitions of ``friction.scoring.features``.
"""

from __future__ import annotations

# KEYS: customer, terminal, merchant, budget, payment record, payment claim.
# ARGV: ts, amount, counterparty, terminal id, day, history horizon, seen horizon,
#       history cap, oldest kept day, budget horizon, customer ttl, bucket ttl, claim ttl.
# Changes nothing and returns {payment record} when the payment was decided already (a
# retry), or 0 when it is claimed (a twin request, maybe on another replica, decides it).
# Otherwise claims it and returns the state before the payment: {customer JSON or '',
# terminal hash, merchant hash, challenges after the budget horizon}, and applies
# ``apply_payment``.
OBSERVE_LUA = """
local stored = redis.call('GET', KEYS[5])
if stored then return {stored} end
if not redis.call('SET', KEYS[6], '1', 'NX', 'EX', ARGV[13]) then return 0 end
local ts, amount, cp, tid, day = ARGV[1], ARGV[2], ARGV[3], ARGV[4], ARGV[5]
local history_horizon, seen_horizon = tonumber(ARGV[6]), tonumber(ARGV[7])
local cap, oldest_day = tonumber(ARGV[8]), tonumber(ARGV[9])

local raw = redis.call('GET', KEYS[1])
local state
if raw then state = cjson.decode(raw) else raw = ''; state = {h = {}, c = {}, t = {}} end
local h = state.h
h[#h + 1] = {ts, amount}
local kept = {}
for _, p in ipairs(h) do
  if tonumber(p[1]) > history_horizon then kept[#kept + 1] = p end
end
local history = {}
for i = math.max(1, #kept - cap + 1), #kept do history[#history + 1] = kept[i] end
state.h = history
state.c[cp] = ts
state.t[tid] = ts
for _, seen in ipairs({state.c, state.t}) do
  for k, v in pairs(seen) do
    if tonumber(v) < seen_horizon then seen[k] = nil end
  end
end
redis.call('SET', KEYS[1], cjson.encode(state), 'EX', ARGV[11])

local function bucket(key)
  local flat = redis.call('HGETALL', key)
  redis.call('HINCRBY', key, day .. ':n', 1)
  local stale = {}
  for i = 1, #flat, 2 do
    local d = tonumber(string.match(flat[i], '^(-?%d+):'))
    if d <= oldest_day then stale[#stale + 1] = flat[i] end
  end
  if #stale > 0 then redis.call('HDEL', key, unpack(stale)) end
  redis.call('EXPIRE', key, ARGV[12])
  return flat
end

local terminal = bucket(KEYS[2])
local merchant = bucket(KEYS[3])
local recent = redis.call('ZCOUNT', KEYS[4], '(' .. ARGV[10], '+inf')
return {raw, terminal, merchant, recent}
"""

# KEYS: outbox, seq, open index, payment, dialogue, budget, preferences, review,
#       then (terminal, merchant) per label, then one key per mark.
# ARGV: 1 payment JSON, 2 dialogue JSON, 3 dialogue id, 4 dialogue open (1/0), 5 challenge ts,
#       6 budget keep, 7-10 ttls (payment, dialogue, budget, bucket), 11 labels L, 12 marks M,
#       13 preferences JSON, 14 review JSON, 15 review version, 16 review sort key,
#       17 review status, 18 review assignee, 19 review ttl, 20 review index prefix,
#       21 review index horizon, 22 preferences ttl, 23 ledger ttl (outbox, its sequence, the
#       open indexes: refreshed on every write, so they lapse only when idle that long),
#       24 the dialogue's customer open index, 25 its phone open index ('' = none),
#       then L x (day, g|f|p), M x (until, ttl), then the events' JSON. A plain fraud (p)
#       counts as a fraud too, as ``features.apply_label`` counts it.
# ('' = nothing to write.) Checks and fallible writes (stream IDs) go first: a failure
# leaves nothing done. A review's index keys derive from its stored status/assignee (read
# here, in the script), which is why the index keys are not all declared in KEYS.
COMMIT_LUA = """
local n_labels, n_marks = tonumber(ARGV[11]), tonumber(ARGV[12])
local label_arg = 26
local review_old = false
if ARGV[14] ~= '' then
  local raw = redis.call('GET', KEYS[8])
  local have = 0
  if raw then
    review_old = cjson.decode(raw)
    have = tonumber(review_old.version) or 1
  end
  if have ~= tonumber(ARGV[15]) - 1 then return redis.error_reply('STALE_REVIEW ' .. have) end
end
local mark_arg = label_arg + 2 * n_labels
for i = mark_arg + 2 * n_marks, #ARGV do
  local seq = redis.call('INCR', KEYS[2])
  redis.call('XADD', KEYS[1], '0-' .. seq, 'e', ARGV[i])
  redis.call('EXPIRE', KEYS[1], ARGV[23])
  redis.call('EXPIRE', KEYS[2], ARGV[23])
end
if ARGV[1] ~= '' then redis.call('SET', KEYS[4], ARGV[1], 'EX', ARGV[7]) end
if ARGV[2] ~= '' then
  redis.call('SET', KEYS[5], ARGV[2], 'EX', ARGV[8])
  local indexes = {}
  for i = 24, 25 do if ARGV[i] ~= '' then indexes[#indexes + 1] = ARGV[i] end end
  if ARGV[4] == '1' then
    redis.call('HSET', KEYS[3], ARGV[3], ARGV[2])
    for _, index in ipairs(indexes) do
      redis.call('SADD', index, ARGV[3])
      redis.call('EXPIRE', index, ARGV[23])
    end
  else
    redis.call('HDEL', KEYS[3], ARGV[3])
    for _, index in ipairs(indexes) do redis.call('SREM', index, ARGV[3]) end
  end
  redis.call('EXPIRE', KEYS[3], ARGV[23])
end
if ARGV[5] ~= '' then
  local id = redis.call('INCR', KEYS[2])
  redis.call('EXPIRE', KEYS[2], ARGV[23])
  redis.call('ZADD', KEYS[6], ARGV[5], ARGV[5] .. ':' .. id)
  redis.call('ZREMRANGEBYRANK', KEYS[6], 0, -tonumber(ARGV[6]) - 1)
  redis.call('EXPIRE', KEYS[6], ARGV[9])
end
if ARGV[13] ~= '' then redis.call('SET', KEYS[7], ARGV[13], 'EX', ARGV[22]) end
for i = 0, n_labels - 1 do
  local day, kind = ARGV[label_arg + 2 * i], ARGV[label_arg + 2 * i + 1]
  for _, key in ipairs({KEYS[9 + 2 * i], KEYS[10 + 2 * i]}) do
    redis.call('HINCRBY', key, day .. ':' .. kind, 1)
    if kind == 'p' then redis.call('HINCRBY', key, day .. ':f', 1) end
    redis.call('EXPIRE', key, ARGV[10])
  end
end
if ARGV[14] ~= '' then
  local function index_keys(status, assignee)
    local found = {ARGV[20] .. status .. ':*', ARGV[20] .. '*:*'}
    if type(assignee) == 'string' and assignee ~= '' then
      found[3] = ARGV[20] .. status .. ':' .. assignee
      found[4] = ARGV[20] .. '*:' .. assignee
    end
    return found
  end
  redis.call('SET', KEYS[8], ARGV[14], 'EX', ARGV[19])
  if review_old then
    for _, key in ipairs(index_keys(review_old.status, review_old.assignee)) do
      redis.call('ZREM', key, ARGV[16])
    end
  end
  for _, key in ipairs(index_keys(ARGV[17], ARGV[18])) do
    redis.call('ZADD', key, 0, ARGV[16])
    redis.call('ZREMRANGEBYLEX', key, '-', '(' .. ARGV[21])
    redis.call('EXPIRE', key, ARGV[19])
  end
end
for i = 0, n_marks - 1 do
  local key = KEYS[9 + 2 * n_labels + i]
  redis.call('SET', key, ARGV[mark_arg + 2 * i], 'EX', ARGV[mark_arg + 2 * i + 1])
end
return 0
"""

# KEYS: outbox, lease. ARGV: this relay's token, lease ms, limit.
# One relay at a time reads the outbox (two would publish every event twice): the holder
# renews the lease with each read; a relay that dies loses it after ``lease ms``.
PENDING_LUA = """
local holder = redis.call('GET', KEYS[2])
if holder and holder ~= ARGV[1] then return {} end
redis.call('SET', KEYS[2], ARGV[1], 'PX', ARGV[2])
return redis.call('XRANGE', KEYS[1], '-', '+', 'COUNT', ARGV[3])
"""

# KEYS: lease. ARGV: this relay's token. Deletes the lease only if this relay holds it.
RELEASE_LUA = """
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0
"""

# KEYS: one sorted set per quota (member "<token>:<i>:<amount>", score = time).
# ARGV: now, token, then per quota (name, amount, limit, window s).
# Trims each window, sums it; refuses with the first quota's name that would pass its
# limit (recording nothing), else records every amount and returns ''.
QUOTAS_LUA = """
local now, token = tonumber(ARGV[1]), ARGV[2]
for i = 1, #KEYS do
  local base = 2 + (i - 1) * 4
  local amount, limit = tonumber(ARGV[base + 2]), tonumber(ARGV[base + 3])
  redis.call('ZREMRANGEBYSCORE', KEYS[i], '-inf', now - tonumber(ARGV[base + 4]))
  local total = 0
  for _, member in ipairs(redis.call('ZRANGE', KEYS[i], 0, -1)) do
    total = total + tonumber(string.match(member, ':([^:]*)$'))
  end
  if total + amount > limit then return ARGV[base + 1] end
end
for i = 1, #KEYS do
  local base = 2 + (i - 1) * 4
  redis.call('ZADD', KEYS[i], now, token .. ':' .. i .. ':' .. ARGV[base + 2])
  redis.call('EXPIRE', KEYS[i], math.ceil(tonumber(ARGV[base + 4])) + 1)
end
return ''
"""

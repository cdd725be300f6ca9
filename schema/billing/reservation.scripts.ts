/**
 * Lua scripts for call reservations. Redis runs each script atomically, which is what makes a
 * burst of calls unable to pass on the same money.
 *
 * Keys: KEYS[1] hash callId -> reserved micro-dollars; KEYS[2] zset callId -> expiry (ms);
 * KEYS[3] the newest ledger seq whose charge has released its reservation.
 */
const PURGE_EXPIRED = `
local now_t = redis.call('TIME')
local now = tonumber(now_t[1]) * 1000 + math.floor(tonumber(now_t[2]) / 1000)
local expired = redis.call('ZRANGEBYSCORE', KEYS[2], '-inf', now)
for _, id in ipairs(expired) do redis.call('HDEL', KEYS[1], id) end
redis.call('ZREMRANGEBYSCORE', KEYS[2], '-inf', now)
local function reserved_total()
  local total = 0
  for _, v in ipairs(redis.call('HVALS', KEYS[1])) do total = total + tonumber(v) end
  return total
end
local function keep_alive(ttl)
  for i = 1, 2 do
    if redis.call('PTTL', KEYS[i]) < ttl * 4 then redis.call('PEXPIRE', KEYS[i], ttl * 4) end
  end
end
`;

/**
 * ARGV: callKey, amount, ttlMs, balance, balanceSeq, required, once.
 * With once=1 an existing reservation for the call is only refreshed (a retried admission);
 * Adds `amount` to the call's reservation when balance minus every live reservation (this
 * call's included) is at least `required`. Returns {status, available before this reservation}:
 * 1 reserved, 0 not enough money, -1 the balance read is older than a released reservation.
 */
export const RESERVE_SCRIPT = `${PURGE_EXPIRED}
local call_id = ARGV[1]
local amount = tonumber(ARGV[2])
local ttl = tonumber(ARGV[3])
local released_seq = tonumber(redis.call('GET', KEYS[3]) or '0')
if released_seq > tonumber(ARGV[5]) then return {-1, 0} end
if ARGV[7] == '1' and redis.call('HEXISTS', KEYS[1], call_id) == 1 then
  redis.call('ZADD', KEYS[2], now + ttl, call_id)
  keep_alive(ttl)
  return {1, tonumber(ARGV[4]) - reserved_total()}
end
local available = tonumber(ARGV[4]) - reserved_total()
if available < tonumber(ARGV[6]) then return {0, available} end
redis.call('HINCRBY', KEYS[1], call_id, amount)
redis.call('ZADD', KEYS[2], now + ttl, call_id)
keep_alive(ttl)
return {1, available}
`;

/** ARGV: callKey, chargeSeq (0 when no charge was written). Drops the call's reservation. */
export const RELEASE_SCRIPT = `
redis.call('HDEL', KEYS[1], ARGV[1])
redis.call('ZREM', KEYS[2], ARGV[1])
local seq = tonumber(ARGV[2])
if seq > tonumber(redis.call('GET', KEYS[3]) or '0') then redis.call('SET', KEYS[3], seq) end
return 1
`;

/** ARGV: none. Returns the sum of live reservations. */
export const TOTAL_SCRIPT = `${PURGE_EXPIRED}
return reserved_total()
`;

/**
 * Lua scripts for call reservations. Redis runs each script atomically, which is what makes a
 * burst of calls unable to pass on the same money.
 *
 * Keys: KEYS[1] hash callKey -> reserved micro-dollars; KEYS[2] zset callKey -> expiry (ms);
 * KEYS[3] the newest ledger seq whose charge has released its reservation; KEYS[4] the running
 * total of KEYS[1], so admission costs O(1) however many calls are live; KEYS[5] the balance
 * snapshot "seq:balance:takenAtMs", the newest ledger balance read, so admission can go on without
 * the database. A reservation that lapses instead of being released may hide a charge that never
 * bumped KEYS[3], so a lapse drops the snapshot: the next admission reads the ledger.
 */
/** The start of a manual debit's hold key: such holds are money, not calls, and never count as calls. */
export const DEBIT_HOLD_PREFIX = "debit:";

export const PRELUDE = `
local now_t = redis.call('TIME')
local now = tonumber(now_t[1]) * 1000 + math.floor(tonumber(now_t[2]) / 1000)
local function drop(id)
  local amount = tonumber(redis.call('HGET', KEYS[1], id) or '0')
  if amount ~= 0 then redis.call('DECRBY', KEYS[4], amount) end
  redis.call('HDEL', KEYS[1], id)
  redis.call('ZREM', KEYS[2], id)
end
local lapsed = redis.call('ZRANGEBYSCORE', KEYS[2], '-inf', now)
for _, id in ipairs(lapsed) do drop(id) end
if #lapsed > 0 then redis.call('DEL', KEYS[5]) end
local function keep_alive(ttl)
  for _, k in ipairs({KEYS[1], KEYS[2], KEYS[4]}) do
    if redis.call('PTTL', k) < ttl * 4 then redis.call('PEXPIRE', k, ttl * 4) end
  end
end
local function reserved_total() return tonumber(redis.call('GET', KEYS[4]) or '0') end
`;

/**
 * reserve(callKey, amount, ttlMs, balance, balanceSeq, required, once, snapshotMaxAgeMs, maxCalls).
 * balance is the ledger balance read at balanceSeq, or "" to use the snapshot when it is at most
 * snapshotMaxAgeMs old. With once=1 an existing reservation for the call is only refreshed (a
 * retried admission); otherwise `amount` is added to it (a live call's next chunk) when balance
 * minus every live reservation is at least `required`. maxCalls ("" for none, once=1 only): a call
 * that holds nothing yet is refused, before anything else is read or written, when the account's
 * call holds (every field but the manual debits', DEBIT_HOLD_PREFIX) number maxCalls already.
 * Returns status, available before this reservation: 1 reserved, 0 not enough money, -1 the
 * balance (read or snapshot) is older than a released reservation, -2 no snapshot young enough,
 * -3 at the call limit (with the number of live calls instead of the available balance). A read
 * refreshes the snapshot, never backwards. A function, so admission's one-round-trip script
 * (admission.scripts.ts) holds money by the same rules.
 */
export const RESERVE_FN = `
local function reserve(call_id, amount_arg, ttl_arg, balance_arg, seq_arg, required_arg, once, max_age_arg, max_calls_arg)
  local amount = tonumber(amount_arg)
  local ttl = tonumber(ttl_arg)
  if max_calls_arg ~= '' and once == '1' and redis.call('HEXISTS', KEYS[1], call_id) == 0 then
    local max_calls = tonumber(max_calls_arg)
    -- O(1) while the hash is smaller than the limit; only an account at its limit counts fields.
    if redis.call('HLEN', KEYS[1]) >= max_calls then
      local calls = 0
      for _, id in ipairs(redis.call('HKEYS', KEYS[1])) do
        if string.sub(id, 1, ${DEBIT_HOLD_PREFIX.length}) ~= '${DEBIT_HOLD_PREFIX}' then calls = calls + 1 end
      end
      if calls >= max_calls then return -3, calls end
    end
  end
  local balance, seq
  if balance_arg == '' then
    local snap = redis.call('GET', KEYS[5])
    if not snap then return -2, 0 end
    local s, b, at = string.match(snap, '^(%d+):(-?%d+):(%d+)$')
    if now - tonumber(at) > tonumber(max_age_arg) then return -2, 0 end
    seq, balance = tonumber(s), tonumber(b)
  else
    seq, balance = tonumber(seq_arg), tonumber(balance_arg)
  end
  local released_seq = tonumber(redis.call('GET', KEYS[3]) or '0')
  if released_seq > seq then return -1, 0 end
  if balance_arg ~= '' then
    local snap = redis.call('GET', KEYS[5])
    local old_seq = snap and tonumber(string.match(snap, '^(%d+):')) or -1
    if seq >= old_seq then redis.call('SET', KEYS[5], seq .. ':' .. balance_arg .. ':' .. now, 'PX', 172800000) end
  end
  local available = balance - reserved_total()
  if once == '1' and redis.call('HEXISTS', KEYS[1], call_id) == 1 then
    redis.call('ZADD', KEYS[2], now + ttl, call_id)
    keep_alive(ttl)
    return 1, available
  end
  if available < tonumber(required_arg) then return 0, available end
  redis.call('HINCRBY', KEYS[1], call_id, amount)
  redis.call('INCRBY', KEYS[4], amount)
  redis.call('ZADD', KEYS[2], now + ttl, call_id)
  keep_alive(ttl)
  return 1, available
end
`;

/** ARGV: those of reserve(), in its order. Returns {status, available}. */
export const RESERVE_SCRIPT = `${PRELUDE}${RESERVE_FN}
local status, available = reserve(ARGV[1], ARGV[2], ARGV[3], ARGV[4], ARGV[5], ARGV[6], ARGV[7], ARGV[8], ARGV[9])
return {status, available}
`;

/** ARGV: callKey, chargeSeq (0 when no charge was written). Drops the call's reservation. */
export const RELEASE_SCRIPT = `${PRELUDE}
drop(ARGV[1])
local seq = tonumber(ARGV[2])
if seq > tonumber(redis.call('GET', KEYS[3]) or '0') then redis.call('SET', KEYS[3], seq) end
return 1
`;

/** ARGV: none. Returns the sum of live reservations. */
export const TOTAL_SCRIPT = `${PRELUDE}
return reserved_total()
`;

/**
 * ARGV: callKey, ttlMs. Pushes a live call's reservation expiry to now + ttl without adding money
 * (a worker's heartbeat). Returns 1, or 0 when the call holds no reservation (it lapsed).
 */
export const TOUCH_SCRIPT = `${PRELUDE}
if redis.call('HEXISTS', KEYS[1], ARGV[1]) == 0 then return 0 end
redis.call('ZADD', KEYS[2], now + tonumber(ARGV[2]), ARGV[1])
keep_alive(tonumber(ARGV[2]))
return 1
`;

/** ARGV: callKey. Returns what this call holds, 0 when nothing (or it lapsed). */
export const CALL_AMOUNT_SCRIPT = `${PRELUDE}
return tonumber(redis.call('HGET', KEYS[1], ARGV[1]) or '0')
`;

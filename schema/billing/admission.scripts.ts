import { PRELUDE, RESERVE_FN } from "./reservation.scripts.js";

/**
 * Admission in one Redis round trip, for a call whose routing the web process has cached: the
 * retry check, the routing version check, the first minute's hold (reserve(), on the balance
 * snapshot only), the CallSid claim and both watches (pending document, open call), run as one
 * script, so no step can be seen without the others.
 *
 * KEYS: 1-5 the account's reservation keys (reservation.scripts.ts), 6 the call's admission
 * record, 7 the pending-documents set, 8 the open-calls set, 9 the routing version.
 * ARGV: 1 callId, 2 record JSON, 3 record TTL ms, 4 pending score, 5 open-call score, 6 the
 * routing version the cached entry was read under, 7 callKey, 8 amount, 9 hold TTL ms,
 * 10 required, 11 snapshot max age ms, 12 the account's limit of concurrent calls.
 *
 * Returns {outcome, earlier record JSON or ''}: 1 admitted; 2 admitted before (a retry: the
 * record is returned, the call watched again, nothing held); 3 the routing version moved (nothing
 * done); -3 the account is at its limit of concurrent calls (nothing done); 0, -1, -2 reserve()'s
 * refusals on the snapshot (nothing done): the caller then takes the general path, which may read
 * the ledger.
 */
export const ADMIT_SCRIPT = `${PRELUDE}${RESERVE_FN}
local call_id = ARGV[1]
local earlier = redis.call('GET', KEYS[6])
if earlier then
  redis.call('ZADD', KEYS[8], 'NX', ARGV[5], call_id)
  return {2, earlier}
end
if (redis.call('GET', KEYS[9]) or '0') ~= ARGV[6] then return {3, ''} end
local status = reserve(ARGV[7], ARGV[8], ARGV[9], '', 0, ARGV[10], '1', ARGV[11], ARGV[12])
if status ~= 1 then return {status, ''} end
redis.call('SET', KEYS[6], ARGV[2], 'PX', ARGV[3])
redis.call('ZADD', KEYS[7], 'NX', ARGV[4], call_id)
redis.call('ZADD', KEYS[8], 'NX', ARGV[5], call_id)
return {1, ''}
`;

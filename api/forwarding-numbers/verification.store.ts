import type { Redis, Result } from "ioredis";
import { defineScripts } from "../../schema/infra/redis-scripts.js";

/**
 * Pending forwarding-number verifications, in Redis: a code is worth something for ten minutes,
 * and its tries counter must hold when two keypad entries arrive at once, which FerretDB's
 * read-modify-write updates cannot promise. Every change is one Lua script.
 *
 * Keys: `c247:fwdv:v:{id}` hash of one verification; `c247:fwdv:cur:{accountId}:{e164}` the id of
 * the account's newest verification of that number (a new one replaces the old code);
 * `c247:fwdv:rate:...` fixed-window counters of verification calls.
 */
const PREFIX = "c247:fwdv";

/** Stored states; `correct` means the code was right and the claim is being written. */
export type StoredStatus = "pending" | "correct" | "verified" | "conflict" | "locked" | "expired" | "failed";

/**
 * What a keypad entry did: `wrong` (a try used, some left), `correct` (the code was right, now or
 * in an earlier entry whose claim may not be written yet), the stored status when the
 * verification is already settled, or why the entry does not count (`superseded` by a newer
 * verification, `unknown` id, `wrong-call`: not from the call placed for it).
 */
export type SubmitOutcome = Exclude<StoredStatus, "pending"> | "wrong" | "superseded" | "unknown" | "wrong-call";

export interface SubmitResult {
  outcome: SubmitOutcome;
  attemptsLeft: number;
}

export interface StoredVerification {
  id: string;
  accountId: string;
  e164: string;
  status: StoredStatus;
  /** False when a newer verification of the same number replaced this one. */
  current: boolean;
  tries: number;
  maxTries: number;
  expiresAtMs: number;
  createdAtMs: number;
  callSid: string | null;
}

export interface NewVerification {
  id: string;
  accountId: string;
  e164: string;
  codeHash: string;
  createdAtMs: number;
  expiresAtMs: number;
  maxTries: number;
  /** Milliseconds the record stays readable (its status), well past the code's expiry. */
  retentionMs: number;
}

export interface CallLimits {
  /** Verification calls one account may start per window. */
  perAccount: number;
  /** Verification calls one account may start to one number per window. */
  perNumber: number;
  windowMs: number;
}

const SCRIPTS = {
  /** KEYS: hash, pointer, account counter, number counter. Returns 0 when a limit is reached. */
  c247VerificationStart: {
    numberOfKeys: 4,
    lua: `
if tonumber(redis.call('GET', KEYS[3]) or '0') >= tonumber(ARGV[9]) then return 0 end
if tonumber(redis.call('GET', KEYS[4]) or '0') >= tonumber(ARGV[10]) then return 0 end
for _, k in ipairs({KEYS[3], KEYS[4]}) do
  if redis.call('INCR', k) == 1 then redis.call('PEXPIRE', k, ARGV[11]) end
end
redis.call('HSET', KEYS[1], 'accountId', ARGV[2], 'e164', ARGV[3], 'codeHash', ARGV[4], 'createdAt', ARGV[5],
  'expiresAt', ARGV[6], 'maxTries', ARGV[7], 'tries', 0, 'status', 'pending', 'callSid', '')
redis.call('PEXPIRE', KEYS[1], ARGV[8])
redis.call('SET', KEYS[2], ARGV[1], 'PX', ARGV[8])
return 1
`,
  },
  /**
   * KEYS: hash, pointer. ARGV: id, hash of the entered digits, now (ms), CallSid of the entry.
   * Counts the try and compares in one step, so five tries are five tries however they arrive.
   * Returns {outcome, attempts left}.
   */
  c247VerificationSubmit: {
    numberOfKeys: 2,
    lua: `
if redis.call('EXISTS', KEYS[1]) == 0 then return {'unknown', 0} end
local h = redis.call('HMGET', KEYS[1], 'status', 'tries', 'maxTries', 'expiresAt', 'callSid', 'codeHash')
local tries, max = tonumber(h[2]), tonumber(h[3])
if h[1] ~= 'pending' then return {h[1], max - tries} end
if redis.call('GET', KEYS[2]) ~= ARGV[1] then return {'superseded', max - tries} end
if h[5] ~= '' and h[5] ~= ARGV[4] then return {'wrong-call', max - tries} end
if tonumber(ARGV[3]) >= tonumber(h[4]) then
  redis.call('HSET', KEYS[1], 'status', 'expired')
  return {'expired', max - tries}
end
tries = redis.call('HINCRBY', KEYS[1], 'tries', 1)
if h[6] == ARGV[2] then
  redis.call('HSET', KEYS[1], 'status', 'correct')
  return {'correct', max - tries}
end
if tries >= max then
  redis.call('HSET', KEYS[1], 'status', 'locked')
  return {'locked', 0}
end
return {'wrong', max - tries}
`,
  },
  /** KEYS: hash. ARGV: field, value, required status or ''. Writes only to an existing record. */
  c247VerificationSetField: {
    numberOfKeys: 1,
    lua: `
if redis.call('EXISTS', KEYS[1]) == 0 then return 0 end
if ARGV[3] ~= '' and redis.call('HGET', KEYS[1], 'status') ~= ARGV[3] then return 0 end
redis.call('HSET', KEYS[1], ARGV[1], ARGV[2])
return 1
`,
  },
};

declare module "ioredis" {
  interface RedisCommander<Context> {
    /** 1 when stored, 0 when a call limit is reached. */
    c247VerificationStart(
      hash: string,
      pointer: string,
      accountCounter: string,
      numberCounter: string,
      id: string,
      accountId: string,
      e164: string,
      codeHash: string,
      createdAtMs: number,
      expiresAtMs: number,
      maxTries: number,
      retentionMs: number,
      perAccount: number,
      perNumber: number,
      windowMs: number,
    ): Result<number, Context>;
    /** [outcome, attempts left]. */
    c247VerificationSubmit(
      hash: string,
      pointer: string,
      id: string,
      digitsHash: string,
      nowMs: number,
      callSid: string,
    ): Result<[outcome: string, attemptsLeft: number], Context>;
    /** 1 when written, 0 when the record is gone or not in `requiredStatus` ('' for any). */
    c247VerificationSetField(hash: string, field: string, value: string, requiredStatus: string): Result<number, Context>;
  }
}

export class VerificationStore {
  constructor(
    private readonly redis: Redis,
    private readonly limits: CallLimits,
  ) {
    defineScripts(redis, SCRIPTS);
  }

  /** Stores a new verification and makes it the current one of its number; false when a call limit is reached. */
  async start(v: NewVerification): Promise<boolean> {
    const window = Math.floor(v.createdAtMs / this.limits.windowMs);
    const stored = await this.redis.c247VerificationStart(
      hashKey(v.id),
      pointerKey(v.accountId, v.e164),
      `${PREFIX}:rate:a:${v.accountId}:${window}`,
      `${PREFIX}:rate:n:${v.accountId}:${v.e164}:${window}`,
      v.id,
      v.accountId,
      v.e164,
      v.codeHash,
      v.createdAtMs,
      v.expiresAtMs,
      v.maxTries,
      v.retentionMs,
      this.limits.perAccount,
      this.limits.perNumber,
      this.limits.windowMs,
    );
    return stored === 1;
  }

  async get(id: string): Promise<StoredVerification | null> {
    const h = await this.redis.hgetall(hashKey(id));
    if (!h.accountId || !h.e164) return null;
    const current = (await this.redis.get(pointerKey(h.accountId, h.e164))) === id;
    return {
      id,
      accountId: h.accountId,
      e164: h.e164,
      status: h.status as StoredStatus,
      current,
      tries: Number(h.tries),
      maxTries: Number(h.maxTries),
      expiresAtMs: Number(h.expiresAt),
      createdAtMs: Number(h.createdAt),
      callSid: h.callSid ? h.callSid : null,
    };
  }

  /** One keypad entry for the verification `v` (read with get). */
  async submit(v: StoredVerification, digitsHash: string, nowMs: number, callSid: string): Promise<SubmitResult> {
    const [outcome, left] = await this.redis.c247VerificationSubmit(
      hashKey(v.id),
      pointerKey(v.accountId, v.e164),
      v.id,
      digitsHash,
      nowMs,
      callSid,
    );
    return { outcome: outcome as SubmitOutcome, attemptsLeft: Math.max(0, Number(left)) };
  }

  /** The call Twilio placed for the verification: later entries must come from it. */
  async setCallSid(id: string, callSid: string): Promise<void> {
    await this.redis.c247VerificationSetField(hashKey(id), "callSid", callSid, "");
  }

  /** Moves a verification out of `from` (pending: the call failed; correct: the claim was written or refused). */
  async settle(id: string, from: StoredStatus, to: StoredStatus): Promise<void> {
    await this.redis.c247VerificationSetField(hashKey(id), "status", to, from);
  }
}

function hashKey(id: string): string {
  return `${PREFIX}:v:${id}`;
}

function pointerKey(accountId: string, e164: string): string {
  return `${PREFIX}:cur:${accountId}:${e164}`;
}

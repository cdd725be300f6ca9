import type { Redis, Result } from "ioredis";
import { defineScripts } from "../infra/redis-scripts.js";

/** How long a call's state outlives its start: longer than any call plus late callbacks. */
const STATE_TTL_MS = 2 * 24 * 3600 * 1000;

/** Owner value prefix of a media stream; anything else is a recovery path that closed the call. */
export const STREAM_OWNER_PREFIX = "stream:";

/**
 * KEYS: state, heartbeat. ARGV: owner, stateTtlMs, heartbeatTtlMs (0: none), progressMs. Claims
 * the call for one owner: the first media stream, or a status callback / sweeper that found no
 * stream. Setting the heartbeat in the same script leaves no instant where a claimed stream looks dead.
 */
const CLAIM_LUA = `
if redis.call('HSETNX', KEYS[1], 'owner', ARGV[1]) == 0 then return 0 end
redis.call('PEXPIRE', KEYS[1], ARGV[2])
if tonumber(ARGV[3]) > 0 then redis.call('SET', KEYS[2], ARGV[4], 'PX', ARGV[3]) end
return 1
`;

/**
 * KEYS: state, heartbeat. ARGV: owner, progressMs, heartbeatTtlMs, stateTtlMs. Returns 1 (beat),
 * 2 (the state was gone and the session took its call back) or 0 (someone else owns the call).
 */
const BEAT_LUA = `
local owner = redis.call('HGET', KEYS[1], 'owner')
local result = 1
if not owner then
  redis.call('HSET', KEYS[1], 'owner', ARGV[1])
  redis.call('PEXPIRE', KEYS[1], ARGV[4])
  result = 2
elseif owner ~= ARGV[1] then
  return 0
end
redis.call('SET', KEYS[2], ARGV[2], 'PX', ARGV[3])
redis.call('HSET', KEYS[1], 'progressMs', ARGV[2])
return result
`;

const SCRIPTS = {
  c247LivenessClaim: { numberOfKeys: 2, lua: CLAIM_LUA },
  c247Beat: { numberOfKeys: 2, lua: BEAT_LUA },
};

declare module "ioredis" {
  interface RedisCommander<Context> {
    /** 1 claimed, 0 someone else owns the call. */
    c247LivenessClaim(
      state: string,
      heartbeat: string,
      owner: string,
      stateTtlMs: number,
      heartbeatTtlMs: number,
      progressMs: number,
    ): Result<number, Context>;
    /** 1 beat, 2 the state was gone and the session took its call back, 0 someone else owns the call. */
    c247Beat(
      state: string,
      heartbeat: string,
      owner: string,
      progressMs: number,
      heartbeatTtlMs: number,
      stateTtlMs: number,
    ): Result<number, Context>;
  }
}

function keysOf(callId: string): [state: string, heartbeat: string] {
  // One hash tag per call keeps both keys in one slot on Redis Cluster.
  const tag = `{call:${callId}}`;
  return [`c247:${tag}:state`, `c247:${tag}:hb`];
}

export interface Beat {
  callId: string;
  /** The owner value the session claimed the call with. */
  owner: string;
  /** Connected time so far, milliseconds: what the sweeper bills if the worker dies. */
  progressMs: number;
}

/**
 * Who owns a call's lifecycle and whether its media session is alive, kept in Redis where a
 * claim is atomic (FerretDB updates are not). A live session refreshes a short-lived heartbeat
 * key; when it is missing, the session is gone and the call may be closed out by someone else.
 */
export class CallLiveness {
  constructor(private readonly redis: Redis) {
    defineScripts(redis, SCRIPTS);
  }

  /**
   * Takes ownership of the call when nobody has it. A stream passes a heartbeat TTL so it is
   * live from the same instant. Returns false when someone else already owns the call.
   */
  async claim(callId: string, owner: string, heartbeatTtlMs = 0): Promise<boolean> {
    return (await this.redis.c247LivenessClaim(...keysOf(callId), owner, STATE_TTL_MS, heartbeatTtlMs, 0)) === 1;
  }

  async owner(callId: string): Promise<string | null> {
    return this.redis.hget(keysOf(callId)[0], "owner");
  }

  /**
   * Refreshes many sessions' heartbeats in one round trip, each only while its session still owns
   * the call (a script, so the check and the beat are one step). Returns the calls another owner
   * took (a sweeper or reconciler closed them): those sessions are fenced and must stop. A call
   * whose state is gone (Redis lost its data) is taken back by its live session. Throws when
   * Redis fails.
   */
  async beat(beats: Beat[], heartbeatTtlMs: number): Promise<{ fenced: string[] }> {
    if (beats.length === 0) return { fenced: [] };
    const pipeline = this.redis.pipeline();
    for (const b of beats) pipeline.c247Beat(...keysOf(b.callId), b.owner, b.progressMs, heartbeatTtlMs, STATE_TTL_MS);
    const results = (await pipeline.exec()) ?? [];
    const fenced: string[] = [];
    results.forEach(([err, result], i) => {
      if (err) throw err;
      if (Number(result) === 0) fenced.push(beats[i]!.callId);
    });
    return { fenced };
  }

  /** The session ended and handed its close-out to the queue: it no longer needs to look alive. */
  async stopBeating(callId: string): Promise<void> {
    await this.redis.del(keysOf(callId)[1]);
  }

  async isLive(callId: string): Promise<boolean> {
    return (await this.redis.exists(keysOf(callId)[1])) === 1;
  }

  /** isLive for many calls in one round trip. */
  async areLive(callIds: string[]): Promise<boolean[]> {
    if (callIds.length === 0) return [];
    const pipeline = this.redis.pipeline();
    for (const id of callIds) pipeline.exists(keysOf(id)[1]);
    const results = (await pipeline.exec()) ?? [];
    return results.map(([err, n]) => {
      if (err) throw err;
      return n === 1;
    });
  }

  /** Connected milliseconds at the session's last heartbeat, or null when it never beat. */
  async progressMs(callId: string): Promise<number | null> {
    const raw = await this.redis.hget(keysOf(callId)[0], "progressMs");
    return raw === null ? null : Number(raw);
  }

  /** Twilio's CallDuration from a status callback that arrived while the session still looked alive. */
  async rememberTwilioSeconds(callId: string, seconds: number): Promise<void> {
    await this.redis.hset(keysOf(callId)[0], "twilioSeconds", seconds);
  }

  async twilioSeconds(callId: string): Promise<number | null> {
    const raw = await this.redis.hget(keysOf(callId)[0], "twilioSeconds");
    return raw === null ? null : Number(raw);
  }
}

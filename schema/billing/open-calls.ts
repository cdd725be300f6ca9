import type { Redis } from "ioredis";

/** The sorted set of open calls; admission's one-round-trip script adds to it too. */
export const OPEN_CALLS_KEY = "c247:calls:open";

/**
 * Calls not yet closed out, each with the time the sweeper should next look at it (a Redis
 * sorted set). The sweeper reads only what is due instead of querying the calls collection,
 * which FerretDB would scan.
 */
export class OpenCalls {
  constructor(private readonly redis: Redis) {}

  /** Starts watching a call (kept at its earlier check time if already watched). */
  async watch(callId: string, atMs = Date.now()): Promise<void> {
    await this.redis.zadd(OPEN_CALLS_KEY, "NX", atMs, callId);
  }

  /** Calls whose check time has come, oldest first. */
  async due(nowMs: number, limit: number): Promise<string[]> {
    return this.redis.zrangebyscore(OPEN_CALLS_KEY, "-inf", nowMs, "LIMIT", 0, limit);
  }

  /** Looks at the call again at `atMs`. */
  async later(callId: string, atMs: number): Promise<void> {
    await this.redis.zadd(OPEN_CALLS_KEY, "XX", atMs, callId);
  }

  /** The call is closed out: nothing left to sweep. */
  async forget(callId: string): Promise<void> {
    await this.redis.zrem(OPEN_CALLS_KEY, callId);
  }

  async isWatched(callId: string): Promise<boolean> {
    return (await this.redis.zscore(OPEN_CALLS_KEY, callId)) !== null;
  }
}

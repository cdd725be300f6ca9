import type { Redis } from "ioredis";

const KEY = "c247:calls:open";

/**
 * Calls not yet closed out, each with the time the sweeper should next look at it (a Redis
 * sorted set). The sweeper reads only what is due instead of querying the calls collection,
 * which FerretDB would scan.
 */
export class OpenCalls {
  constructor(private readonly redis: Redis) {}

  /** Starts watching a call (kept at its earlier check time if already watched). */
  async watch(callId: string, atMs = Date.now()): Promise<void> {
    await this.redis.zadd(KEY, "NX", atMs, callId);
  }

  /** Calls whose check time has come, oldest first. */
  async due(nowMs: number, limit: number): Promise<string[]> {
    return this.redis.zrangebyscore(KEY, "-inf", nowMs, "LIMIT", 0, limit);
  }

  /** Looks at the call again at `atMs`. */
  async later(callId: string, atMs: number): Promise<void> {
    await this.redis.zadd(KEY, "XX", atMs, callId);
  }

  /** The call is closed out: nothing left to sweep. */
  async forget(callId: string): Promise<void> {
    await this.redis.zrem(KEY, callId);
  }

  async isWatched(callId: string): Promise<boolean> {
    return (await this.redis.zscore(KEY, callId)) !== null;
  }
}

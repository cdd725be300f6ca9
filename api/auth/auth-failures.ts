import { createHash } from "node:crypto";
import { isIP } from "node:net";
import type { Redis, Result } from "ioredis";
import { TooManyFailedAuthenticationsError } from "../../schema/infra/errors.js";
import type { Logger } from "../../schema/infra/logger.js";
import { defineScripts } from "../../schema/infra/redis-scripts.js";

const SCRIPTS = {
  /** KEYS[1] the address's counter. Returns {failures so far, milliseconds left in the window}. */
  c247AuthFailuresPeek: {
    numberOfKeys: 1,
    lua: `return {tonumber(redis.call('GET', KEYS[1]) or '0'), redis.call('PTTL', KEYS[1])}`,
  },
  /**
   * KEYS[1] the counter, ARGV[1] the window in ms. Counts one failure; the first one of a window
   * starts it (a fixed window: later failures do not prolong it). Returns {failures, ms left}.
   */
  c247AuthFailuresCount: {
    numberOfKeys: 1,
    lua: `local n = redis.call('INCR', KEYS[1])
if redis.call('PTTL', KEYS[1]) < 0 then redis.call('PEXPIRE', KEYS[1], ARGV[1]) end
return {n, redis.call('PTTL', KEYS[1])}`,
  },
};

declare module "ioredis" {
  interface RedisCommander<Context> {
    /** [failures so far, milliseconds left in the window (negative: no window)]. */
    c247AuthFailuresPeek(counter: string): Result<[failures: number, leftMs: number], Context>;
    /** Counts one failure: [failures, milliseconds left in the window]. */
    c247AuthFailuresCount(counter: string, windowMs: number): Result<[failures: number, leftMs: number], Context>;
  }
}

/** Redis keys of the counters; the fuzz suite's write detector leaves them out. */
export const AUTH_FAILURE_KEY_PREFIX = "c247:authfail:";

export interface AuthFailureOptions {
  /** Failed authentications one client address may have in a window before it is refused. */
  maxFailures: number;
  /** Milliseconds of the window, from the address's first failure in it. */
  windowMs: number;
}

/**
 * Failed authentications per client address, shared by every web process through Redis: after
 * `maxFailures` within a window (by default 20 a minute), the address's requests that present a
 * credential answer 429 TOO_MANY_FAILED_AUTHENTICATIONS without the credential being looked at,
 * until the window ends. Successful authentications are not counted. A Redis failure lets the
 * request through (logged): keys are 256-bit random, and the limit guards the key lookup, not
 * the keys.
 */
export class AuthFailures {
  constructor(
    private readonly redis: Redis,
    private readonly log: Logger,
    private readonly options: AuthFailureOptions,
  ) {
    defineScripts(redis, SCRIPTS);
  }

  /** Throws TOO_MANY_FAILED_AUTHENTICATIONS while `address` is over its limit. */
  async assertAllowed(address: string): Promise<void> {
    let failures: number;
    let leftMs: number;
    try {
      [failures, leftMs] = await this.redis.c247AuthFailuresPeek(keyOf(address));
    } catch (err) {
      this.log.warn({ err }, "failed-authentication count unreadable; request let through");
      return;
    }
    if (failures >= this.options.maxFailures) throw new TooManyFailedAuthenticationsError(seconds(leftMs, this.options.windowMs));
  }

  /**
   * Counts a failed authentication of `address`. Returns the refusal to throw when this failure
   * took the address over its limit (a credential checked without a lookup, such as a Twilio
   * signature, is refused from then on too), else null.
   */
  async record(address: string): Promise<TooManyFailedAuthenticationsError | null> {
    try {
      const [failures, leftMs] = await this.redis.c247AuthFailuresCount(keyOf(address), this.options.windowMs);
      return failures > this.options.maxFailures ? new TooManyFailedAuthenticationsError(seconds(leftMs, this.options.windowMs)) : null;
    } catch (err) {
      this.log.warn({ err }, "failed authentication not counted");
      return null;
    }
  }
}

function seconds(leftMs: number, windowMs: number): number {
  return Math.max(1, Math.ceil((leftMs > 0 ? leftMs : windowMs) / 1000));
}

/**
 * One counter per address. What a proxy header gave as the address may be anything: only an IP
 * address is used as it is (IPv4-mapped IPv6 as IPv4), anything else by its hash, so a key stays short.
 */
export function keyOf(address: string): string {
  const plain = address.startsWith("::ffff:") && isIP(address.slice(7)) === 4 ? address.slice(7) : address;
  const part = isIP(plain) ? plain : `h:${createHash("sha256").update(plain).digest("hex").slice(0, 32)}`;
  // The hash tag keeps each counter in one Redis Cluster slot of its own.
  return `${AUTH_FAILURE_KEY_PREFIX}{${part}}`;
}

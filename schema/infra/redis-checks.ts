import type { Redis } from "ioredis";
import type { Logger } from "./logger.js";

/** The eviction policy BullMQ's production checklist asks for: refuse writes, never drop keys. */
export const REQUIRED_EVICTION_POLICY = "noeviction";

/** How long the boot check waits for Redis to answer CONFIG GET, milliseconds. */
const CHECK_TIMEOUT_MS = 3_000;

export type EvictionPolicyCheck =
  /** `maxmemory-policy` is noeviction. */
  | { verdict: "ok"; policy: string }
  /** Redis may evict keys under memory pressure: queued close-outs and call state could vanish. */
  | { verdict: "evicting"; policy: string }
  /** The setting could not be read, e.g. a managed Redis that refuses CONFIG. */
  | { verdict: "unknown"; error: string };

/** The pure decision, from CONFIG GET's reply (`[name, value]`, empty when unknown). */
export function evictionPolicyVerdict(reply: unknown): EvictionPolicyCheck {
  const policy = Array.isArray(reply) && typeof reply[1] === "string" ? reply[1] : null;
  if (policy === null) return { verdict: "unknown", error: "CONFIG GET maxmemory-policy returned no value" };
  return policy === REQUIRED_EVICTION_POLICY ? { verdict: "ok", policy } : { verdict: "evicting", policy };
}

/**
 * Reads `maxmemory-policy` back from the running Redis (redis-server rewrites its process title,
 * so its command line says nothing reliable) and logs a warning unless it is `noeviction`. Never
 * throws: a Redis that refuses CONFIG gets a warning that the policy could not be checked.
 */
export async function checkEvictionPolicy(redis: Redis, log: Logger): Promise<EvictionPolicyCheck> {
  let timer: NodeJS.Timeout | undefined;
  let check: EvictionPolicyCheck;
  try {
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`no answer within ${CHECK_TIMEOUT_MS} ms`)), CHECK_TIMEOUT_MS);
    });
    check = evictionPolicyVerdict(await Promise.race([redis.config("GET", "maxmemory-policy"), timeout]));
  } catch (err) {
    check = { verdict: "unknown", error: (err as Error).message };
  } finally {
    clearTimeout(timer);
  }
  if (check.verdict === "evicting") {
    log.warn(
      { policy: check.policy, required: REQUIRED_EVICTION_POLICY },
      "redis maxmemory-policy is not noeviction: under memory pressure Redis may drop queued jobs and call state",
    );
  } else if (check.verdict === "unknown") {
    log.warn({ err: check.error, required: REQUIRED_EVICTION_POLICY }, "redis maxmemory-policy could not be checked");
  }
  return check;
}

import type { Redis } from "ioredis";
import type { Types } from "mongoose";
import type { Logger } from "../../schema/lib/logger.js";
import { ROUTING_VERSION_KEY, onRoutingChange } from "../../schema/lib/routing-version.js";
import { resolveAgent, type ResolvedAgent } from "./agent-resolver.js";
import type { InboundCallParams } from "./inbound-call.params.js";

export interface RoutingCacheOptions {
  /** Longest an entry is used, even if no write was announced (writes that bypass mongoose). */
  ttlMs: number;
  maxEntries: number;
}

interface Entry {
  version: string;
  at: number;
  value: ResolvedAgent;
}

const DEFAULTS: RoutingCacheOptions = { ttlMs: 10_000, maxEntries: 10_000 };

/**
 * The agent resolved for a number, kept so that a busy number costs one Redis read instead of
 * three database reads per call. An entry is used only while the routing version in Redis is
 * the one it was read under, so a write in any process (an agent paused, a number moved, an
 * account suspended) takes effect on the very next call everywhere. Misses are not cached.
 */
export class RoutingCache {
  private readonly entries = new Map<string, Entry>();
  private readonly options: RoutingCacheOptions;
  private readonly unsubscribe: () => void;

  constructor(
    private readonly redis: Redis,
    private readonly logger: Logger,
    options: Partial<RoutingCacheOptions> = {},
  ) {
    this.options = { ...DEFAULTS, ...options };
    this.unsubscribe = onRoutingChange(() => this.changed());
  }

  async resolve(params: InboundCallParams, scope: Types.ObjectId | null): Promise<ResolvedAgent> {
    // Read before the database, so an entry can only be older than its version says.
    const version = (await this.redis.get(ROUTING_VERSION_KEY)) ?? "0";
    const key = JSON.stringify([params.agentId, params.forwardedFrom, params.to, scope ? String(scope) : null]);
    const now = Date.now();
    const hit = this.entries.get(key);
    if (hit && hit.version === version && now - hit.at < this.options.ttlMs) return hit.value;
    const value = await resolveAgent(params, scope);
    if (this.entries.size >= this.options.maxEntries) this.entries.clear();
    this.entries.set(key, { version, at: now, value });
    return value;
  }

  /** Stops listening for writes (the app is stopping). */
  close(): void {
    this.unsubscribe();
    this.entries.clear();
  }

  private async changed(): Promise<void> {
    this.entries.clear();
    try {
      await this.redis.incr(ROUTING_VERSION_KEY);
    } catch (err) {
      // Other processes keep their entries until the TTL runs out.
      this.logger.warn({ err }, "routing version bump failed");
    }
  }
}

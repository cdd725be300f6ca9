import type { Redis } from "ioredis";
import type { Types } from "mongoose";
import { AppError, DatabaseUnavailableError } from "../../schema/infra/errors.js";
import type { Logger } from "../../schema/infra/logger.js";
import { withinBudget } from "../../schema/infra/time-budget.js";
import { ROUTING_VERSION_KEY, onRoutingChange } from "../../schema/infra/routing-version.js";
import { resolveAgent, type ResolvedAgent } from "./agent-resolver.js";
import type { InboundCallParams } from "./inbound-call.params.js";

export interface RoutingCacheOptions {
  /** Longest an entry is used, even if no write was announced (writes that bypass mongoose). */
  ttlMs: number;
  maxEntries: number;
  /** Milliseconds the database reads of one resolution may take before the webhook gives up on them. */
  dbBudgetMs: number;
}

interface Entry {
  version: string;
  at: number;
  value: ResolvedAgent;
}

const entryKey = (params: InboundCallParams, scope: Types.ObjectId | null): string =>
  JSON.stringify([params.agentId, params.forwardedFrom, params.to, scope ? String(scope) : null]);

const DEFAULTS: RoutingCacheOptions = { ttlMs: 10_000, maxEntries: 10_000, dbBudgetMs: 1_000 };

/**
 * The agent resolved for a number, kept so that a busy number costs one Redis read instead of
 * three database reads per call. An entry is used only while the routing version in Redis is
 * the one it was read under, so a write in any process (an agent paused, a number moved, an
 * account suspended) takes effect on the very next call everywhere. Misses are not cached.
 * While the database does not answer, an entry older than the TTL is still used when its version
 * is current: every routing write bumps the version, and none can land while the database is away.
 */
export class RoutingCache {
  private readonly entries = new Map<string, Entry>();
  /** Reads in flight per key: while the database hangs, callers share one read instead of piling up. */
  private readonly loading = new Map<string, Promise<ResolvedAgent>>();
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

  /**
   * The entry for these parameters if one is younger than the TTL, with the routing version it was
   * read under, without asking Redis: the caller must check that version where it acts on the
   * entry (admission's one-round-trip script does).
   */
  peek(params: InboundCallParams, scope: Types.ObjectId | null): { value: ResolvedAgent; version: string } | null {
    const hit = this.entries.get(entryKey(params, scope));
    return hit && Date.now() - hit.at < this.options.ttlMs ? { value: hit.value, version: hit.version } : null;
  }

  async resolve(params: InboundCallParams, scope: Types.ObjectId | null): Promise<ResolvedAgent> {
    // Read before the database, so an entry can only be older than its version says.
    const version = (await this.redis.get(ROUTING_VERSION_KEY)) ?? "0";
    const key = entryKey(params, scope);
    const now = Date.now();
    const hit = this.entries.get(key);
    if (hit && hit.version === version && now - hit.at < this.options.ttlMs) return hit.value;
    try {
      // A late answer still fills the cache, under the version it was read for: harmless.
      return await withinBudget(this.load(key, version, now, params, scope), this.options.dbBudgetMs);
    } catch (err) {
      if (err instanceof AppError && !(err instanceof DatabaseUnavailableError)) throw err;
      if (hit && hit.version === version) {
        this.logger.warn({ err, ageMs: now - hit.at }, "routing read failed; using the cached entry");
        return hit.value;
      }
      throw err instanceof DatabaseUnavailableError ? err : new DatabaseUnavailableError(err);
    }
  }

  private load(key: string, version: string, at: number, params: InboundCallParams, scope: Types.ObjectId | null): Promise<ResolvedAgent> {
    const flightKey = `${version}:${key}`;
    let read = this.loading.get(flightKey);
    if (!read) {
      read = resolveAgent(params, scope)
        .then((value) => {
          if (this.entries.size >= this.options.maxEntries) this.entries.clear();
          this.entries.set(key, { version, at, value });
          return value;
        })
        .finally(() => this.loading.delete(flightKey));
      this.loading.set(flightKey, read);
    }
    return read;
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

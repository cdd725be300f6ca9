import { randomUUID } from "node:crypto";
import type { Redis } from "ioredis";
import type { Types } from "mongoose";
import type { CallRecoveryService } from "../../schema/billing/call-recovery.service.js";
import type { Logger } from "../../schema/lib/logger.js";
import { CallModel } from "../../schema/models/call.model.js";

export interface SweeperOptions {
  redis: Redis;
  recovery: CallRecoveryService;
  log: Logger;
  intervalMs: number;
  /** A live call whose heartbeat is older than this is a candidate. */
  heartbeatTtlMs: number;
  /** A call still ringing this long after it was admitted will never stream (its token expired). */
  ringingTimeoutMs: number;
}

const LOCK_KEY = "c247:sweeper:lock";
/** Calls looked at per sweep; the next sweep takes the rest. */
const BATCH = 500;

/**
 * Periodically closes out calls whose media session went silent (the worker died or lost the
 * socket without closing out) and calls that never streamed. One worker sweeps per interval (a
 * Redis lock), and closing out is idempotent anyway, so overlapping sweeps do no harm.
 */
export class Sweeper {
  private timer: NodeJS.Timeout | null = null;
  private running: Promise<void> | null = null;
  private readonly id = randomUUID();

  constructor(private readonly opts: SweeperOptions) {}

  start(): void {
    this.timer ??= setInterval(() => {
      this.running ??= this.sweep()
        .then(() => undefined)
        .catch((err) => this.opts.log.error({ err }, "sweep failed"))
        .finally(() => (this.running = null));
    }, this.opts.intervalMs);
  }

  async stop(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
    await this.running;
  }

  /** One sweep; returns how many calls were closed out. */
  async sweep(now = new Date()): Promise<number> {
    const locked = await this.opts.redis.set(LOCK_KEY, this.id, "PX", Math.max(50, this.opts.intervalMs - 10), "NX");
    if (locked !== "OK") return 0;
    const silentSince = new Date(now.getTime() - this.opts.heartbeatTtlMs);
    const ringingSince = new Date(now.getTime() - this.opts.ringingTimeoutMs);
    const fields = { _id: 1, answeredAt: 1, endedAt: 1 };
    type Candidate = { _id: Types.ObjectId; answeredAt: Date | null; endedAt: Date | null };
    const [live, ringing] = await Promise.all([
      CallModel.find({ status: "in-progress", answeredAt: { $lt: silentSince } }, fields).limit(BATCH).lean<Candidate[]>(),
      CallModel.find({ status: "ringing", startedAt: { $lt: ringingSince } }, fields).limit(BATCH).lean<Candidate[]>(),
    ]);
    let closed = 0;
    for (const call of [...live, ...ringing]) {
      const outcome = await this.opts.recovery.recover(call, { source: "sweeper", now });
      if (outcome.startsWith("closed")) closed++;
    }
    if (closed > 0) this.opts.log.info({ closed }, "sweeper closed out calls");
    return closed;
  }
}

import { randomUUID } from "node:crypto";
import type { Redis } from "ioredis";
import type { Types } from "mongoose";
import type { CallLiveness } from "../../schema/billing/call-liveness.js";
import type { CallRecoveryService, RecoveredCall } from "../../schema/billing/call-recovery.service.js";
import type { OpenCalls } from "../../schema/billing/open-calls.js";
import type { Logger } from "../../schema/infra/logger.js";
import { Periodic } from "../lib/periodic.js";
import { CallModel } from "../../schema/models/call.model.js";

export interface SweeperOptions {
  redis: Redis;
  openCalls: OpenCalls;
  liveness: CallLiveness;
  recovery: CallRecoveryService;
  log: Logger;
  intervalMs: number;
  /** A session silent this long is gone. */
  heartbeatTtlMs: number;
  /** A call still ringing this long after admission will never stream (its token expired). */
  ringingTimeoutMs: number;
}

const LOCK_KEY = "c247:sweeper:lock";
/** Calls looked at per sweep; the next sweep takes the rest. */
const BATCH = 500;
/** When a close-out was handed to the queue, look again this much later if it has not landed. */
const RECHECK_MS = 60_000;

type Candidate = RecoveredCall & { _id: Types.ObjectId; status: string; startedAt: Date };
const PROJECTION = {
  callSid: 1,
  status: 1,
  startedAt: 1,
  answeredAt: 1,
  endedAt: 1,
  checkpointMs: 1,
  ratePerMinuteMicros: 1,
  twilioAccountSid: 1,
};

/**
 * Periodically closes out calls whose media session went silent (the worker died or lost the
 * socket without closing out) and calls that never streamed. It looks only at open calls that
 * are due (a Redis sorted set), skips live sessions with one pipelined check, and reads each
 * remaining call by id. One worker sweeps per interval (a Redis lock); closing out is idempotent
 * anyway, so overlapping sweeps do no harm.
 */
export class Sweeper {
  private readonly loop: Periodic;
  private readonly id = randomUUID();

  constructor(private readonly opts: SweeperOptions) {
    this.loop = new Periodic(opts.intervalMs, () => this.sweep(), opts.log, "sweep failed");
  }

  start(): void {
    this.loop.start();
  }

  stop(): Promise<void> {
    return this.loop.stop();
  }

  /** One sweep; returns how many calls it closed out. */
  async sweep(now = Date.now()): Promise<number> {
    const { openCalls, liveness } = this.opts;
    const locked = await this.opts.redis.set(LOCK_KEY, this.id, "PX", Math.max(50, this.opts.intervalMs - 10), "NX");
    if (locked !== "OK") return 0;
    const due = await openCalls.due(now, BATCH);
    const live = await liveness.areLive(due);
    let closed = 0;
    for (const [i, callId] of due.entries()) {
      if (live[i]) {
        await openCalls.later(callId, now + this.opts.heartbeatTtlMs);
        continue;
      }
      const call = await CallModel.findById(callId, PROJECTION).lean<Candidate>();
      if (!call || call.endedAt) {
        await openCalls.forget(callId);
        continue;
      }
      const ringingUntil = call.startedAt.getTime() + this.opts.ringingTimeoutMs;
      if (call.status === "ringing" && ringingUntil > now) {
        await openCalls.later(callId, ringingUntil);
        continue;
      }
      const outcome = await this.opts.recovery.recover(call, { source: "sweeper", now: new Date(now) });
      if (outcome === "live") await openCalls.later(callId, now + this.opts.heartbeatTtlMs);
      else await openCalls.later(callId, now + RECHECK_MS);
      if (outcome.startsWith("closed")) closed++;
    }
    if (closed > 0) this.opts.log.info({ closed }, "sweeper closed out calls");
    return closed;
  }
}

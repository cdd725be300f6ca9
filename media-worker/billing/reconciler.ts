import { randomUUID } from "node:crypto";
import type { Queue } from "bullmq";
import type { Redis } from "ioredis";
import type { CallRecoveryService, RecoveredCall, TwilioCallLookup } from "../../schema/billing/call-recovery.service.js";
import type { FailedCloseOuts } from "../../schema/billing/closeout-queue.js";
import type { Logger } from "../../schema/infra/logger.js";
import { Periodic } from "../lib/periodic.js";
import { closeOutJobId, type CallCloseOutJob } from "../../schema/infra/queues.js";
import { CallModel } from "../../schema/models/call.model.js";
import { parseCloseOutJob } from "./closeout.job.js";
import type { CloseOutService } from "./closeout.service.js";

export interface ReconcilerOptions {
  redis: Redis;
  queue: Queue;
  recovery: CallRecoveryService;
  closeOuts: CloseOutService;
  failedCloseOuts: FailedCloseOuts;
  lookupTwilio: TwilioCallLookup;
  log: Logger;
  /** Milliseconds between passes. */
  intervalMs: number;
  /** An in-progress call whose record has not changed for this long has lost its session. */
  staleMs: number;
  /** A call still ringing this long after it was stored will never stream. */
  ringingTimeoutMs: number;
}

const LOCK_KEY = "c247:reconciler:lock";
/** Calls and failed close-outs looked at per pass; the next pass takes the rest. */
const BATCH = 100;
/** Releases the lock only if this reconciler still holds it. */
const UNLOCK = `if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end return 0`;

const PROJECTION = {
  callSid: 1,
  status: 1,
  answeredAt: 1,
  endedAt: 1,
  checkpointMs: 1,
  ratePerMinuteMicros: 1,
  twilioAccountSid: 1,
  updatedAt: 1,
} as const;

export interface ReconcileResult {
  /** Failed close-outs sent back to the queue. */
  retried: number;
  /** Open calls closed out (or whose finished close-out was re-applied). */
  closed: number;
}

/**
 * The database is the record of open calls: whatever Redis lost, a call that is ringing or in
 * progress in MongoDB with no live session is found here and closed out. Each pass (one worker at
 * a time, under a Redis lock) first sends close-outs that used up their attempts back to the
 * queue, then reads the calls whose record went stale: an in-progress call's session writes a
 * checkpoint at least every 30 s, so a quiet record means a lost session. Both reads use the
 * (status, updatedAt) index, which FerretDB answers without a scan.
 */
export class Reconciler {
  private readonly loop: Periodic;
  private readonly id = randomUUID();

  constructor(private readonly opts: ReconcilerOptions) {
    this.loop = new Periodic(opts.intervalMs, () => this.reconcile(), opts.log, "reconcile pass failed");
  }

  start(): void {
    this.loop.start();
  }

  stop(): Promise<void> {
    return this.loop.stop();
  }

  /** One pass; does nothing when another worker holds the lock. */
  async reconcile(now = Date.now()): Promise<ReconcileResult> {
    const { redis } = this.opts;
    const locked = await redis.set(LOCK_KEY, this.id, "PX", Math.max(1_000, this.opts.intervalMs * 4), "NX");
    if (locked !== "OK") return { retried: 0, closed: 0 };
    try {
      const retried = await this.retryFailedCloseOuts();
      let closed = 0;
      for (const [status, ageMs] of [
        ["in-progress", this.opts.staleMs],
        ["ringing", this.opts.ringingTimeoutMs],
      ] as const) {
        const stale = await CallModel.find({ status, updatedAt: { $lt: new Date(now - ageMs) } }, PROJECTION)
          .sort({ updatedAt: 1, _id: 1 })
          .limit(BATCH)
          .lean<RecoveredCall[]>();
        for (const call of stale) if (await this.reconcileCall(call, now)) closed++;
      }
      if (retried + closed > 0) this.opts.log.info({ retried, closed }, "reconciler closed out calls");
      return { retried, closed };
    } finally {
      await redis.eval(UNLOCK, 1, LOCK_KEY, this.id).catch(() => undefined);
    }
  }

  private async reconcileCall(call: RecoveredCall, now: number): Promise<boolean> {
    const outcome = await this.opts.recovery.recover(call, {
      source: "reconciler",
      lookupTwilio: this.opts.lookupTwilio,
      now: new Date(now),
    });
    if (outcome === "closed-earlier") {
      // Its close-out ran, yet the record is open (the call was stored after it ran, or a late
      // write undid it): every step is idempotent, so running it again converges.
      const job = await this.opts.queue.getJob(closeOutJobId(String(call._id)));
      if (!job) return false;
      await this.opts.closeOuts.closeOut(parseCloseOutJob(job.data as CallCloseOutJob));
      return true;
    }
    return outcome.startsWith("closed");
  }

  /** Close-outs that used up their attempts go back to the queue, until one succeeds. */
  private async retryFailedCloseOuts(): Promise<number> {
    const { queue, failedCloseOuts } = this.opts;
    let retried = 0;
    for (const callId of await failedCloseOuts.list(BATCH)) {
      const job = await queue.getJob(closeOutJobId(callId));
      const state = job ? await job.getState() : "missing";
      if (job && state === "failed") {
        await job.retry("failed");
        retried++;
        this.opts.log.warn({ callId, attempts: job.attemptsMade }, "failed close-out sent back to the queue");
      } else if (state === "missing" || state === "completed") {
        // Gone from the queue or done: an open call is left to the database pass.
        await failedCloseOuts.remove(callId);
      }
    }
    return retried;
  }
}

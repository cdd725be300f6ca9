import type { JobsOptions, Queue } from "bullmq";
import type { Redis } from "ioredis";
import { int, type Env } from "../infra/env.js";
import { CALL_CLOSEOUT_JOB, closeOutJobId, type CallCloseOutJob } from "../infra/queues.js";

/** How hard BullMQ tries one close-out before handing it to the reconciler. */
export interface CloseOutPolicy {
  /** Attempts per close-out job (CLOSEOUT_ATTEMPTS). */
  attempts: number;
  /** First retry delay in milliseconds, doubled per attempt (CLOSEOUT_BACKOFF_MS). */
  backoffMs: number;
}

/** 10 attempts from 500 ms: about four minutes of retries. */
export const DEFAULT_CLOSEOUT_POLICY: CloseOutPolicy = { attempts: 10, backoffMs: 500 };

/** Reads CLOSEOUT_ATTEMPTS and CLOSEOUT_BACKOFF_MS; both processes enqueue close-outs. */
export function loadCloseOutPolicy(env: Env): CloseOutPolicy {
  return {
    attempts: int(env, "CLOSEOUT_ATTEMPTS", DEFAULT_CLOSEOUT_POLICY.attempts, 1, 100),
    backoffMs: int(env, "CLOSEOUT_BACKOFF_MS", DEFAULT_CLOSEOUT_POLICY.backoffMs, 1, 600_000),
  };
}

/**
 * Completed close-outs are kept a week: while a job is kept, any later trigger for the same call
 * (status callback, sweeper) adds nothing, because BullMQ ignores an add with an existing job id.
 * Failed ones are kept a month, where the reconciler finds and retries them.
 */
function jobOptions(policy: CloseOutPolicy): JobsOptions {
  return {
    attempts: policy.attempts,
    backoff: { type: "exponential", delay: policy.backoffMs },
    removeOnComplete: { age: 7 * 24 * 3600 },
    removeOnFail: { age: 30 * 24 * 3600 },
  };
}

/** Enqueues the call's close-out. The first trigger's facts win; later ones are no-ops. */
export async function enqueueCloseOut(queue: Queue, job: CallCloseOutJob, policy: CloseOutPolicy = DEFAULT_CLOSEOUT_POLICY): Promise<void> {
  await queue.add(CALL_CLOSEOUT_JOB, job, { ...jobOptions(policy), jobId: closeOutJobId(job.callId) });
}

const FAILED_KEY = "c247:closeouts:failed";

/**
 * Close-outs that used up their attempts and are not yet done: counted on /healthz and retried
 * by the reconciler until they succeed. A set of call ids, so a count never double counts.
 */
export class FailedCloseOuts {
  constructor(private readonly redis: Redis) {}

  async add(callId: string): Promise<void> {
    await this.redis.sadd(FAILED_KEY, callId);
  }

  async remove(callId: string): Promise<void> {
    await this.redis.srem(FAILED_KEY, callId);
  }

  async count(): Promise<number> {
    return this.redis.scard(FAILED_KEY);
  }

  async list(limit: number): Promise<string[]> {
    return this.redis.srandmember(FAILED_KEY, limit);
  }
}

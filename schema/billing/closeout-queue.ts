import type { JobsOptions, Queue } from "bullmq";
import { CALL_CLOSEOUT_JOB, closeOutJobId, type CallCloseOutJob } from "../lib/queues.js";

/**
 * Completed close-outs are kept a week: while a job is kept, any later trigger for the same call
 * (status callback, sweeper) adds nothing, because BullMQ ignores an add with an existing job id.
 */
const CLOSEOUT_JOB_OPTIONS: JobsOptions = {
  attempts: 10,
  backoff: { type: "exponential", delay: 500 },
  removeOnComplete: { age: 7 * 24 * 3600 },
  removeOnFail: { age: 30 * 24 * 3600 },
};

/** Enqueues the call's close-out. The first trigger's facts win; later ones are no-ops. */
export async function enqueueCloseOut(queue: Queue, job: CallCloseOutJob): Promise<void> {
  await queue.add(CALL_CLOSEOUT_JOB, job, { ...CLOSEOUT_JOB_OPTIONS, jobId: closeOutJobId(job.callId) });
}

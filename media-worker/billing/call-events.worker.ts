import { UnrecoverableError, Worker, type Job } from "bullmq";
import type { Redis } from "ioredis";
import type { FailedCloseOuts } from "../../schema/billing/closeout-queue.js";
import type { OpenCalls } from "../../schema/billing/open-calls.js";
import type { Logger } from "../../schema/infra/logger.js";
import { CALL_CLOSEOUT_JOB, CALL_CREATED_JOB, CALL_EVENTS_QUEUE, type CallCreatedJob } from "../../schema/infra/queues.js";
import { parseCloseOutJob } from "./closeout.job.js";
import type { CloseOutService } from "./closeout.service.js";

export interface CallEventsWorkerDeps {
  /** A connection with maxRetriesPerRequest: null, owned by the caller. */
  connection: Redis;
  closeOuts: CloseOutService;
  openCalls: OpenCalls;
  failedCloseOuts: FailedCloseOuts;
  concurrency: number;
  log: Logger;
}

/** The BullMQ consumer of call events: a thin entry point that validates and calls a service. */
export function startCallEventsWorker(deps: CallEventsWorkerDeps): Worker {
  const worker = new Worker(
    CALL_EVENTS_QUEUE,
    async (job: Job) => {
      switch (job.name) {
        case CALL_CLOSEOUT_JOB: {
          const closeOut = parseCloseOutJob(job.data);
          const result = await deps.closeOuts.closeOut(closeOut);
          // Done at last: it no longer counts as failed (most calls were never in the set).
          await deps.failedCloseOuts.remove(closeOut.callId);
          return result;
        }
        case CALL_CREATED_JOB:
          // Queued only by web processes older than this release (admission now watches the
          // call itself); kept so calls admitted during a rolling deploy are still watched.
          await deps.openCalls.watch(parseCallCreated(job.data));
          return null;
        default:
          throw new UnrecoverableError(`unknown job name ${job.name}`);
      }
    },
    { connection: deps.connection, concurrency: deps.concurrency },
  );
  worker.on("failed", (job, err) => {
    const exhausted = job && !(err instanceof UnrecoverableError) && job.attemptsMade >= (job.opts.attempts ?? 1);
    if (!job || job.name !== CALL_CLOSEOUT_JOB || !exhausted) {
      deps.log.warn({ err, jobId: job?.id, attempts: job?.attemptsMade }, "call event job failed");
      return;
    }
    // Out of attempts: never silently dropped. Counted on /healthz and retried by the reconciler.
    const callId = String((job.data as { callId?: unknown }).callId);
    deps.log.error({ err, callId, attempts: job.attemptsMade }, "close-out failed after all its attempts; the reconciler will retry it");
    deps.failedCloseOuts
      .add(callId)
      .catch((addErr: unknown) => deps.log.error({ err: addErr, callId }, "failed close-out could not be recorded"));
  });
  worker.on("error", (err) => deps.log.error({ err }, "call events worker error"));
  return worker;
}

function parseCallCreated(data: unknown): string {
  const callId = (data as Partial<CallCreatedJob> | null)?.callId;
  if (typeof callId !== "string" || !/^[0-9a-f]{24}$/.test(callId)) throw new UnrecoverableError("call.created job has an invalid callId");
  return callId;
}

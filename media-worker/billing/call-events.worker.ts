import { UnrecoverableError, Worker, type Job } from "bullmq";
import type { Redis } from "ioredis";
import type { OpenCalls } from "../../schema/billing/open-calls.js";
import type { Logger } from "../../schema/lib/logger.js";
import { CALL_CLOSEOUT_JOB, CALL_CREATED_JOB, CALL_EVENTS_QUEUE, type CallCreatedJob } from "../../schema/lib/queues.js";
import { parseCloseOutJob } from "./closeout.job.js";
import type { CloseOutService } from "./closeout.service.js";

export interface CallEventsWorkerDeps {
  /** A connection with maxRetriesPerRequest: null, owned by the caller. */
  connection: Redis;
  closeOuts: CloseOutService;
  openCalls: OpenCalls;
  concurrency: number;
  log: Logger;
}

/** The BullMQ consumer of call events: a thin entry point that validates and calls a service. */
export function startCallEventsWorker(deps: CallEventsWorkerDeps): Worker {
  const worker = new Worker(
    CALL_EVENTS_QUEUE,
    async (job: Job) => {
      switch (job.name) {
        case CALL_CLOSEOUT_JOB:
          return deps.closeOuts.closeOut(parseCloseOutJob(job.data));
        case CALL_CREATED_JOB:
          // A call was admitted: the sweeper watches it until it is closed out, so a call whose
          // stream never comes (or dies) cannot stay open and unbilled.
          await deps.openCalls.watch(parseCallCreated(job.data));
          return null;
        default:
          throw new UnrecoverableError(`unknown job name ${job.name}`);
      }
    },
    { connection: deps.connection, concurrency: deps.concurrency },
  );
  worker.on("failed", (job, err) => deps.log.error({ err, jobId: job?.id, attempts: job?.attemptsMade }, "call event job failed"));
  worker.on("error", (err) => deps.log.error({ err }, "call events worker error"));
  return worker;
}

function parseCallCreated(data: unknown): string {
  const callId = (data as Partial<CallCreatedJob> | null)?.callId;
  if (typeof callId !== "string" || !/^[0-9a-f]{24}$/.test(callId)) throw new UnrecoverableError("call.created job has an invalid callId");
  return callId;
}

import { UnrecoverableError } from "bullmq";
import type { CallCloseOutJob } from "../../schema/lib/queues.js";
import { ENDED_REASONS, type EndedReason } from "../../schema/models/call.model.js";

/** Validates a close-out job's data; malformed data will never succeed, so it is not retried. */
export function parseCloseOutJob(data: unknown): CallCloseOutJob {
  const d = (typeof data === "object" && data !== null ? data : {}) as Record<string, unknown>;
  const bad = (field: string): never => {
    throw new UnrecoverableError(`close-out job has an invalid ${field}`);
  };
  if (typeof d.callId !== "string" || !/^[0-9a-f]{24}$/.test(d.callId)) bad("callId");
  if (d.status !== "completed" && d.status !== "failed") bad("status");
  if (!ENDED_REASONS.includes(d.endedReason as EndedReason)) bad("endedReason");
  if (typeof d.endedAt !== "string" || Number.isNaN(Date.parse(d.endedAt))) bad("endedAt");
  if (typeof d.connectedMs !== "number" || !Number.isSafeInteger(d.connectedMs) || d.connectedMs < 0) bad("connectedMs");
  if (d.source !== "stream" && d.source !== "status-callback" && d.source !== "sweeper") bad("source");
  return d as unknown as CallCloseOutJob;
}

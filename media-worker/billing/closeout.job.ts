import { UnrecoverableError } from "bullmq";
import { CLOSEOUT_SOURCES, type CallCloseOutJob, type CloseOutSource } from "../../schema/infra/queues.js";
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
  if (!CLOSEOUT_SOURCES.includes(d.source as CloseOutSource)) bad("source");
  const ms = (v: unknown) => typeof v === "number" && Number.isSafeInteger(v) && v >= 0;
  if (d.billableMs !== undefined && (!ms(d.billableMs) || (d.billableMs as number) > (d.connectedMs as number))) bad("billableMs");
  if (d.ratePerMinuteMicros !== undefined && !ms(d.ratePerMinuteMicros)) bad("ratePerMinuteMicros");
  if (d.record !== undefined) {
    const r = d.record;
    if (
      typeof r !== "object" ||
      r === null ||
      !("transcript" in r) ||
      !Array.isArray(r.transcript) ||
      !("usage" in r) ||
      typeof r.usage !== "object" ||
      r.usage === null
    )
      bad("record");
  }
  if (d.answeredAt !== undefined && (typeof d.answeredAt !== "string" || Number.isNaN(Date.parse(d.answeredAt)))) bad("answeredAt");
  return d as unknown as CallCloseOutJob;
}

import type { EndedReason, TranscriptKind, TranscriptRole } from "../models/call.model.js";

/** A call's transcript and usage as the session hands them over (JSON: times as ISO 8601). */
export interface CallRecord {
  transcript: { role: TranscriptRole; kind: TranscriptKind; text: string; at: string; offsetMs: number; interrupted: boolean }[];
  usage: {
    engine: string | null;
    provider: string | null;
    audioInSeconds: number;
    audioOutSeconds: number;
    inputTokens: number | null;
    outputTokens: number | null;
  };
}

/** Queue names and job ids shared by the web process (producer) and the media worker. */
export const CALL_EVENTS_QUEUE = "call-events";

export const CALL_CREATED_JOB = "call.created";

/**
 * Job ids derive from the call so a retried webhook or a second trigger can never enqueue (and
 * later bill) the same work twice. BullMQ refuses ":" in custom ids.
 */
export function callJobId(kind: string, callId: string): string {
  return `${kind.replace(/[^a-z0-9-]/gi, "-")}-${callId}`;
}

export interface CallCreatedJob {
  callId: string;
  accountId: string;
  agentId: string;
}

/** Closes out a call's billing; its job id is closeOutJobId(callId), whoever triggers it. */
export const CALL_CLOSEOUT_JOB = "call.closeout";

export function closeOutJobId(callId: string): string {
  return callJobId("call-closeout", callId);
}

/** Who noticed that the call ended. */
export type CloseOutSource = "stream" | "status-callback" | "sweeper" | "reconciler";
export const CLOSEOUT_SOURCES: readonly CloseOutSource[] = ["stream", "status-callback", "sweeper", "reconciler"];

/**
 * The facts of a call's end. The first trigger's job wins (same job id), so these facts are
 * decided once; the close-out derives the charge from them deterministically, so a retry
 * computes the same charge.
 */
export interface CallCloseOutJob {
  callId: string;
  status: "completed" | "failed";
  endedReason: EndedReason;
  /** ISO 8601. */
  endedAt: string;
  /** Connected (streamed) time in milliseconds; 0 when the call never connected. */
  connectedMs: number;
  /**
   * Connected milliseconds the customer pays for, when less than connectedMs: time after our own
   * failure (voice provider down, worker error) is not billed. Absent: all of connectedMs.
   */
  billableMs?: number;
  /** Transcript and usage the session recorded, stored by the close-out with the call's end. */
  record?: CallRecord;
  /** ISO 8601 time the stream started, when the trigger knows it (the call record may lack it). */
  answeredAt?: string;
  source: CloseOutSource;
  /** Per-minute rate fixed at admission (micro-dollars); absent in jobs queued before it existed. */
  ratePerMinuteMicros?: number;
}

import { createHash } from "node:crypto";
import { Schema, model, type InferSchemaType, type HydratedDocument, Types } from "mongoose";

export const CALL_STATUSES = ["ringing", "in-progress", "completed", "failed"] as const;
export type CallStatus = (typeof CALL_STATUSES)[number];

/**
 * Why a call ended. `completed` calls: caller-hangup (Twilio sent `stop`), agent-ended,
 * max-duration, insufficient-balance. `failed` calls: stream-error (the socket broke or
 * misbehaved), stream-lost (the worker vanished; closed by the status callback or the sweeper),
 * not-connected (no stream ever started), worker-shutdown, worker-error (the worker could no longer
 * bill the call, e.g. Redis unreachable).
 */
export const ENDED_REASONS = [
  "caller-hangup",
  "agent-ended",
  "max-duration",
  "insufficient-balance",
  "stream-error",
  "stream-lost",
  "not-connected",
  "worker-shutdown",
  "worker-error",
] as const;
export type EndedReason = (typeof ENDED_REASONS)[number];

/** The status a call ends with for each reason. */
export function endedStatus(reason: EndedReason): "completed" | "failed" {
  switch (reason) {
    case "caller-hangup":
    case "agent-ended":
    case "max-duration":
    case "insufficient-balance":
      return "completed";
    default:
      return "failed";
  }
}

/** Caller identities are stored as Twilio sends them (E.164, anonymous, client:, sip:). */
export const MAX_IDENTITY_LENGTH = 256;

/**
 * A call's id derives from its CallSid, so a retried webhook finds its call by id: the one lookup
 * FerretDB answers without scanning the collection. The unique callSid index stays for MongoDB
 * and as the guard against a (practically impossible) id collision.
 */
export function callIdForSid(callSid: string): Types.ObjectId {
  return new Types.ObjectId(createHash("sha256").update(`call:${callSid}`).digest().subarray(0, 12));
}

/** One phone call, keyed by Twilio's CallSid. */
const callSchema = new Schema(
  {
    callSid: { type: String, required: true, maxlength: 64 },
    accountId: { type: Types.ObjectId, ref: "Account", required: true },
    agentId: { type: Types.ObjectId, ref: "Agent", required: true },
    direction: { type: String, default: "inbound" },
    /** May be empty: some carriers send no caller ID at all. */
    from: { type: String, default: "", maxlength: MAX_IDENTITY_LENGTH },
    to: { type: String, required: true, maxlength: MAX_IDENTITY_LENGTH },
    forwardedFrom: { type: String, default: null, maxlength: MAX_IDENTITY_LENGTH },
    externalCallId: { type: String, default: null, maxlength: 256 },
    status: { type: String, enum: CALL_STATUSES, required: true, default: "ringing" },
    streamSid: { type: String, default: null },
    startedAt: { type: Date, required: true },
    answeredAt: { type: Date, default: null },
    endedAt: { type: Date, default: null },
    endedReason: { type: String, enum: [...ENDED_REASONS, null], default: null },
    /** Filled from the call's single ledger charge, which is the source of truth. */
    billedSeconds: { type: Number, default: 0 },
    costMicros: { type: Number, default: 0 },
  },
  { timestamps: true },
);

callSchema.index({ callSid: 1 }, { unique: true });
callSchema.index({ accountId: 1, startedAt: -1 });
callSchema.index({ accountId: 1, status: 1 });
callSchema.index({ status: 1, updatedAt: 1 });

export type Call = InferSchemaType<typeof callSchema>;
export type CallDoc = HydratedDocument<Call>;
export const CallModel = model("Call", callSchema);

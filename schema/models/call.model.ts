import { createHash } from "node:crypto";
import { Schema, model, type InferSchemaType, type HydratedDocument, Types } from "mongoose";

export const CALL_STATUSES = ["ringing", "in-progress", "completed", "failed"] as const;
export type CallStatus = (typeof CALL_STATUSES)[number];

/**
 * Why a call ended. `completed` calls: caller-hangup (Twilio sent `stop`), agent-ended (the agent
 * hung up: an end-call intent or the model's end_call tool), end-call-phrase (the caller said one
 * of the agent's end-call phrases), silence-timeout, max-duration, insufficient-balance. `failed`
 * calls: stream-error (the socket broke or misbehaved), stream-lost (the worker vanished; closed by
 * the status callback or the sweeper), not-connected (no stream ever started), worker-shutdown,
 * worker-error (the worker could no longer bill the call, e.g. Redis unreachable), provider-error,
 * provider-rate-limited, provider-disconnected (the voice provider failed, refused or dropped the
 * session), engine-unavailable (the voice engine could not run, e.g. a missing system tool).
 */
export const ENDED_REASONS = [
  "caller-hangup",
  "agent-ended",
  "end-call-phrase",
  "silence-timeout",
  "max-duration",
  "insufficient-balance",
  "stream-error",
  "stream-lost",
  "not-connected",
  "worker-shutdown",
  "worker-error",
  "provider-error",
  "provider-rate-limited",
  "provider-disconnected",
  "engine-unavailable",
] as const;
export type EndedReason = (typeof ENDED_REASONS)[number];

/** The status a call ends with for each reason. */
export function endedStatus(reason: EndedReason): "completed" | "failed" {
  switch (reason) {
    case "caller-hangup":
    case "agent-ended":
    case "end-call-phrase":
    case "silence-timeout":
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

export const TRANSCRIPT_ROLES = ["caller", "agent"] as const;
export type TranscriptRole = (typeof TRANSCRIPT_ROLES)[number];
/** `speech`: words said; `dtmf`: a key the caller pressed (text is the digit). */
export const TRANSCRIPT_KINDS = ["speech", "dtmf"] as const;
export type TranscriptKind = (typeof TRANSCRIPT_KINDS)[number];
/** Longest stored text of one turn; longer turns are cut. */
export const MAX_TURN_CHARS = 4_000;
/** Most turns stored per call; later ones are not stored. */
export const MAX_TURNS = 1_000;

/** One turn of the conversation. Personal data: log it only under `pii`. */
const turnSchema = new Schema(
  {
    role: { type: String, enum: TRANSCRIPT_ROLES, required: true },
    kind: { type: String, enum: TRANSCRIPT_KINDS, required: true, default: "speech" },
    text: { type: String, default: "", maxlength: MAX_TURN_CHARS },
    /** When the turn began (wall clock). */
    at: { type: Date, required: true },
    /** When the turn began, in milliseconds since the stream started (Twilio's media clock). */
    offsetMs: { type: Number, required: true, min: 0 },
    /** The caller talked over this agent turn, which was cut short. */
    interrupted: { type: Boolean, default: false },
  },
  { _id: false },
);

/** What a call used, for cost accounting of the voice provider. */
const usageSchema = new Schema(
  {
    /** LOCAL, OPENAI_REALTIME, or a development engine like echo. */
    engine: { type: String, default: null },
    /** Who did the talking, e.g. `openai:gpt-realtime`, `local:espeak-ng+pocketsphinx`. */
    provider: { type: String, default: null },
    /** Seconds of caller audio received and of agent audio sent (20 ms frames). */
    audioInSeconds: { type: Number, default: 0 },
    audioOutSeconds: { type: Number, default: 0 },
    /** Tokens the provider reported (OpenAI Realtime, or the local engine's LLM), when any. */
    inputTokens: { type: Number, default: null },
    outputTokens: { type: Number, default: null },
  },
  { _id: false },
);

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
    /** The Twilio account the call came through (the webhook's AccountSid), for REST reads of the call. */
    twilioAccountSid: { type: String, default: null, maxlength: 64 },
    status: { type: String, enum: CALL_STATUSES, required: true, default: "ringing" },
    streamSid: { type: String, default: null },
    startedAt: { type: Date, required: true },
    /** Per-minute rate fixed at admission, micro-dollars: a later change of the account's rate never re-prices this call. */
    ratePerMinuteMicros: { type: Number, default: null, min: 0 },
    answeredAt: { type: Date, default: null },
    endedAt: { type: Date, default: null },
    /**
     * Connected milliseconds at the session's last checkpoint (written at least every 30 s while
     * the call is live): what the reconciler bills when Twilio and the status callback cannot say.
     */
    checkpointMs: { type: Number, default: null },
    endedReason: { type: String, enum: [...ENDED_REASONS, null], default: null },
    /** Turns in the order they began; written once, when the stream ends. */
    transcript: { type: [turnSchema], default: () => [] },
    usage: { type: usageSchema, default: null },
    /** Filled from the call's single ledger charge, which is the source of truth. */
    billedSeconds: { type: Number, default: 0 },
    costMicros: { type: Number, default: 0 },
  },
  { timestamps: true },
);

callSchema.index({ callSid: 1 }, { unique: true });
callSchema.index({ accountId: 1, startedAt: -1, _id: -1 });
callSchema.index({ accountId: 1, status: 1 });
/** The reconciler's read of stale open calls (status equal, updatedAt below a cutoff, oldest first). */
callSchema.index({ status: 1, updatedAt: 1, _id: 1 });

export type Call = InferSchemaType<typeof callSchema>;
export type CallDoc = HydratedDocument<Call>;
export const CallModel = model("Call", callSchema);

/** What admission knows of a new call: the fields its document is written from. */
export interface NewCallFields {
  _id: Types.ObjectId;
  callSid: string;
  accountId: Types.ObjectId;
  agentId: Types.ObjectId;
  from: string;
  to: string;
  forwardedFrom: string | null;
  externalCallId: string | null;
  twilioAccountSid: string | null;
  ratePerMinuteMicros: number;
  startedAt: Date;
}

/**
 * A new call's whole document, as `new CallModel(fields).toObject()` plus the timestamps would
 * make it, without mongoose's per-document machinery: the webhook writes one for every call, and
 * mongoose's validation cost more CPU than the rest of admission. The checks that can fail for
 * these fields are repeated here; a test holds both the document and the checks to mongoose's.
 */
export function newCallDocument(f: NewCallFields, now = new Date()): Record<string, unknown> {
  const tooLong = (
    [
      ["callSid", f.callSid, 64],
      ["from", f.from, MAX_IDENTITY_LENGTH],
      ["to", f.to, MAX_IDENTITY_LENGTH],
      ["forwardedFrom", f.forwardedFrom, MAX_IDENTITY_LENGTH],
      ["externalCallId", f.externalCallId, 256],
      ["twilioAccountSid", f.twilioAccountSid, 64],
    ] as const
  ).find(([, value, max]) => value !== null && value.length > max);
  if (tooLong) throw new InvalidCallDocumentError(`${tooLong[0]} is longer than ${tooLong[2]} characters`);
  if (!f.callSid || !f.to) throw new InvalidCallDocumentError("callSid and to are required");
  if (!Number.isFinite(f.ratePerMinuteMicros) || f.ratePerMinuteMicros < 0)
    throw new InvalidCallDocumentError("ratePerMinuteMicros must be at least 0");
  return {
    _id: f._id,
    callSid: f.callSid,
    accountId: f.accountId,
    agentId: f.agentId,
    direction: "inbound",
    from: f.from,
    to: f.to,
    forwardedFrom: f.forwardedFrom,
    externalCallId: f.externalCallId,
    twilioAccountSid: f.twilioAccountSid,
    status: "ringing",
    streamSid: null,
    startedAt: f.startedAt,
    ratePerMinuteMicros: f.ratePerMinuteMicros,
    answeredAt: null,
    endedAt: null,
    checkpointMs: null,
    endedReason: null,
    transcript: [],
    usage: null,
    billedSeconds: 0,
    costMicros: 0,
    createdAt: now,
    updatedAt: now,
  };
}

/** A new call's fields break the schema; named like mongoose's error, which the batcher reports alone. */
export class InvalidCallDocumentError extends Error {
  override readonly name = "ValidationError";
}

import { Schema, model, type InferSchemaType, type HydratedDocument, Types } from "mongoose";
import {
  AgentConfigError,
  DEFAULT_VOICE_CONFIG,
  LIMITS,
  VOICE_ENGINES,
  storedVoiceConfig,
  validateAgentConfig,
  voiceFits,
} from "./agent-config.js";
import { announceRoutingWrites } from "../infra/routing-version.js";

export const AGENT_STATUSES = ["active", "inactive"] as const;
export type AgentStatus = (typeof AGENT_STATUSES)[number];

/** Something the caller may say and what the agent answers (see schema/models/agent-config.ts). */
const intentSchema = new Schema(
  {
    phrases: { type: [{ type: String, maxlength: LIMITS.phraseChars }], required: true },
    reply: { type: String, required: true, maxlength: LIMITS.replyChars },
    endCall: { type: Boolean, default: false },
  },
  { _id: false },
);

/** An AI voice agent: what it says, with which voice engine, and how long a call with it may last. */
const agentSchema = new Schema(
  {
    accountId: { type: Types.ObjectId, ref: "Account", required: true },
    name: { type: String, required: true, maxlength: 200 },
    instructions: { type: String, default: "", maxlength: 20_000 },
    greeting: { type: String, default: DEFAULT_VOICE_CONFIG.greeting, maxlength: LIMITS.greetingChars },
    /** null: the platform default engine (OPENAI_REALTIME when a key is configured, else LOCAL). */
    engine: { type: String, enum: [...VOICE_ENGINES, null], default: DEFAULT_VOICE_CONFIG.engine },
    /** An OpenAI voice or an espeak-ng voice ("" or the other engine's kind: the engine's default). */
    voice: { type: String, default: DEFAULT_VOICE_CONFIG.voice, maxlength: LIMITS.voiceChars },
    language: { type: String, default: "en-US", maxlength: 35 },
    intents: { type: [intentSchema], default: () => [] },
    fallbackReply: { type: String, default: DEFAULT_VOICE_CONFIG.fallbackReply, maxlength: LIMITS.replyChars },
    endCallPhrases: { type: [{ type: String, maxlength: LIMITS.phraseChars }], default: () => [...DEFAULT_VOICE_CONFIG.endCallPhrases] },
    /** Seconds of silence before a spoken reminder; 0: no reminder. */
    silenceReminderSeconds: { type: Number, default: DEFAULT_VOICE_CONFIG.silenceReminderSeconds, min: 0, max: LIMITS.silenceSeconds.max },
    /** Seconds of silence after which the agent says goodbye and hangs up. */
    silenceTimeoutSeconds: {
      type: Number,
      default: DEFAULT_VOICE_CONFIG.silenceTimeoutSeconds,
      min: LIMITS.silenceSeconds.min,
      max: LIMITS.silenceSeconds.max,
    },
    /** Seconds; the call is ended with a goodbye when reached. */
    maxCallDurationSeconds: {
      type: Number,
      default: DEFAULT_VOICE_CONFIG.maxCallDurationSeconds,
      min: LIMITS.maxCallDurationSeconds.min,
      max: LIMITS.maxCallDurationSeconds.max,
    },
    status: { type: String, enum: AGENT_STATUSES, required: true, default: "active" },
  },
  { timestamps: true },
);

/**
 * Saving a document (create, save) runs the same rules as the API, so no path can store a
 * configuration a call could not use; the phrases are stored normalized. Query updates
 * (findOneAndUpdate) skip document hooks: callers validate with validateAgentConfig first.
 */
agentSchema.pre("validate", function () {
  try {
    const stored = storedVoiceConfig(this.toObject());
    // A voice of the other engine's kind (the default "alloy" on a LOCAL agent) means the engine's default.
    if (!voiceFits(stored.engine, stored.voice)) stored.voice = "";
    const config = validateAgentConfig(stored);
    this.intents = config.intents as never;
    this.endCallPhrases = config.endCallPhrases;
    this.voice = config.voice;
  } catch (err) {
    if (err instanceof AgentConfigError) this.invalidate(err.field.split(/[.[]/)[0]!, err.message);
    else throw err;
  }
});

agentSchema.index({ accountId: 1, createdAt: -1, _id: -1 });

export type Agent = InferSchemaType<typeof agentSchema>;
export type AgentDoc = HydratedDocument<Agent>;
// Web processes cache routing data; every write tells them (schema/infra/routing-version.ts).
announceRoutingWrites(agentSchema);
export const AgentModel = model("Agent", agentSchema);

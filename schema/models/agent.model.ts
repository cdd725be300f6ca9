import { Schema, model, type InferSchemaType, type HydratedDocument, Types } from "mongoose";

export const AGENT_STATUSES = ["active", "inactive"] as const;
export type AgentStatus = (typeof AGENT_STATUSES)[number];

/** An AI voice agent: what it says and how long a call with it may last. */
const agentSchema = new Schema(
  {
    accountId: { type: Types.ObjectId, ref: "Account", required: true },
    name: { type: String, required: true, maxlength: 200 },
    instructions: { type: String, default: "", maxlength: 20_000 },
    greeting: { type: String, default: "", maxlength: 1_000 },
    voice: { type: String, default: "alloy", maxlength: 100 },
    language: { type: String, default: "en-US", maxlength: 35 },
    /** Seconds; the call is ended with a goodbye when reached. */
    maxCallDurationSeconds: { type: Number, default: 600, min: 10, max: 4 * 3600 },
    status: { type: String, enum: AGENT_STATUSES, required: true, default: "active" },
  },
  { timestamps: true },
);

agentSchema.index({ accountId: 1, createdAt: -1 });

export type Agent = InferSchemaType<typeof agentSchema>;
export type AgentDoc = HydratedDocument<Agent>;
export const AgentModel = model("Agent", agentSchema);

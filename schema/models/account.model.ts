import { Schema, model, type InferSchemaType, type HydratedDocument, Types } from "mongoose";
import { MAX_ACCOUNT_LIMIT } from "./account-limits.js";
import { DEFAULT_RATE_PER_MINUTE_MICROS } from "../billing/rating.js";
import { announceRoutingWrites } from "../infra/routing-version.js";

export const ACCOUNT_STATUSES = ["active", "suspended"] as const;
export type AccountStatus = (typeof ACCOUNT_STATUSES)[number];

/**
 * A customer. The balance is not stored here: it is derived from the append-only ledger
 * (see ledger.service.ts), because FerretDB cannot update a counter atomically.
 */
const accountSchema = new Schema(
  {
    name: { type: String, required: true, maxlength: 200 },
    email: { type: String, required: true, lowercase: true, trim: true, maxlength: 320 },
    /**
     * Legacy: forwarding numbers written before they had to be proven. Nothing routes by them
     * any more and nothing writes them; verified numbers are ForwardingNumber documents. Kept so
     * an admin can see (GraphQL `legacyPhoneNumbers`) and mark the genuine ones verified.
     */
    phoneNumbers: { type: [String], default: [] },
    activeInboundAgentId: { type: Types.ObjectId, ref: "Agent", default: null },
    ratePerMinuteMicros: { type: Number, required: true, default: DEFAULT_RATE_PER_MINUTE_MICROS, min: 0 },
    status: { type: String, enum: ACCOUNT_STATUSES, required: true, default: "active" },
    /**
     * Limits an admin set for this account; unset (absent or null) means the platform default
     * (schema/models/account-limits.ts). Read them through effectiveLimits().
     */
    limits: {
      maxApiKeys: limitField(),
      maxAgents: limitField(),
      maxPhoneNumbers: limitField(),
      maxConcurrentCalls: limitField(),
    },
  },
  { timestamps: true },
);

function limitField() {
  return {
    type: Number,
    default: undefined,
    min: 0,
    max: MAX_ACCOUNT_LIMIT,
    validate: { validator: (v: unknown) => v == null || Number.isSafeInteger(v), message: "must be a whole number" },
  };
}

accountSchema.index({ email: 1 });

export type Account = InferSchemaType<typeof accountSchema>;
export type AccountDoc = HydratedDocument<Account>;
// Web processes cache routing data; every write tells them (schema/infra/routing-version.ts).
announceRoutingWrites(accountSchema);
export const AccountModel = model("Account", accountSchema);

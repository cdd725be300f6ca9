import { Schema, model, type InferSchemaType, type HydratedDocument, Types } from "mongoose";
import { announceRoutingWrites } from "../infra/routing-version.js";

/**
 * How a number came to an account: "verified" (an account key registered it and Twilio showed
 * the platform holds it), "purchased" (bought through the platform's Twilio account), "admin"
 * (an admin key registered it without checks, e.g. a number held in another Twilio account;
 * numbers registered before the checks existed read as "admin" too).
 */
export const PHONE_NUMBER_SOURCES = ["verified", "purchased", "admin"] as const;
export type PhoneNumberSource = (typeof PHONE_NUMBER_SOURCES)[number];

/** A number callers dial (Twilio's `To`); it belongs to one account and routes to one agent. */
const phoneNumberSchema = new Schema(
  {
    e164: { type: String, required: true, match: /^\+[1-9]\d{1,14}$/ },
    accountId: { type: Types.ObjectId, ref: "Account", required: true },
    agentId: { type: Types.ObjectId, ref: "Agent", default: null },
    friendlyName: { type: String, default: "", maxlength: 200 },
    /** The number's IncomingPhoneNumber sid (PN...) in the platform's Twilio account; null when held elsewhere. */
    twilioSid: { type: String, default: null, match: /^PN[0-9a-fA-F]{32}$/ },
    source: { type: String, enum: PHONE_NUMBER_SOURCES, required: true, default: "admin" },
    /**
     * A platform number that several accounts forward their lines to (set by admin keys only):
     * a call to it is routed by its ForwardedFrom number's account. On a number that is not
     * shared, ForwardedFrom counts only when the number's own account verified it.
     */
    shared: { type: Boolean, required: true, default: false },
  },
  { timestamps: true },
);

phoneNumberSchema.index({ e164: 1 }, { unique: true });
phoneNumberSchema.index({ accountId: 1, createdAt: -1, _id: -1 });
phoneNumberSchema.index({ agentId: 1 });

export type PhoneNumber = InferSchemaType<typeof phoneNumberSchema>;
export type PhoneNumberDoc = HydratedDocument<PhoneNumber>;
// Web processes cache routing data; every write tells them (schema/infra/routing-version.ts).
announceRoutingWrites(phoneNumberSchema);
export const PhoneNumberModel = model("PhoneNumber", phoneNumberSchema);

import { Schema, model, type InferSchemaType, type HydratedDocument, Types } from "mongoose";
import { announceRoutingWrites } from "../lib/routing-version.js";

/** A number callers dial (Twilio's `To`); it belongs to one account and routes to one agent. */
const phoneNumberSchema = new Schema(
  {
    e164: { type: String, required: true, match: /^\+[1-9]\d{1,14}$/ },
    accountId: { type: Types.ObjectId, ref: "Account", required: true },
    agentId: { type: Types.ObjectId, ref: "Agent", default: null },
    friendlyName: { type: String, default: "", maxlength: 200 },
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
// Web processes cache routing data; every write tells them (schema/lib/routing-version.ts).
announceRoutingWrites(phoneNumberSchema);
export const PhoneNumberModel = model("PhoneNumber", phoneNumberSchema);

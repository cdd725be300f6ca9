import { Schema, model, type InferSchemaType, Types } from "mongoose";
import { announceRoutingWrites } from "../infra/routing-version.js";

export const FORWARDING_NUMBER_METHODS = ["call", "admin"] as const;
export type ForwardingNumberMethod = (typeof FORWARDING_NUMBER_METHODS)[number];

/**
 * A verified forwarding number: calls forwarded from `e164` may reach the account's active
 * inbound agent. Only verified numbers are stored here (pending verifications live in Redis,
 * see api/forwarding-numbers/verification.store.ts), so the unique e164 index is the rule "a
 * number is verified for one account at most", and the insert is the claim: FerretDB has no
 * partial indexes, and a read-then-update would let two accounts both win.
 */
const forwardingNumberSchema = new Schema(
  {
    e164: { type: String, required: true, match: /^\+[1-9]\d{1,14}$/ },
    accountId: { type: Types.ObjectId, ref: "Account", required: true },
    /** How the number was proven: a keyed-in code on our call, or an admin's word. */
    method: { type: String, enum: FORWARDING_NUMBER_METHODS, required: true },
    verifiedAt: { type: Date, required: true },
  },
  { timestamps: true },
);

forwardingNumberSchema.index({ e164: 1 }, { unique: true });
forwardingNumberSchema.index({ accountId: 1, createdAt: -1, _id: -1 });

export type ForwardingNumber = InferSchemaType<typeof forwardingNumberSchema>;
// Web processes cache routing data; every write tells them (schema/infra/routing-version.ts).
announceRoutingWrites(forwardingNumberSchema);
export const ForwardingNumberModel = model("ForwardingNumber", forwardingNumberSchema);

import { Schema, model, type InferSchemaType, type HydratedDocument, Types } from "mongoose";

export const LEDGER_KINDS = ["credit", "debit", "call_charge"] as const;
export type LedgerKind = (typeof LEDGER_KINDS)[number];

/**
 * One balance movement. Append-only: entries are never updated. `seq` numbers an account's
 * entries 1, 2, 3... and is unique per account, so two writers cannot both append after the same
 * entry: each entry's balanceAfter is exact, and the newest entry is the balance checkpoint.
 * `reference` is unique per account and makes every movement idempotent.
 */
const ledgerEntrySchema = new Schema(
  {
    accountId: { type: Types.ObjectId, ref: "Account", required: true },
    seq: { type: Number, required: true, min: 1 },
    kind: { type: String, enum: LEDGER_KINDS, required: true },
    /** Signed micro-dollars: positive adds to the balance. */
    amountMicros: { type: Number, required: true },
    balanceAfterMicros: { type: Number, required: true },
    reference: { type: String, required: true, maxlength: 200 },
    callId: { type: Types.ObjectId, ref: "Call", default: null },
    note: { type: String, default: null, maxlength: 500 },
  },
  { timestamps: { createdAt: true, updatedAt: false } },
);

ledgerEntrySchema.index({ accountId: 1, seq: -1 }, { unique: true });
ledgerEntrySchema.index({ accountId: 1, reference: 1 }, { unique: true });
ledgerEntrySchema.index({ callId: 1 });

export type LedgerEntry = InferSchemaType<typeof ledgerEntrySchema>;
export type LedgerEntryDoc = HydratedDocument<LedgerEntry>;
export const LedgerEntryModel = model("LedgerEntry", ledgerEntrySchema);

import { Schema, model, type InferSchemaType, type HydratedDocument, Types } from "mongoose";

export const LEDGER_KINDS = ["credit", "debit", "call_charge"] as const;
export type LedgerKind = (typeof LEDGER_KINDS)[number];

/** Width of the zero-padded seq inside an entry id, so ids sort like seqs. */
const SEQ_WIDTH = 12;

/**
 * An entry's id is "<accountId>:<seq>". The id is the one key FerretDB looks up without a scan,
 * and its uniqueness is what lets exactly one writer append entry N+1 after entry N.
 */
export function ledgerEntryId(accountId: Types.ObjectId | string, seq: number): string {
  return `${String(accountId)}:${String(seq).padStart(SEQ_WIDTH, "0")}`;
}

/**
 * One balance movement. Append-only: entries are never updated. `seq` numbers an account's
 * entries 1, 2, 3... with no gaps, each entry's balanceAfter is exact, and the newest entry is
 * the balance checkpoint. `reference` is unique per account and makes every movement idempotent.
 */
const ledgerEntrySchema = new Schema(
  {
    _id: { type: String, required: true },
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

ledgerEntrySchema.index({ accountId: 1, seq: -1 });
ledgerEntrySchema.index({ accountId: 1, reference: 1 }, { unique: true });
ledgerEntrySchema.index({ callId: 1 });

export type LedgerEntry = InferSchemaType<typeof ledgerEntrySchema>;
export type LedgerEntryDoc = HydratedDocument<LedgerEntry>;
export const LedgerEntryModel = model("LedgerEntry", ledgerEntrySchema);

/**
 * Where an account's ledger ended when last seen: a hint only, since FerretDB cannot update it
 * atomically. Readers always probe forward from it (entry ids are gapless), so a stale or
 * regressed hint costs a read, never a wrong balance.
 */
const ledgerHeadSchema = new Schema({
  _id: { type: Types.ObjectId, required: true },
  seq: { type: Number, required: true },
});
export const LedgerHeadModel = model("LedgerHead", ledgerHeadSchema);

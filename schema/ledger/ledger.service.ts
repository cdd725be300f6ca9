import { Types } from "mongoose";
import { AppError, IdempotencyConflictError, InsufficientBalanceError } from "../lib/errors.js";
import { KeyedMutex } from "../lib/keyed-mutex.js";
import { isDuplicateKeyError } from "../lib/mongo-errors.js";
import { LedgerEntryModel, type LedgerEntry, type LedgerKind } from "../models/ledger-entry.model.js";

export type LedgerEntryRecord = LedgerEntry & { _id: Types.ObjectId; createdAt: Date };

export interface AppendInput {
  accountId: Types.ObjectId;
  kind: LedgerKind;
  /** Signed micro-dollars: positive adds to the balance. */
  amountMicros: number;
  /** Idempotency key, unique per account: the same reference is applied once. */
  reference: string;
  callId?: Types.ObjectId | null;
  note?: string | null;
  /** The balance may not end below this; null lets it go negative (call charges). */
  floorMicros: number | null;
}

export interface AppendResult {
  entry: LedgerEntryRecord;
  /** False when the reference had already been applied and the earlier entry is returned. */
  created: boolean;
}

export interface Balance {
  balanceMicros: number;
  /** Seq of the newest entry, 0 when there is none. */
  seq: number;
}

export class LedgerContentionError extends AppError {
  constructor() {
    super("LEDGER_BUSY", "The account's ledger is busy; try again", { status: 503, retryable: true });
  }
}

const MAX_ATTEMPTS = 200;

/**
 * The append-only ledger. Every movement inserts entry seq+1 after the newest entry; the unique
 * (accountId, seq) index lets exactly one concurrent writer win, the others re-read and retry.
 * This needs no atomic update, so it is correct on FerretDB (whose updates are not atomic) and
 * on MongoDB alike.
 */
export class LedgerService {
  private readonly lock = new KeyedMutex();

  async balance(accountId: Types.ObjectId): Promise<Balance> {
    const last = await this.latest(accountId);
    return { balanceMicros: last?.balanceAfterMicros ?? 0, seq: last?.seq ?? 0 };
  }

  /**
   * Balances of several accounts in one aggregate instead of one sorted read each. Same numbers
   * as balance(): seqs run 1, 2, 3... without gaps and entries are never changed, so the entry
   * count is the newest seq and the sum of amounts is the newest balanceAfter. Accounts without
   * entries are missing from the map.
   */
  async balances(accountIds: Types.ObjectId[]): Promise<Map<string, Balance>> {
    const rows = await LedgerEntryModel.aggregate<{ _id: Types.ObjectId; balanceMicros: number; seq: number }>([
      { $match: { accountId: { $in: accountIds } } },
      { $group: { _id: "$accountId", balanceMicros: { $sum: "$amountMicros" }, seq: { $sum: 1 } } },
    ]);
    return new Map(rows.map((r) => [String(r._id), { balanceMicros: r.balanceMicros, seq: r.seq }]));
  }

  async append(input: AppendInput): Promise<AppendResult> {
    if (!Number.isSafeInteger(input.amountMicros)) throw new RangeError("amountMicros must be an integer");
    return this.lock.run(String(input.accountId), () => this.appendUnlocked(input));
  }

  async findByReference(accountId: Types.ObjectId, reference: string): Promise<LedgerEntryRecord | null> {
    return LedgerEntryModel.findOne({ accountId, reference }).lean<LedgerEntryRecord>();
  }

  private async latest(accountId: Types.ObjectId): Promise<LedgerEntryRecord | null> {
    return LedgerEntryModel.findOne({ accountId }).sort({ seq: -1 }).lean<LedgerEntryRecord>();
  }

  private async appendUnlocked(input: AppendInput): Promise<AppendResult> {
    for (let attempt = 0; attempt < MAX_ATTEMPTS; attempt++) {
      const last = await this.latest(input.accountId);
      const balanceAfterMicros = (last?.balanceAfterMicros ?? 0) + input.amountMicros;
      if (input.floorMicros !== null && balanceAfterMicros < input.floorMicros) {
        const earlier = await this.findByReference(input.accountId, input.reference);
        if (earlier) return this.replay(earlier, input);
        throw new InsufficientBalanceError("The balance is too low for this debit");
      }
      try {
        const doc = await LedgerEntryModel.create({
          accountId: input.accountId,
          seq: (last?.seq ?? 0) + 1,
          kind: input.kind,
          amountMicros: input.amountMicros,
          balanceAfterMicros,
          reference: input.reference,
          callId: input.callId ?? null,
          note: input.note ?? null,
        });
        return { entry: doc.toObject() as LedgerEntryRecord, created: true };
      } catch (err) {
        if (!isDuplicateKeyError(err)) throw err;
        const earlier = await this.findByReference(input.accountId, input.reference);
        if (earlier) return this.replay(earlier, input);
        // Another writer took this seq: back off a little so retries spread out.
        await new Promise((r) => setTimeout(r, Math.random() * Math.min(20, 1 + attempt)));
      }
    }
    throw new LedgerContentionError();
  }

  private replay(earlier: LedgerEntryRecord, input: AppendInput): AppendResult {
    if (earlier.kind !== input.kind || earlier.amountMicros !== input.amountMicros) {
      throw new IdempotencyConflictError(input.reference);
    }
    return { entry: earlier, created: false };
  }
}

/** The process-wide ledger. Tests build more instances to act as separate processes. */
export const ledger = new LedgerService();

import type { Types } from "mongoose";
import { AppError, IdempotencyConflictError, InsufficientBalanceError } from "../infra/errors.js";
import { KeyedMutex } from "../infra/keyed-mutex.js";
import { isDuplicateKeyError } from "../infra/mongo-errors.js";
import { serializedWrite } from "../infra/write-gate.js";
import { LedgerEntryModel, LedgerHeadModel, ledgerEntryId, type LedgerEntry, type LedgerKind } from "../models/ledger-entry.model.js";

export type LedgerEntryRecord = LedgerEntry & { _id: string; createdAt: Date };

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
 * The append-only ledger. Every movement inserts entry seq+1 after the newest entry; the entry id
 * "<account>:<seq>" is unique, so exactly one concurrent writer wins and the others re-read and
 * retry. No update is ever relied on, so it is correct on FerretDB (whose updates are not atomic)
 * and on MongoDB alike, and every lookup on the hot path is by id (FerretDB scans otherwise).
 */
export class LedgerService {
  private readonly lock = new KeyedMutex();
  /** Newest entry this process has seen per account: where probing starts. */
  private readonly heads = new Map<string, Balance>();

  async balance(accountId: Types.ObjectId): Promise<Balance> {
    return this.head(accountId);
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

  /**
   * What an earlier append of this reference wrote (created false), or null when there was none.
   * IDEMPOTENCY_CONFLICT when that was another movement. Scans on FerretDB, like findByReference.
   */
  async replayOf(input: AppendInput): Promise<AppendResult | null> {
    const earlier = await this.findByReference(input.accountId, input.reference);
    return earlier ? this.replay(earlier, input) : null;
  }

  /** Scans on FerretDB: used only off the hot path (replays and conflicts). */
  async findByReference(accountId: Types.ObjectId, reference: string): Promise<LedgerEntryRecord | null> {
    return LedgerEntryModel.findOne({ accountId, reference }).lean<LedgerEntryRecord>();
  }

  /**
   * The balance after the newest entry. Starts from the newest entry this process knows (or the
   * stored head hint) and probes forward by id until an id is free: entries are immutable and
   * gapless, so what another process appended meanwhile is always found.
   */
  private async head(accountId: Types.ObjectId): Promise<Balance> {
    const key = String(accountId);
    let known = this.heads.get(key);
    if (!known) {
      const hint = (await LedgerHeadModel.findById(accountId).lean())?.seq ?? 0;
      const entry = hint > 0 ? await this.entryAt(accountId, hint) : null;
      // A hint without its entry should not happen; then fall back to the exact, slow query.
      const exact = hint > 0 && !entry ? await LedgerEntryModel.findOne({ accountId }).sort({ seq: -1 }).lean<LedgerEntryRecord>() : entry;
      known = { seq: exact?.seq ?? 0, balanceMicros: exact?.balanceAfterMicros ?? 0 };
    }
    for (;;) {
      const next = await this.entryAt(accountId, known.seq + 1);
      if (!next) break;
      known = { seq: next.seq, balanceMicros: next.balanceAfterMicros };
    }
    this.remember(accountId, known);
    return known;
  }

  private entryAt(accountId: Types.ObjectId, seq: number): Promise<LedgerEntryRecord | null> {
    return LedgerEntryModel.findById(ledgerEntryId(accountId, seq)).lean<LedgerEntryRecord>();
  }

  private remember(accountId: Types.ObjectId, head: Balance): void {
    const key = String(accountId);
    if ((this.heads.get(key)?.seq ?? -1) >= head.seq) return;
    if (this.heads.size >= 100_000) this.heads.clear();
    this.heads.set(key, head);
  }

  private async appendUnlocked(input: AppendInput): Promise<AppendResult> {
    for (let attempt = 0; attempt < MAX_ATTEMPTS; attempt++) {
      const last = await this.head(input.accountId);
      const seq = last.seq + 1;
      const balanceAfterMicros = last.balanceMicros + input.amountMicros;
      if (input.floorMicros !== null && balanceAfterMicros < input.floorMicros) {
        const earlier = await this.findByReference(input.accountId, input.reference);
        if (earlier) return this.replay(earlier, input);
        throw new InsufficientBalanceError("The balance is too low for this debit");
      }
      try {
        const doc = await serializedWrite(() =>
          LedgerEntryModel.create({
            _id: ledgerEntryId(input.accountId, seq),
            accountId: input.accountId,
            seq,
            kind: input.kind,
            amountMicros: input.amountMicros,
            balanceAfterMicros,
            reference: input.reference,
            callId: input.callId ?? null,
            note: input.note ?? null,
          }),
        );
        this.remember(input.accountId, { seq, balanceMicros: balanceAfterMicros });
        await serializedWrite(() => this.saveHead(input.accountId, seq));
        return { entry: doc.toObject(), created: true };
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

  /** Best effort: the head is a hint, so a lost or out-of-order write only costs probes later. */
  private async saveHead(accountId: Types.ObjectId, seq: number): Promise<void> {
    if (seq % 16 !== 1) return;
    await LedgerHeadModel.updateOne({ _id: accountId }, { $max: { seq } }, { upsert: true }).catch(() => undefined);
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

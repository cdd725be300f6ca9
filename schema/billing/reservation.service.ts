import { randomUUID } from "node:crypto";
import type { Redis, Result } from "ioredis";
import type { Types } from "mongoose";
import { AppError, ConcurrencyLimitError, DatabaseUnavailableError, InsufficientBalanceError } from "../infra/errors.js";
import {
  ledger as defaultLedger,
  type AppendInput,
  type AppendResult,
  type Balance,
  type LedgerService,
} from "../ledger/ledger.service.js";
import { defineScripts } from "../infra/redis-scripts.js";
import { withinBudget } from "../infra/time-budget.js";
import {
  CALL_AMOUNT_SCRIPT,
  DEBIT_HOLD_PREFIX,
  RELEASE_SCRIPT,
  RESERVE_SCRIPT,
  TOTAL_SCRIPT,
  TOUCH_SCRIPT,
} from "./reservation.scripts.js";

/** An account's reservation keys, in the order the scripts take them (reservation.scripts.ts). */
export type ReservationKeys = [amounts: string, expiries: string, releasedSeq: string, total: string, snapshot: string];

const SCRIPTS = {
  c247Reserve: { numberOfKeys: 5, lua: RESERVE_SCRIPT },
  c247ReservationRelease: { numberOfKeys: 5, lua: RELEASE_SCRIPT },
  c247ReservationTotal: { numberOfKeys: 5, lua: TOTAL_SCRIPT },
  c247ReservationTouch: { numberOfKeys: 5, lua: TOUCH_SCRIPT },
  c247ReservationCallAmount: { numberOfKeys: 5, lua: CALL_AMOUNT_SCRIPT },
};

declare module "ioredis" {
  interface RedisCommander<Context> {
    /** [status (1 held, 0 not enough money, -1 stale balance, -2 no young snapshot, -3 call limit), available micro-dollars]. */
    c247Reserve(
      ...args: [
        ...keys: ReservationKeys,
        callKey: string,
        amountMicros: number,
        ttlMs: number,
        balanceMicros: number | "",
        seq: number,
        requiredMicros: number,
        once: "1" | "0",
        maxAgeMs: number,
        maxConcurrentCalls: number | "",
      ]
    ): Result<[status: number, availableMicros: number], Context>;
    c247ReservationRelease(...args: [...keys: ReservationKeys, callKey: string, chargeSeq: number]): Result<number, Context>;
    /** Micro-dollars all live reservations of the account hold. */
    c247ReservationTotal(...keys: ReservationKeys): Result<number, Context>;
    /** 1, or 0 when the call holds nothing. */
    c247ReservationTouch(...args: [...keys: ReservationKeys, callKey: string, ttlMs: number]): Result<number, Context>;
    /** Micro-dollars the call holds. */
    c247ReservationCallAmount(...args: [...keys: ReservationKeys, callKey: string]): Result<number, Context>;
  }
}

export interface ReserveInput {
  accountId: Types.ObjectId;
  /** The call's key (its Twilio CallSid): a call holds one reservation however often it is admitted. */
  callKey: string;
  /** True for admission: when the call already holds a reservation, keep it and add nothing. */
  once: boolean;
  /** Micro-dollars added to the call's reservation. */
  amountMicros: number;
  /** The available balance (before this reservation) must be at least this much. */
  requiredMicros: number;
  /** Milliseconds until the reservation lapses unless extended (a dead worker frees it). */
  ttlMs: number;
  /**
   * Admission only (with once): refuse with CONCURRENCY_LIMIT, holding nothing, when the account
   * already has this many call holds and this call is not one of them. Checked in the same script.
   */
  maxConcurrentCalls?: number;
}

export interface ReserveResult {
  /** Available balance before this reservation, in micro-dollars. */
  availableMicros: number;
}

/** The account's reservation keys. */
export const reservationKeys = (accountId: Types.ObjectId | string): ReservationKeys => {
  // One hash tag per account keeps the keys in one slot on Redis Cluster.
  const tag = `{acct:${String(accountId)}}`;
  return [`c247:resv:${tag}:amt`, `c247:resv:${tag}:exp`, `c247:resv:${tag}:seq`, `c247:resv:${tag}:total`, `c247:resv:${tag}:snap`];
};

export interface ReservationOptions {
  /** Milliseconds a ledger read may take before admission goes on with the snapshot. */
  balanceReadBudgetMs: number;
  /**
   * Milliseconds a snapshot is used without reading the ledger at all. Older snapshots are used
   * only while the ledger does not answer: that bounds what a movement the snapshot cannot know
   * of (a debit whose process died before telling Redis) could let through.
   */
  snapshotFreshMs: number;
}

const DEFAULT_OPTIONS: ReservationOptions = { balanceReadBudgetMs: 300, snapshotFreshMs: 30_000 };
/**
 * Milliseconds a debit's own hold lasts unless extended; it is extended while the ledger append
 * runs. If the process dies in between, the hold lapses, and the lapse drops the snapshot, which
 * may then be older than the debit.
 */
const DEBIT_HOLD_TTL_MS = 60_000;

/** A manual debit: an amount taken off, in positive micro-dollars. */
export type DebitInput = Pick<AppendInput, "accountId" | "amountMicros" | "reference" | "note">;
/** Any age: the snapshot is all there is while the database is away. */
const ANY_AGE_MS = Number.MAX_SAFE_INTEGER;
type Status = 1 | 0 | -1 | -2 | -3;

/**
 * Money held for live calls. Available balance = ledger balance minus every live reservation.
 * Reservations live in Redis (atomic scripts), expire if nobody extends them, and are released
 * only after the call's charge is in the ledger.
 */
export class ReservationService {
  private readonly options: ReservationOptions;

  constructor(
    private readonly redis: Redis,
    private readonly ledger: LedgerService = defaultLedger,
    options: Partial<ReservationOptions> = {},
  ) {
    this.options = { ...DEFAULT_OPTIONS, ...options };
    defineScripts(redis, SCRIPTS);
  }

  /** Milliseconds old a balance snapshot may be and still be used without reading the ledger. */
  get snapshotFreshMs(): number {
    return this.options.snapshotFreshMs;
  }

  /**
   * Holds money for a call. The balance comes from the snapshot in Redis while it is young; else
   * from the ledger, within a time budget; when the ledger does not answer in time, from the
   * snapshot of any age. A snapshot never counts once it is older than a released charge or a
   * debit (the stale-seq rule), and money it does not show (a credit since) is read from the ledger.
   * With maxConcurrentCalls, a new call at the account's limit is CONCURRENCY_LIMIT, holding nothing.
   */
  async reserve(input: ReserveInput): Promise<ReserveResult> {
    if (input.maxConcurrentCalls !== undefined && !input.once) throw new RangeError("maxConcurrentCalls applies to admissions (once) only");
    const snapshot = await this.run(input, null, this.options.snapshotFreshMs);
    if (snapshot.status === 1) return { availableMicros: snapshot.available };
    // Refused before the balance is looked at: no ledger read for a call over the limit.
    if (snapshot.status === -3) throw new ConcurrencyLimitError(input.maxConcurrentCalls ?? 0);
    for (let attempt = 0; attempt < 5; attempt++) {
      let read: Balance;
      try {
        read = await withinBudget(this.ledger.balance(input.accountId), this.options.balanceReadBudgetMs);
      } catch (err) {
        if (!(err instanceof DatabaseUnavailableError)) throw err;
        return this.fromAnySnapshot(input, err);
      }
      const { status, available } = await this.run(input, read, 0);
      if (status === 1) return { availableMicros: available };
      if (status === 0) throw new InsufficientBalanceError();
      if (status === -3) throw new ConcurrencyLimitError(input.maxConcurrentCalls ?? 0);
      // status -1: a charge landed and released its hold after we read the balance; read again.
    }
    throw new AppError("BALANCE_BUSY", "The balance changed while reserving; try again", {
      status: 503,
      retryable: true,
    });
  }

  /**
   * Takes money off that live calls have not claimed: refused (INSUFFICIENT_BALANCE, nothing
   * written) when the available balance, ledger balance minus every live hold, is below the
   * amount. The debit first holds its amount as a call would, in the same script, so an admission
   * at the same moment either sees the hold or took its own hold first; then the entry is appended
   * (the ledger's floor of zero still applies); then the hold is released with the entry's seq,
   * so balances and snapshots read before the debit stop counting (the stale-seq rule).
   * Idempotent by reference, as ledger appends are.
   */
  async debit(input: DebitInput): Promise<AppendResult> {
    if (!Number.isSafeInteger(input.amountMicros) || input.amountMicros <= 0)
      throw new RangeError("amountMicros must be a positive integer");
    const entry: AppendInput = { ...input, kind: "debit", amountMicros: -input.amountMicros, floorMicros: 0 };
    const holdKey = `${DEBIT_HOLD_PREFIX}${randomUUID()}`;
    try {
      await this.reserve({
        accountId: input.accountId,
        callKey: holdKey,
        once: false,
        amountMicros: input.amountMicros,
        requiredMicros: input.amountMicros,
        ttlMs: DEBIT_HOLD_TTL_MS,
      });
    } catch (err) {
      if (!(err instanceof InsufficientBalanceError)) throw err;
      // A retry of a debit already written finds less available now: it gets the earlier entry.
      const earlier = await this.ledger.replayOf(entry);
      if (earlier) return earlier;
      throw new InsufficientBalanceError("The available balance (the balance minus what live calls hold) is too low for this debit");
    }
    let written: AppendResult;
    // A slow append (a stalled database) keeps its hold: a lapse would free the money meanwhile.
    const keeper = setInterval(
      () => void this.touch(input.accountId, holdKey, DEBIT_HOLD_TTL_MS).catch(() => undefined),
      DEBIT_HOLD_TTL_MS / 3,
    ).unref();
    try {
      written = await this.ledger.append(entry);
    } catch (err) {
      await this.release(input.accountId, holdKey).catch(() => undefined);
      throw err;
    } finally {
      clearInterval(keeper);
    }
    // Should this fail, the hold lapses within DEBIT_HOLD_TTL_MS and the lapse drops the snapshot:
    // until then the money counts twice (held and debited), never not at all.
    await this.release(input.accountId, holdKey, written.entry.seq).catch(() => undefined);
    return written;
  }

  private async fromAnySnapshot(input: ReserveInput, cause: DatabaseUnavailableError): Promise<ReserveResult> {
    const { status, available } = await this.run(input, null, ANY_AGE_MS);
    if (status === 1) return { availableMicros: available };
    if (status === 0) throw new InsufficientBalanceError();
    if (status === -3) throw new ConcurrencyLimitError(input.maxConcurrentCalls ?? 0);
    // No snapshot, or one that a released charge made stale: nothing safe to admit on.
    throw cause;
  }

  private async run(input: ReserveInput, read: Balance | null, maxAgeMs: number): Promise<{ status: Status; available: number }> {
    const [status, available] = (await this.redis.c247Reserve(
      ...reservationKeys(input.accountId),
      input.callKey,
      input.amountMicros,
      input.ttlMs,
      read ? read.balanceMicros : "",
      read ? read.seq : 0,
      input.requiredMicros,
      input.once ? "1" : "0",
      maxAgeMs,
      input.maxConcurrentCalls ?? "",
    )) as [Status, number];
    return { status, available };
  }

  /**
   * Keeps a live call's reservation from lapsing for another `ttlMs`, without adding money.
   * Returns false when the call holds no reservation any more.
   */
  async touch(accountId: Types.ObjectId, callKey: string, ttlMs: number): Promise<boolean> {
    return (await this.redis.c247ReservationTouch(...reservationKeys(accountId), callKey, ttlMs)) === 1;
  }

  /** Micro-dollars this call holds right now (0 when none or lapsed). */
  async heldByCall(accountId: Types.ObjectId, callKey: string): Promise<number> {
    return this.redis.c247ReservationCallAmount(...reservationKeys(accountId), callKey);
  }

  /** Drops the call's reservation; pass the seq of its ledger charge once it is written. */
  async release(accountId: Types.ObjectId, callKey: string, chargeSeq = 0): Promise<void> {
    await this.redis.c247ReservationRelease(...reservationKeys(accountId), callKey, chargeSeq);
  }

  async reservedMicros(accountId: Types.ObjectId): Promise<number> {
    return this.redis.c247ReservationTotal(...reservationKeys(accountId));
  }

  /** Ledger balance minus live reservations. */
  async availableMicros(accountId: Types.ObjectId): Promise<number> {
    const [{ balanceMicros }, reserved] = await Promise.all([this.ledger.balance(accountId), this.reservedMicros(accountId)]);
    return balanceMicros - reserved;
  }
}

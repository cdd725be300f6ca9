import type { Redis } from "ioredis";
import type { Types } from "mongoose";
import { AppError, InsufficientBalanceError } from "../lib/errors.js";
import { ledger as defaultLedger, type LedgerService } from "../ledger/ledger.service.js";
import { RedisScript } from "../lib/redis-script.js";
import {
  CALL_AMOUNT_SCRIPT,
  RELEASE_SCRIPT,
  RESERVE_SCRIPT,
  TOTAL_SCRIPT,
  TOUCH_SCRIPT,
} from "./reservation.scripts.js";

const reserveScript = new RedisScript(RESERVE_SCRIPT, 4);
const releaseScript = new RedisScript(RELEASE_SCRIPT, 4);
const totalScript = new RedisScript(TOTAL_SCRIPT, 4);
const touchScript = new RedisScript(TOUCH_SCRIPT, 4);
const callAmountScript = new RedisScript(CALL_AMOUNT_SCRIPT, 4);

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
}

export interface ReserveResult {
  /** Available balance before this reservation, in micro-dollars. */
  availableMicros: number;
}

const keys = (accountId: Types.ObjectId): string[] => {
  // One hash tag per account keeps the three keys in one slot on Redis Cluster.
  const tag = `{acct:${String(accountId)}}`;
  return [`c247:resv:${tag}:amt`, `c247:resv:${tag}:exp`, `c247:resv:${tag}:seq`, `c247:resv:${tag}:total`];
};

/**
 * Money held for live calls. Available balance = ledger balance minus every live reservation.
 * Reservations live in Redis (atomic scripts), expire if nobody extends them, and are released
 * only after the call's charge is in the ledger.
 */
export class ReservationService {
  constructor(
    private readonly redis: Redis,
    private readonly ledger: LedgerService = defaultLedger,
  ) {}

  async reserve(input: ReserveInput): Promise<ReserveResult> {
    for (let attempt = 0; attempt < 5; attempt++) {
      const { balanceMicros, seq } = await this.ledger.balance(input.accountId);
      const [status, available] = (await reserveScript.run(this.redis, keys(input.accountId), [
        input.callKey,
        input.amountMicros,
        input.ttlMs,
        balanceMicros,
        seq,
        input.requiredMicros,
        input.once ? "1" : "0",
      ])) as [number, number];
      if (status === 1) return { availableMicros: available };
      if (status === 0) throw new InsufficientBalanceError();
      // status -1: a charge landed and released its hold after we read the balance; read again.
    }
    throw new AppError("BALANCE_BUSY", "The balance changed while reserving; try again", {
      status: 503,
      retryable: true,
    });
  }

  /**
   * Keeps a live call's reservation from lapsing for another `ttlMs`, without adding money.
   * Returns false when the call holds no reservation any more.
   */
  async touch(accountId: Types.ObjectId, callKey: string, ttlMs: number): Promise<boolean> {
    return Number(await touchScript.run(this.redis, keys(accountId), [callKey, ttlMs])) === 1;
  }

  /** Micro-dollars this call holds right now (0 when none or lapsed). */
  async heldByCall(accountId: Types.ObjectId, callKey: string): Promise<number> {
    return Number(await callAmountScript.run(this.redis, keys(accountId), [callKey]));
  }

  /** Drops the call's reservation; pass the seq of its ledger charge once it is written. */
  async release(accountId: Types.ObjectId, callKey: string, chargeSeq = 0): Promise<void> {
    await releaseScript.run(this.redis, keys(accountId), [callKey, chargeSeq]);
  }

  async reservedMicros(accountId: Types.ObjectId): Promise<number> {
    return Number(await totalScript.run(this.redis, keys(accountId), []));
  }

  /** Ledger balance minus live reservations. */
  async availableMicros(accountId: Types.ObjectId): Promise<number> {
    const [{ balanceMicros }, reserved] = await Promise.all([
      this.ledger.balance(accountId),
      this.reservedMicros(accountId),
    ]);
    return balanceMicros - reserved;
  }
}

import type { Types } from "mongoose";
import type { CallAdmissions } from "../../schema/billing/call-admissions.js";
import type { OpenCalls } from "../../schema/billing/open-calls.js";
import type { ReservationService } from "../../schema/billing/reservation.service.js";
import { ledger as defaultLedger, type LedgerEntryRecord, type LedgerService } from "../../schema/ledger/ledger.service.js";
import { CallNotStoredError, IdempotencyConflictError } from "../../schema/infra/errors.js";
import type { Logger } from "../../schema/infra/logger.js";
import { formatUsd } from "../../schema/billing/money.js";
import { serializedWrite } from "../../schema/infra/write-gate.js";
import type { CallCloseOutJob } from "../../schema/infra/queues.js";
import { DEFAULT_RATE_PER_MINUTE_MICROS, billedSeconds, costMicros } from "../../schema/billing/rating.js";
import { AccountModel } from "../../schema/models/account.model.js";
import { CallModel, type Call } from "../../schema/models/call.model.js";

type StoredCall = Call & { _id: Types.ObjectId };

export interface CloseOutResult {
  outcome: "closed";
  billedSeconds: number;
  costMicros: number;
  /** Seq of the call's charge in the ledger, null when nothing was charged. */
  chargeSeq: number | null;
}

/**
 * Seconds behind the charge that stands. Normally what this run computed; when an earlier run
 * charged other figures (the rate changed since), what that run recorded, else an estimate.
 */
function chargedSeconds(call: StoredCall, charged: number, seconds: number, cost: number, rate: number): number {
  if (charged === cost) return seconds;
  if (call.costMicros === charged && call.billedSeconds > 0) return call.billedSeconds;
  return rate > 0 ? Math.round((charged * 60) / rate) : seconds;
}

export interface CloseOutDeps {
  ledger?: LedgerService;
  admissions?: CallAdmissions;
}

/** The ledger reference of a call's one charge: unique per account, so it is written once. */
export const chargeReference = (callId: string): string => `call:${callId}`;

/**
 * Closes out a call's billing. Every step is idempotent, so a retry, a duplicate or a run killed
 * half-way converges on the same state: (1) the charge is appended under the call's unique ledger
 * reference, the single source of truth; (2) the call record takes its end and its billed
 * seconds and cost from that charge; (3) the call's reservation is released, after the charge,
 * and the sweeper stops watching the call.
 */
export class CloseOutService {
  constructor(
    private readonly reservations: ReservationService,
    private readonly openCalls: OpenCalls,
    private readonly log: Logger,
    opts: CloseOutDeps = {},
  ) {
    this.ledger = opts.ledger ?? defaultLedger;
    this.admissions = opts.admissions ?? null;
  }

  private readonly ledger: LedgerService;
  /** Writes a call admitted while the database was away from its Redis record. */
  private readonly admissions: CallAdmissions | null;

  async closeOut(job: CallCloseOutJob): Promise<CloseOutResult> {
    let call = await CallModel.findById(job.callId).lean<StoredCall>();
    // Admitted while the database was away: write the call from its admission record first.
    // With no record either, the job is retried, and after its attempts the reconciler retries
    // it until the call exists: never dropped.
    if (!call && this.admissions && (await this.admissions.persist(job.callId)))
      call = await CallModel.findById(job.callId).lean<StoredCall>();
    if (!call) throw new CallNotStoredError(job.callId);
    const rate = await this.rateOf(call, job);
    // A call that never connected costs nothing, whatever a trigger reported. The session knows
    // when it connected even if its write of that to the call record never landed.
    const answeredAt = call.answeredAt ?? (job.answeredAt ? new Date(job.answeredAt) : null);
    const seconds = answeredAt ? billedSeconds(job.billableMs ?? job.connectedMs) : 0;
    const cost = costMicros(seconds, rate);

    const charge = await this.charge({ ...call, answeredAt }, seconds, cost, rate);
    const billed = charge
      ? { billedSeconds: chargedSeconds(call, -charge.amountMicros, seconds, cost, rate), costMicros: -charge.amountMicros }
      : { billedSeconds: 0, costMicros: 0 };
    // The first close-out decides how the call ended; a later one only re-derives the bill.
    const end = call.endedAt ? {} : { status: job.status, endedAt: new Date(job.endedAt), endedReason: job.endedReason };
    const start = call.answeredAt || !answeredAt ? {} : { answeredAt };
    const record = job.record ? { transcript: job.record.transcript, usage: job.record.usage } : {};
    await serializedWrite(() =>
      CallModel.updateOne({ _id: call._id }, { $set: { ...start, ...end, ...record, ...billed } }, { runValidators: true }),
    );
    await this.reservations.release(call.accountId, call.callSid, charge?.seq ?? 0);
    await this.openCalls.forget(job.callId);
    this.log.info(
      { callId: job.callId, source: job.source, reason: job.endedReason, connectedMs: job.connectedMs, ...billed },
      "call closed out",
    );
    return { outcome: "closed", ...billed, chargeSeq: charge?.seq ?? null };
  }

  /**
   * The rate fixed at admission: carried by the job, else stored on the call. Only calls admitted
   * before rates were fixed fall back to the account's current rate.
   */
  private async rateOf(call: StoredCall, job: CallCloseOutJob): Promise<number> {
    if (job.ratePerMinuteMicros != null) return job.ratePerMinuteMicros;
    if (call.ratePerMinuteMicros != null) return call.ratePerMinuteMicros;
    const account = await AccountModel.findById(call.accountId, { ratePerMinuteMicros: 1 }).lean();
    return account?.ratePerMinuteMicros ?? DEFAULT_RATE_PER_MINUTE_MICROS;
  }

  private async charge(call: StoredCall, seconds: number, cost: number, rate: number): Promise<LedgerEntryRecord | null> {
    const reference = chargeReference(String(call._id));
    // Only answered calls are ever charged (answeredAt is never unset), so an unanswered call
    // needs no ledger lookup, which would scan on FerretDB.
    if (cost === 0) return call.answeredAt ? this.ledger.findByReference(call.accountId, reference) : null;
    try {
      const { entry } = await this.ledger.append({
        accountId: call.accountId,
        kind: "call_charge",
        reference,
        amountMicros: -cost,
        floorMicros: null,
        callId: call._id,
        note: `${seconds} s at ${formatUsd(rate)}/min`,
      });
      return entry;
    } catch (err) {
      if (!(err instanceof IdempotencyConflictError)) throw err;
      // Charged before with other figures (the rate changed between attempts): that charge stands.
      this.log.warn({ callId: String(call._id) }, "call already charged with different figures; keeping the first charge");
      return this.ledger.findByReference(call.accountId, reference);
    }
  }
}

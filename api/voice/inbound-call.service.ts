import type { Types } from "mongoose";
import { agentSnapshot, type AdmissionRecord, type CallAdmissions } from "../../schema/billing/call-admissions.js";
import type { OpenCalls } from "../../schema/billing/open-calls.js";
import type { ReservationService } from "../../schema/billing/reservation.service.js";
import { effectiveLimits } from "../../schema/models/account-limits.js";
import { AccountSuspendedError, AgentNotFoundError, ConcurrencyLimitError, InsufficientBalanceError } from "../../schema/infra/errors.js";
import type { Logger } from "../../schema/infra/logger.js";
import { DEFAULT_RATE_PER_MINUTE_MICROS, costMicros } from "../../schema/billing/rating.js";
import { signStreamToken } from "../../schema/infra/stream-token.js";
import { callIdForSid } from "../../schema/models/call.model.js";
import type { Principal } from "../auth/principal.js";
import type { ResolvedAgent } from "./agent-resolver.js";
import type { InboundCallParams } from "./inbound-call.params.js";
import type { RoutingCache } from "./routing-cache.js";
import { streamTwiml } from "./twiml.js";

export interface InboundCallConfig {
  mediaPublicUrl: string;
  streamTokenSecret: string;
  streamTokenTtlSeconds: number;
  minBalanceSeconds: number;
}

/** Who sent the webhook: Twilio (signature checked) or a holder of an API key. */
export type WebhookCaller = { kind: "twilio" } | { kind: "key"; principal: Principal };

export interface InboundCallResult {
  twiml: string;
  callId: string;
  /** False when this CallSid was seen before (a Twilio retry). */
  created: boolean;
}

/**
 * Admits an inbound call: picks the agent, holds its first minute (within the account's limit of
 * concurrent calls: over it, CONCURRENCY_LIMIT and nothing held), claims the CallSid and records
 * the admission in Redis, answers TwiML. A number whose routing is cached costs one Redis round
 * trip (admitQuickly); anything that needs a look at the database takes the general path. The
 * Call document is written after the answer, by
 * CallAdmissions (retried by the AdmissionDrain): the webhook never waits for a database write,
 * and with the routing cached and a balance snapshot in Redis it needs no database at all.
 */
export class InboundCallService {
  constructor(
    private readonly config: InboundCallConfig,
    private readonly routing: RoutingCache,
    private readonly reservations: ReservationService,
    private readonly admissions: CallAdmissions,
    private readonly openCalls: OpenCalls,
    private readonly logger: Logger,
  ) {}

  async admit(params: InboundCallParams, caller: WebhookCaller): Promise<InboundCallResult> {
    const scope = caller.kind === "key" && caller.principal.kind === "account" ? caller.principal.accountId : null;
    const callId = String(callIdForSid(params.callSid));
    return (await this.admitQuickly(params, scope, callId)) ?? this.admitGenerally(params, scope, callId);
  }

  /**
   * The fast path, for a number whose routing this process has cached: one Redis round trip
   * (CallAdmissions.admitHolding) checks for a retry and that the routing is still current, holds
   * the first minute on the balance snapshot, and claims the call. Null when that cannot decide.
   */
  private async admitQuickly(params: InboundCallParams, scope: Types.ObjectId | null, callId: string): Promise<InboundCallResult | null> {
    const cached = this.routing.peek(params, scope);
    if (!cached || cached.value.account.status !== "active") return null;
    const record = this.recordFor(params, callId, cached.value);
    const hold = { ...this.firstMinute(cached.value), snapshotMaxAgeMs: this.reservations.snapshotFreshMs };
    const quick = await this.admissions.admitHolding(record, hold, cached.version);
    if (quick.outcome === "concurrency-limit") throw new ConcurrencyLimitError(hold.maxConcurrentCalls);
    if (quick.outcome === "earlier") {
      this.assertSameCall(quick.record, params.callSid, scope);
      // The script watched the call again.
      return this.answer(quick.record, false);
    }
    return quick.outcome === "admitted" ? this.admitted(record) : null;
  }

  /** Every other case: routing read (cache or database), the hold (snapshot or ledger), then the claim. */
  private async admitGenerally(params: InboundCallParams, scope: Types.ObjectId | null, callId: string): Promise<InboundCallResult> {
    // A retry is answered from its admission, even when routing changed or cannot be read, and
    // adds no hold: the call it repeats may be over, its hold released.
    // Both reads at once (one Redis round trip); routing is not needed for a retry.
    const routing = this.routing.resolve(params, scope);
    routing.catch(() => undefined);
    const earlier = await this.earlier(callId, params.callSid, scope);
    if (earlier) return this.rewatched(earlier);
    const resolved: ResolvedAgent = await routing;
    if (resolved.account.status !== "active") throw new AccountSuspendedError();
    const record = this.recordFor(params, callId, resolved);
    try {
      // Keyed by CallSid with once: a retry or a concurrent delivery shares the one hold. The
      // concurrent-call limit is checked in the same script (the account's live call holds), so
      // it costs no extra round trip and a burst cannot pass it; over it nothing is held.
      await this.reservations.reserve({
        accountId: resolved.account._id,
        callKey: params.callSid,
        once: true,
        ...this.firstMinute(resolved),
      });
    } catch (err) {
      const refused = err instanceof InsufficientBalanceError || err instanceof ConcurrencyLimitError;
      const raced = refused ? await this.earlier(callId, params.callSid, scope) : null;
      if (raced) return this.rewatched(raced);
      throw err;
    }

    // The sweeper watches the call until it is closed out (NX: a retry keeps its place), so a
    // call whose stream never comes cannot stay open and unbilled; sent with the claim.
    const [{ record: standing, created }] = await Promise.all([this.admissions.admit(record), this.openCalls.watch(callId)]);
    if (!created) {
      // A concurrent delivery won the claim: answer as it did.
      this.assertInScope(standing, scope);
      return this.answer(standing, false);
    }
    return this.admitted(record);
  }

  private recordFor(params: InboundCallParams, callId: string, { agent, account }: ResolvedAgent): AdmissionRecord {
    return {
      callId,
      callSid: params.callSid,
      accountId: String(account._id),
      agentId: String(agent._id),
      from: params.from,
      to: params.to,
      forwardedFrom: params.forwardedFrom,
      externalCallId: params.externalCallId,
      twilioAccountSid: params.twilioAccountSid,
      // Fixed here for the whole call: a later rate change prices only later calls.
      ratePerMinuteMicros: account.ratePerMinuteMicros ?? DEFAULT_RATE_PER_MINUTE_MICROS,
      startedAt: new Date().toISOString(),
      agent: agentSnapshot(agent),
    };
  }

  /**
   * The first minute's hold: what admission requires available, and holds until the stream takes
   * over, at the account's rate and within its limit of concurrent calls.
   */
  private firstMinute({ account }: ResolvedAgent): {
    amountMicros: number;
    requiredMicros: number;
    ttlMs: number;
    maxConcurrentCalls: number;
  } {
    const amount = costMicros(this.config.minBalanceSeconds, account.ratePerMinuteMicros ?? DEFAULT_RATE_PER_MINUTE_MICROS);
    return {
      amountMicros: amount,
      requiredMicros: amount,
      ttlMs: (this.config.streamTokenTtlSeconds + 60) * 1000,
      maxConcurrentCalls: effectiveLimits(account.limits).maxConcurrentCalls,
    };
  }

  /** This delivery created the admission: the Call document is written after the answer. */
  private admitted(record: AdmissionRecord): InboundCallResult {
    const { callId } = record;
    // Off the critical path; a failure leaves the call pending for the drain.
    this.admissions
      .persist(callId, record)
      .catch((err: unknown) => this.logger.warn({ err, callId }, "call document not written yet; will retry"));
    this.logger.info({ callId, agentId: record.agentId, accountId: record.accountId }, "call admitted");
    return this.answer(record, true);
  }

  /** A retry watches again, in case the first delivery's watch was lost (NX: no harm otherwise). */
  private async rewatched(record: AdmissionRecord): Promise<InboundCallResult> {
    await this.openCalls.watch(record.callId);
    return this.answer(record, false);
  }

  /** The admission of an earlier delivery of this CallSid, or null. */
  private async earlier(callId: string, callSid: string, scope: Types.ObjectId | null): Promise<AdmissionRecord | null> {
    const record = await this.admissions.get(callId);
    if (!record) return null;
    this.assertSameCall(record, callSid, scope);
    return record;
  }

  private assertSameCall(record: AdmissionRecord, callSid: string, scope: Types.ObjectId | null): void {
    if (record.callSid !== callSid) throw new Error("call id collision");
    this.assertInScope(record, scope);
  }

  private assertInScope(record: AdmissionRecord, scope: Types.ObjectId | null): void {
    if (scope && record.accountId !== String(scope)) throw new AgentNotFoundError("Call belongs to another account");
  }

  /** Same admission, same TwiML: the token's expiry derives from the admission time. */
  private answer(record: AdmissionRecord, created: boolean): InboundCallResult {
    const { callId, accountId, agentId } = record;
    const expiresAtSec = Math.floor(Date.parse(record.startedAt) / 1000) + this.config.streamTokenTtlSeconds;
    const token = signStreamToken(this.config.streamTokenSecret, {
      callId,
      callSid: record.callSid,
      accountId,
      agentId,
      ratePerMinuteMicros: record.ratePerMinuteMicros,
      expiresAtSec,
    });
    const twiml = streamTwiml({
      mediaPublicUrl: this.config.mediaPublicUrl,
      callId,
      agentId,
      externalCallId: record.externalCallId,
      token,
    });
    return { twiml, callId, created };
  }
}

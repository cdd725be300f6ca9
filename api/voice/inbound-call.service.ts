import type { Types } from "mongoose";
import { agentSnapshot, type AdmissionRecord, type CallAdmissions } from "../../schema/billing/call-admissions.js";
import type { OpenCalls } from "../../schema/billing/open-calls.js";
import type { ReservationService } from "../../schema/billing/reservation.service.js";
import { effectiveLimits } from "../../schema/accounts/account-limits.js";
import { AccountSuspendedError, AgentNotFoundError, ConcurrencyLimitError, InsufficientBalanceError } from "../../schema/lib/errors.js";
import type { Logger } from "../../schema/lib/logger.js";
import { DEFAULT_RATE_PER_MINUTE_MICROS, costMicros } from "../../schema/lib/rating.js";
import { signStreamToken } from "../../schema/lib/stream-token.js";
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
 * the admission in Redis, answers TwiML. The Call document is written after the answer, by
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
    // A retry is answered from its admission, even when routing changed or cannot be read, and
    // adds no hold: the call it repeats may be over, its hold released.
    // Both reads at once (one Redis round trip); routing is not needed for a retry.
    const routing = this.routing.resolve(params, scope);
    routing.catch(() => undefined);
    const earlier = await this.earlier(callId, params.callSid, scope);
    if (earlier) return this.answer(earlier, false);
    const resolved: ResolvedAgent = await routing;
    const { agent, account } = resolved;
    if (account.status !== "active") throw new AccountSuspendedError();

    const rate = account.ratePerMinuteMicros ?? DEFAULT_RATE_PER_MINUTE_MICROS;
    const firstMinute = costMicros(this.config.minBalanceSeconds, rate);
    try {
      // Keyed by CallSid with once: a retry or a concurrent delivery shares the one hold. The
      // concurrent-call limit is checked in the same script (the account's live call holds), so
      // it costs no extra round trip and a burst cannot pass it; over it nothing is held.
      await this.reservations.reserve({
        accountId: account._id,
        callKey: params.callSid,
        once: true,
        amountMicros: firstMinute,
        requiredMicros: firstMinute,
        ttlMs: (this.config.streamTokenTtlSeconds + 60) * 1000,
        maxConcurrentCalls: effectiveLimits(account.limits).maxConcurrentCalls,
      });
    } catch (err) {
      const refused = err instanceof InsufficientBalanceError || err instanceof ConcurrencyLimitError;
      const raced = refused ? await this.earlier(callId, params.callSid, scope) : null;
      if (raced) return this.answer(raced, false);
      throw err;
    }

    // The sweeper watches the call until it is closed out (NX: a retry keeps its place), so a
    // call whose stream never comes cannot stay open and unbilled; sent with the claim.
    const [{ record, created }] = await Promise.all([this.admissions.admit({
      callId,
      callSid: params.callSid,
      accountId: String(account._id),
      agentId: String(agent._id),
      from: params.from,
      to: params.to,
      forwardedFrom: params.forwardedFrom,
      externalCallId: params.externalCallId,
      twilioAccountSid: params.twilioAccountSid,
      ratePerMinuteMicros: rate,
      startedAt: new Date().toISOString(),
      agent: agentSnapshot(agent),
    }), this.openCalls.watch(callId)]);
    if (!created) {
      // A concurrent delivery won the claim: answer as it did.
      this.assertInScope(record, scope);
      return this.answer(record, false);
    }
    // Off the critical path; a failure leaves the call pending for the drain.
    this.admissions.persist(callId, record).catch((err: unknown) => this.logger.warn({ err, callId }, "call document not written yet; will retry"));
    this.logger.info({ callId, agentId: record.agentId, accountId: record.accountId }, "call admitted");
    return this.answer(record, true);
  }

  /** The admission of an earlier delivery of this CallSid, or null. */
  private async earlier(callId: string, callSid: string, scope: Types.ObjectId | null): Promise<AdmissionRecord | null> {
    const record = await this.admissions.get(callId);
    if (!record) return null;
    if (record.callSid !== callSid) throw new Error("call id collision");
    this.assertInScope(record, scope);
    return record;
  }

  private assertInScope(record: AdmissionRecord, scope: Types.ObjectId | null): void {
    if (scope && record.accountId !== String(scope)) throw new AgentNotFoundError("Call belongs to another account");
  }

  /** Same admission, same TwiML: the token's expiry derives from the admission time. */
  private async answer(record: AdmissionRecord, created: boolean): Promise<InboundCallResult> {
    const { callId, accountId, agentId } = record;
    // A retry watches again, in case the first delivery's watch was lost (NX: no harm otherwise).
    if (!created) await this.openCalls.watch(callId);
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

import type { Queue } from "bullmq";
import { Types } from "mongoose";
import type { ReservationService } from "../../schema/billing/reservation.service.js";
import { AccountSuspendedError, AgentNotFoundError, InsufficientBalanceError } from "../../schema/lib/errors.js";
import type { Logger } from "../../schema/lib/logger.js";
import { isDuplicateKeyError } from "../../schema/lib/mongo-errors.js";
import { CALL_CREATED_JOB, callJobId, type CallCreatedJob } from "../../schema/lib/queues.js";
import { costMicros } from "../../schema/lib/rating.js";
import { signStreamToken } from "../../schema/lib/stream-token.js";
import { InsertBatcher } from "../../schema/lib/insert-batcher.js";
import { CallModel, callIdForSid, type Call } from "../../schema/models/call.model.js";
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

type StoredCall = Call & { _id: Types.ObjectId };

export interface InboundCallResult {
  twiml: string;
  callId: string;
  /** False when this CallSid was seen before (a Twilio retry). */
  created: boolean;
}

/** Admits an inbound call: picks the agent, holds its first minute, records it, answers TwiML. */
export class InboundCallService {
  private readonly calls = new InsertBatcher<InstanceType<typeof CallModel>>(CallModel);

  constructor(
    private readonly config: InboundCallConfig,
    private readonly routing: RoutingCache,
    private readonly reservations: ReservationService,
    private readonly callEvents: Queue,
    private readonly logger: Logger,
  ) {}

  async admit(params: InboundCallParams, caller: WebhookCaller): Promise<InboundCallResult> {
    const scope = caller.kind === "key" && caller.principal.kind === "account" ? caller.principal.accountId : null;
    // Insert first, look up only on conflict: a first delivery (the common case) costs no read
    // of the calls collection; a retry is answered from the stored call.
    let resolved: ResolvedAgent;
    try {
      resolved = await this.routing.resolve(params, scope);
    } catch (err) {
      const existing = await this.findBySid(params.callSid, scope);
      if (existing) return this.answer(existing, false);
      throw err;
    }
    const { agent, account } = resolved;
    if (account.status !== "active") throw new AccountSuspendedError();

    const callId = callIdForSid(params.callSid);
    const firstMinute = costMicros(this.config.minBalanceSeconds, account.ratePerMinuteMicros);
    try {
      await this.reservations.reserve({
        accountId: account._id,
        callKey: params.callSid,
        once: true,
        amountMicros: firstMinute,
        requiredMicros: firstMinute,
        ttlMs: (this.config.streamTokenTtlSeconds + 60) * 1000,
      });
    } catch (err) {
      const raced = err instanceof InsufficientBalanceError ? await this.findBySid(params.callSid, scope) : null;
      if (raced) return this.answer(raced, false);
      throw err;
    }

    let call: StoredCall;
    try {
      const doc = await this.calls.insert(
        new CallModel({
          _id: callId,
          callSid: params.callSid,
          accountId: account._id,
          agentId: agent._id,
          from: params.from,
          to: params.to,
          forwardedFrom: params.forwardedFrom,
          externalCallId: params.externalCallId,
          status: "ringing",
          startedAt: new Date(),
        }),
      );
      call = doc.toObject() as StoredCall;
    } catch (err) {
      // A retry, or a concurrent delivery that won the insert. The reservation is keyed by CallSid
      // and so shared with that call; it is dropped only if that call is already over.
      const raced = isDuplicateKeyError(err)
        ? await this.findBySid(params.callSid, scope).catch(async (lookupErr: unknown) => {
            await this.reservations.release(account._id, params.callSid);
            throw lookupErr;
          })
        : null;
      if (raced && (raced.status === "ringing" || raced.status === "in-progress")) return this.answer(raced, false);
      await this.reservations.release(account._id, params.callSid);
      if (raced) return this.answer(raced, false);
      throw err;
    }
    this.logger.info({ callId: String(callId), agentId: String(agent._id), accountId: String(account._id) }, "call admitted");
    return this.answer(call, true);
  }

  private async findBySid(callSid: string, scope: Types.ObjectId | null): Promise<StoredCall | null> {
    const call = await CallModel.findById(callIdForSid(callSid)).lean<StoredCall>();
    if (call && call.callSid !== callSid) throw new Error("call id collision");
    if (call && scope && !call.accountId.equals(scope)) throw new AgentNotFoundError("Call belongs to another account");
    return call;
  }

  /** Same call, same TwiML: the token's expiry derives from the call's creation time. */
  private async answer(call: StoredCall, created: boolean): Promise<InboundCallResult> {
    const callId = String(call._id);
    // Idempotent by job id, so a retried webhook re-announces safely if the first enqueue failed.
    const job: CallCreatedJob = { callId, accountId: String(call.accountId), agentId: String(call.agentId) };
    await this.callEvents.add(CALL_CREATED_JOB, job, {
      jobId: callJobId("call-created", callId),
      removeOnComplete: { age: 24 * 3600 },
      removeOnFail: { age: 7 * 24 * 3600 },
    });
    const expiresAt = Math.floor(call.startedAt.getTime() / 1000) + this.config.streamTokenTtlSeconds;
    const token = signStreamToken(this.config.streamTokenSecret, callId, expiresAt);
    const twiml = streamTwiml({
      mediaPublicUrl: this.config.mediaPublicUrl,
      callId,
      agentId: String(call.agentId),
      externalCallId: call.externalCallId ?? null,
      token,
    });
    return { twiml, callId, created };
  }
}

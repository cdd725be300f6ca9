import { Types, isValidObjectId } from "mongoose";
import { agentSnapshot, type AgentSnapshot, type CallAdmissions } from "../../schema/billing/call-admissions.js";
import type { CallLiveness } from "../../schema/billing/call-liveness.js";
import type { AgentVoiceConfig } from "../../schema/models/agent-config.js";
import { verifyStreamToken, type StreamClaims } from "../../schema/infra/stream-token.js";
import { DEFAULT_RATE_PER_MINUTE_MICROS } from "../../schema/billing/rating.js";
import { AccountModel, type Account } from "../../schema/models/account.model.js";
import { AgentModel, type Agent } from "../../schema/models/agent.model.js";
import { CallModel, type Call } from "../../schema/models/call.model.js";
import type { TwilioEvent } from "../protocol/inbound.js";
import type { EngineAgent } from "../engines/voice-engine.js";

export type StartEvent = Extract<TwilioEvent, { kind: "start" }>;

/** Why a stream was refused (logged; the socket is closed with 1008 and nothing changes). */
export type StreamRefusal =
  | "callid-mismatch"
  | "token-missing"
  | "token-malformed"
  | "token-expired"
  | "token-bad-signature"
  | "token-wrong-call"
  | "call-not-found"
  | "call-not-ringing"
  | "callsid-mismatch"
  | "agent-not-found"
  | "already-claimed";

/** Everything a session needs about the call it was admitted for. */
export interface AuthorizedCall {
  callId: string;
  callSid: string;
  accountId: Types.ObjectId;
  /** The Twilio account that owns the call (from `start`), for the REST hang-up URL. */
  twilioAccountSid: string;
  ratePerMinuteMicros: number;
  agent: EngineAgent & { maxCallDurationSeconds: number };
}

export type StreamAuthorization = { ok: true; call: AuthorizedCall } | { ok: false; reason: StreamRefusal };

export interface AuthorizeInput {
  /** The call id from the socket's path. */
  pathCallId: string;
  start: StartEvent;
  secret: string;
  nowSec: number;
  liveness: CallLiveness;
  admissions: Pick<CallAdmissions, "get">;
  /** Owner value this session claims the call with. */
  owner: string;
  heartbeatTtlMs: number;
}

type WithId<T> = T & { _id: Types.ObjectId };

/**
 * Checks a stream's `start` before anything happens: the signed token in its parameters must be
 * for the call in the path and for the CallSid Twilio reports. The call's facts come from the
 * token and its agent from the admission record in Redis, so a call admitted while the database
 * was away streams before its Call document exists; without a record (Redis lost it, or the call
 * is older than tokens with facts) the call must be in the database and ringing. Last, the call
 * is claimed in Redis: exactly one stream can win it, so a replayed token is refused even while
 * the first stream is still starting, and a call that ended (claimed by whoever closed it) too.
 */
export async function authorizeStream(input: AuthorizeInput): Promise<StreamAuthorization> {
  const params = input.start.customParameters;
  if (params.callId !== input.pathCallId) return { ok: false, reason: "callid-mismatch" };
  if (!params.token) return { ok: false, reason: "token-missing" };
  const check = verifyStreamToken(input.secret, params.token, input.pathCallId, input.nowSec);
  if (!check.ok) return { ok: false, reason: `token-${check.reason}` };
  if (!isValidObjectId(input.pathCallId)) return { ok: false, reason: "call-not-found" };
  const claims = check.claims;
  if (claims && claims.callSid !== input.start.callSid) return { ok: false, reason: "callsid-mismatch" };

  const record = claims ? await input.admissions.get(input.pathCallId) : null;
  const facts = record && claims && sameCall(record, claims) ? { ...claims, agent: record.agent } : await fromDatabase(input, claims);
  if ("reason" in facts) return { ok: false, reason: facts.reason };

  if (!(await input.liveness.claim(input.pathCallId, input.owner, input.heartbeatTtlMs))) {
    return { ok: false, reason: "already-claimed" };
  }
  const { agent } = facts;
  return {
    ok: true,
    call: {
      callId: input.pathCallId,
      callSid: facts.callSid,
      accountId: new Types.ObjectId(facts.accountId),
      twilioAccountSid: input.start.accountSid,
      ratePerMinuteMicros: facts.ratePerMinuteMicros,
      agent: {
        id: facts.agentId,
        name: agent.name,
        instructions: agent.instructions,
        language: agent.language,
        ...engineSettings(agent.voice),
      },
    },
  };
}

type CallFacts = Pick<StreamClaims, "callSid" | "accountId" | "agentId" | "ratePerMinuteMicros"> & { agent: AgentSnapshot };

/** The record was written by the admission that signed these claims (never otherwise, short of a key leak). */
function sameCall(record: { callSid: string; accountId: string; agentId: string }, claims: StreamClaims): boolean {
  return record.callSid === claims.callSid && record.accountId === claims.accountId && record.agentId === claims.agentId;
}

/** The call, its agent and its rate as the database has them (no admission record in Redis). */
async function fromDatabase(input: AuthorizeInput, claims: StreamClaims | null): Promise<CallFacts | { reason: StreamRefusal }> {
  const call = await CallModel.findById(input.pathCallId).lean<WithId<Call>>();
  if (!call) return { reason: "call-not-found" };
  if (call.status !== "ringing") return { reason: "call-not-ringing" };
  if (call.callSid !== input.start.callSid) return { reason: "callsid-mismatch" };
  const [agent, account] = await Promise.all([
    AgentModel.findById(call.agentId).lean<WithId<Agent>>(),
    // Only calls admitted before the rate was fixed at admission need the account's rate.
    claims || call.ratePerMinuteMicros != null
      ? null
      : AccountModel.findById(call.accountId, { ratePerMinuteMicros: 1 }).lean<WithId<Account>>(),
  ]);
  if (!agent) return { reason: "agent-not-found" };
  return {
    callSid: call.callSid,
    accountId: String(call.accountId),
    agentId: String(agent._id),
    ratePerMinuteMicros:
      claims?.ratePerMinuteMicros ?? call.ratePerMinuteMicros ?? account?.ratePerMinuteMicros ?? DEFAULT_RATE_PER_MINUTE_MICROS,
    agent: agentSnapshot(agent),
  };
}

/** The agent's voice settings as engines use them. */
function engineSettings(c: AgentVoiceConfig): Omit<AuthorizedCall["agent"], "id" | "name" | "instructions" | "language"> {
  return {
    engine: c.engine,
    voice: c.voice,
    greeting: c.greeting,
    intents: c.intents,
    fallbackReply: c.fallbackReply,
    endCallPhrases: c.endCallPhrases,
    silenceReminderSeconds: c.silenceReminderSeconds,
    silenceTimeoutSeconds: c.silenceTimeoutSeconds,
    maxCallDurationSeconds: c.maxCallDurationSeconds,
  };
}

import { isValidObjectId, type Types } from "mongoose";
import type { CallLiveness } from "../../schema/billing/call-liveness.js";
import { storedVoiceConfig, type AgentVoiceConfig } from "../../schema/agents/agent-config.js";
import { verifyStreamToken } from "../../schema/lib/stream-token.js";
import { DEFAULT_RATE_PER_MINUTE_MICROS } from "../../schema/lib/rating.js";
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
  /** Owner value this session claims the call with. */
  owner: string;
  heartbeatTtlMs: number;
}

type WithId<T> = T & { _id: Types.ObjectId };

/**
 * Checks a stream's `start` before anything happens: the signed token in its parameters must be
 * for the call in the path, the call must be ringing (admitted, not yet streamed) and for the
 * CallSid Twilio reports. Last, the call is claimed in Redis: exactly one stream can win it, so a
 * replayed token is refused even while the first stream is still starting.
 */
export async function authorizeStream(input: AuthorizeInput): Promise<StreamAuthorization> {
  const params = input.start.customParameters;
  if (params.callId !== input.pathCallId) return { ok: false, reason: "callid-mismatch" };
  if (!params.token) return { ok: false, reason: "token-missing" };
  const check = verifyStreamToken(input.secret, params.token, input.pathCallId, input.nowSec);
  if (!check.ok) return { ok: false, reason: `token-${check.reason}` };
  if (!isValidObjectId(input.pathCallId)) return { ok: false, reason: "call-not-found" };

  const call = await CallModel.findById(input.pathCallId).lean<WithId<Call>>();
  if (!call) return { ok: false, reason: "call-not-found" };
  if (call.status !== "ringing") return { ok: false, reason: "call-not-ringing" };
  if (call.callSid !== input.start.callSid) return { ok: false, reason: "callsid-mismatch" };
  const [agent, account] = await Promise.all([
    AgentModel.findById(call.agentId).lean<WithId<Agent>>(),
    AccountModel.findById(call.accountId).lean<WithId<Account>>(),
  ]);
  if (!agent || !account) return { ok: false, reason: "agent-not-found" };

  if (!(await input.liveness.claim(input.pathCallId, input.owner, input.heartbeatTtlMs))) {
    return { ok: false, reason: "already-claimed" };
  }
  return {
    ok: true,
    call: {
      callId: input.pathCallId,
      callSid: call.callSid,
      accountId: call.accountId,
      twilioAccountSid: input.start.accountSid,
      ratePerMinuteMicros: account.ratePerMinuteMicros ?? DEFAULT_RATE_PER_MINUTE_MICROS,
      agent: {
        id: String(agent._id),
        name: agent.name,
        instructions: agent.instructions ?? "",
        language: agent.language ?? "en-US",
        ...engineSettings(storedVoiceConfig(agent)),
      },
    },
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

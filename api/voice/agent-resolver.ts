import { isValidObjectId, type Types } from "mongoose";
import { AgentNotFoundError } from "../../schema/infra/errors.js";
import { AccountModel, type Account } from "../../schema/models/account.model.js";
import { AgentModel, type Agent } from "../../schema/models/agent.model.js";
import { ForwardingNumberModel } from "../../schema/models/forwarding-number.model.js";
import { PhoneNumberModel } from "../../schema/models/phone-number.model.js";
import type { InboundCallParams } from "./inbound-call.params.js";

type WithId<T> = T & { _id: Types.ObjectId };
export interface ResolvedAgent {
  agent: WithId<Agent>;
  account: WithId<Account>;
  via: "agent_id" | "forwarded_from" | "to";
}

/**
 * Picks the agent for an inbound call; first match wins: explicit agent_id (query, then body),
 * the forwarding number's account's active inbound agent, then the called number's agent.
 * An explicit agent_id that is unknown, inactive or outside `scope` never falls through.
 * `scope` limits every lookup to one account (calls authenticated with an account key).
 *
 * ForwardedFrom counts only for a verified forwarding number, and only when the called number
 * (`To`) is a shared platform number or belongs to the account that verified it: a forwarding
 * number never takes another account's number's calls (issue 12).
 */
export async function resolveAgent(params: InboundCallParams, scope: Types.ObjectId | null): Promise<ResolvedAgent> {
  if (params.agentId !== null) {
    const found = isValidObjectId(params.agentId) ? await activeAgent(params.agentId, scope) : null;
    if (!found) throw new AgentNotFoundError(`Agent ${params.agentId} not found`);
    return { ...found, via: "agent_id" };
  }
  // Both at once: the called number decides whether the forwarding number may count.
  const [number, forwarding] = await Promise.all([
    PhoneNumberModel.findOne({ e164: params.to }).lean(),
    params.forwardedFrom ? ForwardingNumberModel.findOne({ e164: params.forwardedFrom }).lean() : null,
  ]);
  if (number && forwarding && inScope(forwarding.accountId, scope) && (number.shared || number.accountId.equals(forwarding.accountId))) {
    const account = await AccountModel.findById(forwarding.accountId).lean<WithId<Account>>();
    const found = account?.activeInboundAgentId ? await activeAgent(account.activeInboundAgentId, account._id) : null;
    if (found) return { ...found, via: "forwarded_from" };
  }
  const found = number?.agentId && inScope(number.accountId, scope) ? await activeAgent(number.agentId, number.accountId) : null;
  if (found) return { ...found, via: "to" };
  throw new AgentNotFoundError("No agent is assigned to this number");
}

function inScope(accountId: Types.ObjectId, scope: Types.ObjectId | null): boolean {
  return !scope || accountId.equals(scope);
}

async function activeAgent(id: string | Types.ObjectId, accountId: Types.ObjectId | null) {
  const agent = await AgentModel.findById(id).lean<WithId<Agent>>();
  if (!agent || agent.status !== "active") return null;
  if (accountId && !agent.accountId.equals(accountId)) return null;
  const account = await AccountModel.findById(agent.accountId).lean<WithId<Account>>();
  return account ? { agent, account } : null;
}

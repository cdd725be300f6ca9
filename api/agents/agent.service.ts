import {
  AgentConfigError,
  DEFAULT_VOICE_CONFIG,
  resolveEngine,
  storedVoiceConfig,
  validateAgentConfig,
  type AgentVoiceConfig,
  type VoiceEngineName,
} from "../../schema/models/agent-config.js";
import type { DocumentLocks } from "../../schema/infra/document-lock.js";
import type { AccountQuotas } from "../accounts/account-quotas.js";
import { AccountModel } from "../../schema/models/account.model.js";
import { AgentModel, type Agent as AgentFields } from "../../schema/models/agent.model.js";
import { PhoneNumberModel } from "../../schema/models/phone-number.model.js";
import type { Viewer } from "../graphql/context.js";
import type { ConnectionResult, PageArgs } from "../graphql/connection.type.js";
import { BadUserInputError, ConflictError, NotFoundError } from "../graphql/errors.js";
import { paginate } from "../graphql/pagination.js";
import { assertVisible, listScope, scopeFilter, targetAccount } from "../graphql/scope.js";
import { intRange, objectId, text } from "../graphql/validate.js";
import type { AgentFilter, CreateAgentInput, UpdateAgentInput } from "./agent.input.js";
import type { AgentRecord } from "./agent.type.js";

const LANGUAGE_TAG = /^[A-Za-z]{2,3}(-[A-Za-z0-9]{1,8})*$/;

export class AgentService {
  constructor(
    private readonly limits: { maxPageSize: number; openaiConfigured: boolean },
    private readonly locks: DocumentLocks,
    private readonly quotas: AccountQuotas,
  ) {}

  /** The agent's voice settings, with defaults for what older records lack. */
  voiceConfig(agent: AgentRecord): AgentVoiceConfig {
    return storedVoiceConfig(agent);
  }

  /** The engine the agent's calls use. */
  engineOf(agent: AgentRecord): VoiceEngineName {
    return resolveEngine(agent.engine, this.limits.openaiConfigured);
  }

  async get(v: Viewer, id: string): Promise<AgentRecord> {
    const agent = await v.loaders.agent.load(objectId("id", id));
    if (!agent) throw new NotFoundError("Agent", id);
    assertVisible(v.principal, agent.accountId, "Agent", id);
    return agent;
  }

  list(
    v: Viewer,
    args: PageArgs,
    filter: AgentFilter | null | undefined,
    accountId?: string | null,
  ): Promise<ConnectionResult<AgentRecord>> {
    const query: Record<string, unknown> = scopeFilter(listScope(v.principal, accountId));
    if (filter?.status) query.status = filter.status;
    if (filter?.nameContains) {
      const part = text("filter.nameContains", filter.nameContains, { max: 200 });
      query.name = { $regex: part.replace(/[.*+?^${}()|[\]\\]/g, "\\$&"), $options: "i" };
    }
    return paginate<AgentRecord>({ model: AgentModel, filter: query, sortField: "createdAt", args, maxPageSize: this.limits.maxPageSize });
  }

  async create(v: Viewer, input: CreateAgentInput): Promise<AgentRecord> {
    const fields = agentFields(input);
    if (fields.name === undefined) throw new BadUserInputError("name", "must not be empty");
    const voice = voiceFields(input, { ...DEFAULT_VOICE_CONFIG, ...pick(fields) });
    const accountId = await targetAccount(v.principal, input.accountId);
    // At most maxAgents per account: counted and created under the account's lock for agents.
    const doc = await this.quotas.within("agents", accountId, () => AgentModel.create({ ...fields, ...voice, accountId }));
    return doc.toObject();
  }

  /**
   * Locked from the read to the write: the voice fields written are computed from the stored ones,
   * and on FerretDB a concurrent update of another field could otherwise be lost.
   */
  async update(v: Viewer, id: string, input: UpdateAgentInput): Promise<AgentRecord> {
    const basic = agentFields(input);
    const agentId = objectId("id", id);
    return this.locks.run(AgentModel, agentId, async () => {
      v.loaders.agent.clear(agentId);
      const agent = await this.get(v, id);
      const fields = { ...basic, ...voiceFields(input, { ...storedVoiceConfig(agent), ...pick(basic) }) };
      if (Object.keys(fields).length === 0) return agent;
      v.loaders.agent.clear(agent._id);
      const updated = await AgentModel.findOneAndUpdate(
        { _id: agent._id, accountId: agent.accountId },
        { $set: fields },
        { returnDocument: "after", runValidators: true },
      ).lean<AgentRecord>();
      if (!updated) throw new NotFoundError("Agent", id);
      return updated;
    });
  }

  /** Refuses while a phone number routes to the agent or the account forwards to it. */
  async delete(v: Viewer, id: string): Promise<boolean> {
    const agent = await this.get(v, id);
    const [number, activeFor] = await Promise.all([
      PhoneNumberModel.findOne({ agentId: agent._id }).lean(),
      AccountModel.exists({ _id: agent.accountId, activeInboundAgentId: agent._id }),
    ]);
    if (number) {
      throw new ConflictError(
        `Agent ${id} answers phone number ${number.e164}: give the number another agent (updatePhoneNumber) or delete it first`,
      );
    }
    if (activeFor) {
      throw new ConflictError(
        `Agent ${id} is the account's active inbound agent: call setActiveInboundAgent with another agent or null first`,
      );
    }
    await AgentModel.deleteOne({ _id: agent._id });
    v.loaders.agent.clear(agent._id);
    return true;
  }
}

type AgentWritable = Partial<
  Pick<AgentFields, "name" | "instructions" | "greeting" | "voice" | "language" | "maxCallDurationSeconds" | "status">
>;

/** The validated fields present in the input (null and absent both mean "not given"). */
function agentFields(input: UpdateAgentInput): AgentWritable {
  const fields: AgentWritable = {};
  if (input.name != null) fields.name = text("name", input.name, { max: 200 });
  if (input.instructions != null) fields.instructions = text("instructions", input.instructions, { min: 0, max: 20_000 });
  if (input.greeting != null) fields.greeting = text("greeting", input.greeting, { min: 0, max: 1_000 });
  if (input.voice != null) fields.voice = text("voice", input.voice, { max: 100 });
  if (input.language != null) {
    const language = text("language", input.language, { max: 35 });
    if (!LANGUAGE_TAG.test(language)) throw new BadUserInputError("language", 'must be a BCP 47 tag like "en-US"');
    fields.language = language;
  }
  if (input.maxCallDurationSeconds != null) {
    fields.maxCallDurationSeconds = intRange("maxCallDurationSeconds", input.maxCallDurationSeconds, 10, 4 * 3600);
  }
  if (input.status != null) fields.status = input.status;
  return fields;
}

/** The voice fields of an agent the basic fields also hold (validated there, checked together here). */
function pick(fields: AgentWritable): Partial<AgentVoiceConfig> {
  const out: Partial<AgentVoiceConfig> = {};
  if (fields.greeting !== undefined) out.greeting = fields.greeting;
  if (fields.voice !== undefined) out.voice = fields.voice;
  if (fields.maxCallDurationSeconds !== undefined) out.maxCallDurationSeconds = fields.maxCallDurationSeconds;
  return out;
}

/**
 * Validates the voice settings in the input over `current` (the stored or default settings with
 * this input's basic fields applied) and returns the fields to store; none when the input names none.
 */
function voiceFields(input: UpdateAgentInput, current: AgentVoiceConfig): Partial<AgentVoiceConfig> {
  const named = (
    [
      "engine",
      "voice",
      "greeting",
      "intents",
      "fallbackReply",
      "endCallPhrases",
      "silenceReminderSeconds",
      "silenceTimeoutSeconds",
      "maxCallDurationSeconds",
    ] as const
  ).filter((k) => input[k] != null);
  if (named.length === 0) return {};
  let next: AgentVoiceConfig;
  try {
    next = validateAgentConfig(
      {
        engine: input.engine,
        voice: input.voice,
        intents: input.intents,
        fallbackReply: input.fallbackReply,
        endCallPhrases: input.endCallPhrases,
        silenceReminderSeconds: input.silenceReminderSeconds,
        silenceTimeoutSeconds: input.silenceTimeoutSeconds,
      },
      current,
    );
  } catch (err) {
    if (err instanceof AgentConfigError) throw new BadUserInputError(err.field, err.problem);
    throw err;
  }
  // Every voice field, not only those named: rules tie them together (a new engine may reset the voice).
  return next;
}

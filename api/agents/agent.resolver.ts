import { Arg, Args, Ctx, FieldResolver, ID, Int, Mutation, Query, Resolver, Root } from "type-graphql";
import type { VoiceEngineName } from "../../schema/models/agent-config.js";
import { Account, type AccountRecord } from "../accounts/account.type.js";
import { PageArgs, pageComplexity, type ConnectionResult } from "../graphql/connection.type.js";
import type { GraphqlContext, Viewer } from "../graphql/context.js";
import { CurrentViewer } from "../graphql/current-viewer.js";
import { AgentFilter, CreateAgentInput, UpdateAgentInput } from "./agent.input.js";
import { AgentIntent, VoiceEngineEnum } from "./agent-intent.type.js";
import type { AgentService } from "./agent.service.js";
import { Agent, AgentConnection, type AgentRecord } from "./agent.type.js";

@Resolver(() => Agent)
export class AgentResolver {
  constructor(private readonly service: AgentService) {}

  @Query(() => Agent)
  agent(@Arg("id", () => ID) id: string, @CurrentViewer() viewer: Viewer): Promise<AgentRecord> {
    return this.service.get(viewer, id);
  }

  @Query(() => AgentConnection, { complexity: pageComplexity, description: "Newest first." })
  agents(
    @Args() page: PageArgs,
    @Arg("filter", () => AgentFilter, { nullable: true }) filter: AgentFilter | null,
    @Arg("accountId", () => ID, { nullable: true, description: "Admin keys: only this account's agents." }) accountId: string | null,
    @CurrentViewer() viewer: Viewer,
  ): Promise<ConnectionResult<AgentRecord>> {
    return this.service.list(viewer, page, filter, accountId);
  }

  @Mutation(() => Agent)
  createAgent(@Arg("input") input: CreateAgentInput, @CurrentViewer() viewer: Viewer): Promise<AgentRecord> {
    return this.service.create(viewer, input);
  }

  @Mutation(() => Agent)
  updateAgent(
    @Arg("id", () => ID) id: string,
    @Arg("input") input: UpdateAgentInput,
    @CurrentViewer() viewer: Viewer,
  ): Promise<AgentRecord> {
    return this.service.update(viewer, id, input);
  }

  @Mutation(() => Boolean, { description: "Refused while a phone number or the account's active inbound agent points at it." })
  deleteAgent(@Arg("id", () => ID) id: string, @CurrentViewer() viewer: Viewer): Promise<boolean> {
    return this.service.delete(viewer, id);
  }

  @FieldResolver(() => VoiceEngineEnum)
  engine(@Root() agent: AgentRecord): VoiceEngineName {
    return this.service.engineOf(agent);
  }

  @FieldResolver(() => [AgentIntent])
  intents(@Root() agent: AgentRecord): AgentIntent[] {
    return this.service.voiceConfig(agent).intents;
  }

  @FieldResolver(() => String)
  fallbackReply(@Root() agent: AgentRecord): string {
    return this.service.voiceConfig(agent).fallbackReply;
  }

  @FieldResolver(() => [String])
  endCallPhrases(@Root() agent: AgentRecord): string[] {
    return this.service.voiceConfig(agent).endCallPhrases;
  }

  @FieldResolver(() => Int)
  silenceReminderSeconds(@Root() agent: AgentRecord): number {
    return this.service.voiceConfig(agent).silenceReminderSeconds;
  }

  @FieldResolver(() => Int)
  silenceTimeoutSeconds(@Root() agent: AgentRecord): number {
    return this.service.voiceConfig(agent).silenceTimeoutSeconds;
  }

  @FieldResolver(() => Account)
  async account(@Root() agent: AgentRecord, @Ctx() ctx: GraphqlContext): Promise<AccountRecord | null> {
    return ctx.loaders.account.load(agent.accountId);
  }
}

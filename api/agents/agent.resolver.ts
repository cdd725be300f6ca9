import { Arg, Args, Ctx, FieldResolver, ID, Int, Mutation, Query, Resolver, Root } from "type-graphql";
import type { VoiceEngineName } from "../../schema/agents/agent-config.js";
import { Account, type AccountRecord } from "../accounts/account.type.js";
import { PageArgs, pageComplexity, type ConnectionResult } from "../graphql/connection.type.js";
import { viewerOf, type GraphqlContext } from "../graphql/context.js";
import { AgentFilter, CreateAgentInput, UpdateAgentInput } from "./agent.input.js";
import { AgentIntent, VoiceEngineEnum } from "./agent-intent.type.js";
import type { AgentService } from "./agent.service.js";
import { Agent, AgentConnection, type AgentRecord } from "./agent.type.js";

@Resolver(() => Agent)
export class AgentResolver {
  constructor(private readonly service: AgentService) {}

  @Query(() => Agent)
  agent(@Arg("id", () => ID) id: string, @Ctx() ctx: GraphqlContext): Promise<AgentRecord> {
    return this.service.get(viewerOf(ctx), id);
  }

  @Query(() => AgentConnection, { complexity: pageComplexity, description: "Newest first." })
  agents(
    @Args() page: PageArgs,
    @Arg("filter", () => AgentFilter, { nullable: true }) filter: AgentFilter | null,
    @Arg("accountId", () => ID, { nullable: true, description: "Admin keys: only this account's agents." }) accountId: string | null,
    @Ctx() ctx: GraphqlContext,
  ): Promise<ConnectionResult<AgentRecord>> {
    return this.service.list(viewerOf(ctx), page, filter, accountId);
  }

  @Mutation(() => Agent)
  createAgent(@Arg("input") input: CreateAgentInput, @Ctx() ctx: GraphqlContext): Promise<AgentRecord> {
    return this.service.create(viewerOf(ctx), input);
  }

  @Mutation(() => Agent)
  updateAgent(
    @Arg("id", () => ID) id: string,
    @Arg("input") input: UpdateAgentInput,
    @Ctx() ctx: GraphqlContext,
  ): Promise<AgentRecord> {
    return this.service.update(viewerOf(ctx), id, input);
  }

  @Mutation(() => Boolean, { description: "Refused while a phone number or the account's active inbound agent points at it." })
  deleteAgent(@Arg("id", () => ID) id: string, @Ctx() ctx: GraphqlContext): Promise<boolean> {
    return this.service.delete(viewerOf(ctx), id);
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

import type { GraphQLResolveInfo } from "graphql";
import { Arg, Args, Ctx, FieldResolver, ID, Info, Query, Resolver, Root } from "type-graphql";
import { formatUsd } from "../../schema/billing/money.js";
import { Account, type AccountRecord } from "../accounts/account.type.js";
import { Agent, type AgentRecord } from "../agents/agent.type.js";
import { PageArgs, pageComplexity, type ConnectionResult } from "../graphql/connection.type.js";
import type { GraphqlContext, Viewer } from "../graphql/context.js";
import { CurrentViewer } from "../graphql/current-viewer.js";
import { CallFilter } from "./call.input.js";
import { CallUsage, TranscriptTurn } from "./call-transcript.type.js";
import { projectionFor } from "../graphql/selection.js";
import { CALL_ALWAYS_READ, CALL_FIELD_SOURCES, transcriptText, transcriptTurns, type CallService } from "./call.service.js";
import { Call, CallConnection, type CallRecord } from "./call.type.js";

@Resolver(() => Call)
export class CallResolver {
  constructor(private readonly service: CallService) {}

  @Query(() => Call)
  call(@Arg("id", () => ID) id: string, @CurrentViewer() viewer: Viewer): Promise<CallRecord> {
    return this.service.get(viewer, id);
  }

  @Query(() => CallConnection, { complexity: pageComplexity, description: "Newest first by startedAt." })
  calls(
    @Args() page: PageArgs,
    @Arg("filter", () => CallFilter, { nullable: true }) filter: CallFilter | null,
    @Arg("accountId", () => ID, { nullable: true, description: "Admin keys: only this account's calls." }) accountId: string | null,
    @CurrentViewer() viewer: Viewer,
    @Info() info: GraphQLResolveInfo,
  ): Promise<ConnectionResult<CallRecord>> {
    return this.service.list(viewer, page, filter, accountId, projectionFor(info, ["nodes"], CALL_FIELD_SOURCES, CALL_ALWAYS_READ));
  }

  @FieldResolver(() => Agent, { nullable: true, description: "Null when the agent was deleted since." })
  async agent(@Root() call: CallRecord, @Ctx() ctx: GraphqlContext): Promise<AgentRecord | null> {
    return ctx.loaders.agent.load(call.agentId);
  }

  @FieldResolver(() => Account)
  async account(@Root() call: CallRecord, @Ctx() ctx: GraphqlContext): Promise<AccountRecord | null> {
    return ctx.loaders.account.load(call.accountId);
  }

  @FieldResolver(() => String, { description: "What the call cost; 0.000000 until it is billed." })
  costUsd(@Root() call: CallRecord): string {
    return formatUsd(call.costMicros);
  }

  @FieldResolver(() => [TranscriptTurn], { description: "The conversation turn by turn, in order; empty until the call has ended." })
  turns(@Root() call: CallRecord): TranscriptTurn[] {
    return transcriptTurns(call);
  }

  @FieldResolver(() => CallUsage, { nullable: true, description: "Audio and provider usage; null until the call has ended." })
  usage(@Root() call: CallRecord): CallUsage | null {
    const u = call.usage as Partial<CallUsage> | null | undefined;
    if (!u) return null;
    return {
      engine: u.engine ?? null,
      provider: u.provider ?? null,
      audioInSeconds: u.audioInSeconds ?? 0,
      audioOutSeconds: u.audioOutSeconds ?? 0,
      inputTokens: u.inputTokens ?? null,
      outputTokens: u.outputTokens ?? null,
    };
  }

  @FieldResolver(() => String, { nullable: true, description: "One line per turn, once the media worker has stored it." })
  transcript(@Root() call: CallRecord): string | null {
    return transcriptText(call);
  }
}

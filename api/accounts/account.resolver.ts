import { Arg, Args, Authorized, Ctx, FieldResolver, ID, Mutation, Query, Resolver, Root } from "type-graphql";
import { effectiveLimits } from "../../schema/models/account-limits.js";
import { formatUsd } from "../../schema/billing/money.js";
import { Agent, type AgentRecord } from "../agents/agent.type.js";
import { PageArgs, pageComplexity, type ConnectionResult } from "../graphql/connection.type.js";
import type { GraphqlContext, Viewer } from "../graphql/context.js";
import { CurrentViewer } from "../graphql/current-viewer.js";
import { AccountLimits } from "./account-limits.type.js";
import { CreateAccountInput, UpdateAccountInput } from "./account.input.js";
import type { AccountService } from "./account.service.js";
import { Account, AccountConnection, CreateAccountPayload, type AccountRecord } from "./account.type.js";

@Resolver(() => Account)
export class AccountResolver {
  constructor(private readonly service: AccountService) {}

  @Authorized("ADMIN")
  @Mutation(() => CreateAccountPayload, { description: "Admin keys only." })
  createAccount(@Arg("input") input: CreateAccountInput) {
    return this.service.create(input);
  }

  @Authorized("ADMIN")
  @Query(() => AccountConnection, { complexity: pageComplexity, description: "Admin keys only. Newest first." })
  accounts(@Args() page: PageArgs): Promise<ConnectionResult<AccountRecord>> {
    return this.service.list(page);
  }

  @Query(() => Account)
  account(@Arg("id", () => ID) id: string, @CurrentViewer() viewer: Viewer): Promise<AccountRecord> {
    return this.service.get(viewer, id);
  }

  @Query(() => Account, { nullable: true, description: "The account of the key in use; null for admin keys." })
  me(@CurrentViewer() viewer: Viewer): Promise<AccountRecord | null> {
    return this.service.me(viewer);
  }

  @Mutation(() => Account, { description: "Account keys change their own account; admin keys name it with id." })
  updateAccount(
    @Arg("id", () => ID, { nullable: true }) id: string | null,
    @Arg("input") input: UpdateAccountInput,
    @CurrentViewer() viewer: Viewer,
  ): Promise<AccountRecord> {
    return this.service.update(viewer, id, input);
  }

  @Mutation(() => Account, { description: "The agent that answers calls forwarded from the account's numbers; null clears it." })
  setActiveInboundAgent(
    @Arg("agentId", () => ID, { nullable: true }) agentId: string | null,
    @Arg("accountId", () => ID, { nullable: true, description: "Admin keys: the account to change." }) accountId: string | null,
    @CurrentViewer() viewer: Viewer,
  ): Promise<AccountRecord> {
    return this.service.setActiveInboundAgent(viewer, agentId, accountId);
  }

  @FieldResolver(() => AccountLimits, { description: "The limits in force; admin keys change them with updateAccount(input: { limits })." })
  limits(@Root() account: AccountRecord): AccountLimits {
    return effectiveLimits(account.limits);
  }

  @FieldResolver(() => String, { description: 'Per-minute rate, like "0.150000".' })
  ratePerMinuteUsd(@Root() account: AccountRecord): string {
    return formatUsd(account.ratePerMinuteMicros);
  }

  @FieldResolver(() => String, { description: "The ledger balance." })
  async balanceUsd(@Root() account: AccountRecord, @Ctx() ctx: GraphqlContext): Promise<string> {
    return formatUsd((await ctx.loaders.balance.load(account._id)).balanceMicros);
  }

  @FieldResolver(() => String, { description: "The ledger balance minus what live calls hold; new calls need this." })
  async availableBalanceUsd(@Root() account: AccountRecord, @Ctx() ctx: GraphqlContext): Promise<string> {
    const [balance, reserved] = await Promise.all([ctx.loaders.balance.load(account._id), ctx.loaders.reserved.load(account._id)]);
    return formatUsd(balance.balanceMicros - reserved);
  }

  @FieldResolver(() => [String], {
    description:
      "Verified forwarding numbers (E.164): calls forwarded from them go to the active inbound agent when forwarded to a shared " +
      "platform number or to one of the account's own numbers. Add one with startForwardingNumberVerification.",
  })
  phoneNumbers(@Root() account: AccountRecord, @Ctx() ctx: GraphqlContext): Promise<string[]> {
    return ctx.loaders.forwardingNumbers.load(account._id);
  }

  @FieldResolver(() => [String], {
    description:
      "Forwarding numbers written before numbers had to be proven, and not verified since. They route nothing until verified " +
      "(startForwardingNumberVerification, or an admin's setForwardingNumberVerified).",
  })
  async legacyPhoneNumbers(@Root() account: AccountRecord, @Ctx() ctx: GraphqlContext): Promise<string[]> {
    const verified = new Set(await ctx.loaders.forwardingNumbers.load(account._id));
    return (account.phoneNumbers ?? []).filter((n) => !verified.has(n));
  }

  @FieldResolver(() => Agent, { nullable: true, description: "Answers calls forwarded from phoneNumbers." })
  async activeInboundAgent(@Root() account: AccountRecord, @Ctx() ctx: GraphqlContext): Promise<AgentRecord | null> {
    return account.activeInboundAgentId ? ctx.loaders.agent.load(account.activeInboundAgentId) : null;
  }
}

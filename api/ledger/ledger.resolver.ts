import { Arg, Args, Authorized, Ctx, FieldResolver, ID, Mutation, Query, Resolver, Root } from "type-graphql";
import { formatUsd } from "../../schema/billing/money.js";
import { Account, type AccountRecord } from "../accounts/account.type.js";
import { Call, type CallRecord } from "../calls/call.type.js";
import { PageArgs, pageComplexity, type ConnectionResult } from "../graphql/connection.type.js";
import type { GraphqlContext, Viewer } from "../graphql/context.js";
import { CurrentViewer } from "../graphql/current-viewer.js";
import { BalanceMovementArgs } from "./ledger.input.js";
import type { AccountLedgerService } from "./account-ledger.service.js";
import { LedgerEntry, LedgerEntryConnection, type LedgerEntryRecord } from "./ledger-entry.type.js";

@Resolver(() => LedgerEntry)
export class LedgerResolver {
  constructor(private readonly service: AccountLedgerService) {}

  @Query(() => LedgerEntryConnection, { complexity: pageComplexity, description: "The account's balance movements, newest first." })
  ledger(
    @Args() page: PageArgs,
    @Arg("accountId", () => ID, { nullable: true, description: "Required for admin keys; account keys read their own." })
    accountId: string | null,
    @CurrentViewer() viewer: Viewer,
  ): Promise<ConnectionResult<LedgerEntryRecord>> {
    return this.service.list(viewer, page, accountId);
  }

  @Authorized("ADMIN")
  @Mutation(() => Account, { description: "Admin keys only. Adds money to the balance." })
  creditBalance(@Args() args: BalanceMovementArgs, @CurrentViewer() viewer: Viewer): Promise<AccountRecord> {
    return this.service.credit(viewer, args);
  }

  @Authorized("ADMIN")
  @Mutation(() => Account, { description: "Admin keys only. A manual adjustment; the balance never goes below zero." })
  debitBalance(@Args() args: BalanceMovementArgs, @CurrentViewer() viewer: Viewer): Promise<AccountRecord> {
    return this.service.debit(viewer, args);
  }

  @FieldResolver(() => String, { description: "Signed: negative for debits and call charges." })
  amountUsd(@Root() entry: LedgerEntryRecord): string {
    return formatUsd(entry.amountMicros);
  }

  @FieldResolver(() => String, { description: "The balance right after this movement." })
  balanceAfterUsd(@Root() entry: LedgerEntryRecord): string {
    return formatUsd(entry.balanceAfterMicros);
  }

  @FieldResolver(() => Call, { nullable: true, description: "The call a CALL_CHARGE bills." })
  async call(@Root() entry: LedgerEntryRecord, @Ctx() ctx: GraphqlContext): Promise<CallRecord | null> {
    return entry.callId ? ctx.loaders.call.load(entry.callId) : null;
  }
}

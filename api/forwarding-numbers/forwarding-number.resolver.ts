import { Arg, Args, Authorized, Ctx, FieldResolver, ID, Mutation, Query, Resolver, Root } from "type-graphql";
import { Account, type AccountRecord } from "../accounts/account.type.js";
import { PageArgs, pageComplexity, type ConnectionResult } from "../graphql/connection.type.js";
import type { GraphqlContext, Viewer } from "../graphql/context.js";
import { CurrentViewer } from "../graphql/current-viewer.js";
import type { ForwardingNumberService } from "./forwarding-number.service.js";
import {
  ForwardingNumber,
  ForwardingNumberConnection,
  ForwardingNumberVerification,
  StartForwardingNumberVerificationPayload,
  type ForwardingNumberRecord,
} from "./forwarding-number.type.js";
import type { VerificationView } from "./forwarding-verification.service.js";

const ACCOUNT_ARG = { nullable: true, description: "Admin keys: the account. Account keys: their own." } as const;

@Resolver(() => ForwardingNumber)
export class ForwardingNumberResolver {
  constructor(private readonly service: ForwardingNumberService) {}

  @Query(() => ForwardingNumberConnection, { complexity: pageComplexity, description: "Verified forwarding numbers, newest first." })
  forwardingNumbers(
    @Args() page: PageArgs,
    @Arg("accountId", () => ID, { nullable: true, description: "Admin keys: only this account's numbers." }) accountId: string | null,
    @CurrentViewer() viewer: Viewer,
  ): Promise<ConnectionResult<ForwardingNumberRecord>> {
    return this.service.list(viewer, page, accountId);
  }

  @Query(() => ForwardingNumberVerification, { description: "Poll it to learn when the code was keyed in." })
  forwardingNumberVerification(@Arg("id", () => ID) id: string, @CurrentViewer() viewer: Viewer): Promise<VerificationView> {
    return this.service.getVerification(viewer, id);
  }

  @Mutation(() => StartForwardingNumberVerificationPayload, {
    description:
      "Calls the number and asks for the returned 6-digit code on its keypad; keying it in verifies the number. Codes expire after " +
      "10 minutes and allow 5 tries; a new start replaces the earlier code. TWILIO_NOT_CONFIGURED without Twilio credentials.",
  })
  startForwardingNumberVerification(
    @Arg("e164") e164: string,
    @Arg("accountId", () => ID, ACCOUNT_ARG) accountId: string | null,
    @CurrentViewer() viewer: Viewer,
  ) {
    return this.service.start(viewer, e164, accountId);
  }

  @Authorized("ADMIN")
  @Mutation(() => ForwardingNumber, { description: "Admin keys only: verifies the number for the account without a call." })
  setForwardingNumberVerified(
    @Arg("accountId", () => ID) accountId: string,
    @Arg("e164") e164: string,
    @CurrentViewer() viewer: Viewer,
  ): Promise<ForwardingNumberRecord> {
    return this.service.markVerified(viewer, accountId, e164);
  }

  @Mutation(() => Boolean, { description: "Calls forwarded from the number no longer reach the account." })
  removeForwardingNumber(
    @Arg("e164") e164: string,
    @Arg("accountId", () => ID, ACCOUNT_ARG) accountId: string | null,
    @CurrentViewer() viewer: Viewer,
  ): Promise<boolean> {
    return this.service.remove(viewer, e164, accountId);
  }

  @FieldResolver(() => Account)
  async account(@Root() number: ForwardingNumberRecord, @Ctx() ctx: GraphqlContext): Promise<AccountRecord | null> {
    return ctx.loaders.account.load(number.accountId);
  }
}

@Resolver(() => ForwardingNumberVerification)
export class ForwardingNumberVerificationResolver {
  @FieldResolver(() => Account)
  async account(@Root() verification: VerificationView, @Ctx() ctx: GraphqlContext): Promise<AccountRecord | null> {
    return ctx.loaders.account.load(verification.accountId);
  }
}

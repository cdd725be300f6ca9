import { Arg, Args, Ctx, FieldResolver, ID, Mutation, Query, Resolver, Root } from "type-graphql";
import { Account, type AccountRecord } from "../accounts/account.type.js";
import { Agent, type AgentRecord } from "../agents/agent.type.js";
import { PageArgs, pageComplexity, type ConnectionResult } from "../graphql/connection.type.js";
import { viewerOf, type GraphqlContext } from "../graphql/context.js";
import { CreatePhoneNumberInput, UpdatePhoneNumberInput } from "./phone-number.input.js";
import type { PhoneNumberService } from "./phone-number.service.js";
import { PhoneNumber, PhoneNumberConnection, type PhoneNumberRecord } from "./phone-number.type.js";

@Resolver(() => PhoneNumber)
export class PhoneNumberResolver {
  constructor(private readonly service: PhoneNumberService) {}

  @Query(() => PhoneNumber)
  phoneNumber(@Arg("id", () => ID) id: string, @Ctx() ctx: GraphqlContext): Promise<PhoneNumberRecord> {
    return this.service.get(viewerOf(ctx), id);
  }

  @Query(() => PhoneNumberConnection, { complexity: pageComplexity, description: "Newest first." })
  phoneNumbers(
    @Args() page: PageArgs,
    @Arg("accountId", () => ID, { nullable: true, description: "Admin keys: only this account's numbers." }) accountId: string | null,
    @Ctx() ctx: GraphqlContext,
  ): Promise<ConnectionResult<PhoneNumberRecord>> {
    return this.service.list(viewerOf(ctx), page, accountId);
  }

  @Mutation(() => PhoneNumber)
  createPhoneNumber(@Arg("input") input: CreatePhoneNumberInput, @Ctx() ctx: GraphqlContext): Promise<PhoneNumberRecord> {
    return this.service.create(viewerOf(ctx), input);
  }

  @Mutation(() => PhoneNumber, { description: "Reassigns the agent or renames the number." })
  updatePhoneNumber(
    @Arg("id", () => ID) id: string,
    @Arg("input") input: UpdatePhoneNumberInput,
    @Ctx() ctx: GraphqlContext,
  ): Promise<PhoneNumberRecord> {
    return this.service.update(viewerOf(ctx), id, input);
  }

  @Mutation(() => Boolean)
  deletePhoneNumber(@Arg("id", () => ID) id: string, @Ctx() ctx: GraphqlContext): Promise<boolean> {
    return this.service.delete(viewerOf(ctx), id);
  }

  @FieldResolver(() => Agent, { nullable: true, description: "Answers calls to this number." })
  async agent(@Root() number: PhoneNumberRecord, @Ctx() ctx: GraphqlContext): Promise<AgentRecord | null> {
    return number.agentId ? ctx.loaders.agent.load(number.agentId) : null;
  }

  @FieldResolver(() => Account)
  async account(@Root() number: PhoneNumberRecord, @Ctx() ctx: GraphqlContext): Promise<AccountRecord | null> {
    return ctx.loaders.account.load(number.accountId);
  }
}

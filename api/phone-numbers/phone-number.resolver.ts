import { Arg, Args, Authorized, Ctx, FieldResolver, ID, Mutation, Query, Resolver, Root } from "type-graphql";
import { Account, type AccountRecord } from "../accounts/account.type.js";
import { Agent, type AgentRecord } from "../agents/agent.type.js";
import { PageArgs, pageComplexity, type ConnectionResult } from "../graphql/connection.type.js";
import type { GraphqlContext, Viewer } from "../graphql/context.js";
import { CurrentViewer } from "../graphql/current-viewer.js";
import type { PhoneNumberSource } from "../../schema/models/phone-number.model.js";
import { AvailablePhoneNumbersArgs, BuyPhoneNumberArgs, CreatePhoneNumberInput, UpdatePhoneNumberInput } from "./phone-number.input.js";
import type { PhoneNumberService } from "./phone-number.service.js";
import {
  AvailablePhoneNumber,
  PhoneNumber,
  PhoneNumberConnection,
  PhoneNumberSourceEnum,
  type PhoneNumberRecord,
} from "./phone-number.type.js";
import type { AvailableNumber } from "./twilio-numbers.client.js";

@Resolver(() => PhoneNumber)
export class PhoneNumberResolver {
  constructor(private readonly service: PhoneNumberService) {}

  @Query(() => PhoneNumber)
  phoneNumber(@Arg("id", () => ID) id: string, @CurrentViewer() viewer: Viewer): Promise<PhoneNumberRecord> {
    return this.service.get(viewer, id);
  }

  @Query(() => PhoneNumberConnection, { complexity: pageComplexity, description: "Newest first." })
  phoneNumbers(
    @Args() page: PageArgs,
    @Arg("accountId", () => ID, { nullable: true, description: "Admin keys: only this account's numbers." }) accountId: string | null,
    @CurrentViewer() viewer: Viewer,
  ): Promise<ConnectionResult<PhoneNumberRecord>> {
    return this.service.list(viewer, page, accountId);
  }

  @Authorized()
  @Query(() => [AvailablePhoneNumber], { description: "Local numbers the platform's Twilio account can buy (up to 20)." })
  availablePhoneNumbers(@Args() args: AvailablePhoneNumbersArgs): Promise<AvailableNumber[]> {
    return this.service.available(args);
  }

  @Mutation(() => PhoneNumber)
  createPhoneNumber(@Arg("input") input: CreatePhoneNumberInput, @CurrentViewer() viewer: Viewer): Promise<PhoneNumberRecord> {
    return this.service.create(viewer, input);
  }

  @Mutation(() => PhoneNumber, {
    description: "Buys the number through the platform's Twilio account, points it at Call24x7 and registers it.",
  })
  buyPhoneNumber(@Args() args: BuyPhoneNumberArgs, @CurrentViewer() viewer: Viewer): Promise<PhoneNumberRecord> {
    return this.service.buy(viewer, args);
  }

  @Mutation(() => PhoneNumber, { description: "Reassigns the agent or renames the number; admin keys may move it to another account." })
  updatePhoneNumber(
    @Arg("id", () => ID) id: string,
    @Arg("input") input: UpdatePhoneNumberInput,
    @CurrentViewer() viewer: Viewer,
  ): Promise<PhoneNumberRecord> {
    return this.service.update(viewer, id, input);
  }

  @Mutation(() => Boolean, {
    description: "Releases the number: Call24x7's URLs are taken off it at Twilio first (the number stays if that fails).",
  })
  deletePhoneNumber(@Arg("id", () => ID) id: string, @CurrentViewer() viewer: Viewer): Promise<boolean> {
    return this.service.delete(viewer, id);
  }

  @FieldResolver(() => Agent, { nullable: true, description: "Answers calls to this number." })
  async agent(@Root() number: PhoneNumberRecord, @Ctx() ctx: GraphqlContext): Promise<AgentRecord | null> {
    return number.agentId ? ctx.loaders.agent.load(number.agentId) : null;
  }

  @FieldResolver(() => PhoneNumberSourceEnum, { description: "How the number was registered." })
  source(@Root() number: PhoneNumberRecord): PhoneNumberSource {
    // Numbers stored before the field existed were registered without checks.
    return number.source ?? "admin";
  }

  @FieldResolver(() => Account)
  async account(@Root() number: PhoneNumberRecord, @Ctx() ctx: GraphqlContext): Promise<AccountRecord | null> {
    return ctx.loaders.account.load(number.accountId);
  }
}

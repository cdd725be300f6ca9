import { Field, Int, ObjectType } from "type-graphql";
import { DEFAULT_ACCOUNT_LIMITS as D } from "../../schema/models/account-limits.js";

@ObjectType({ description: "What the account may have at once: the limits an admin set, the platform defaults elsewhere." })
export class AccountLimits {
  @Field(() => Int, { description: `Unrevoked API keys (default ${D.maxApiKeys}); with this many, createApiKey answers LIMIT_EXCEEDED.` })
  maxApiKeys!: number;

  @Field(() => Int, { description: `Agents, active or not (default ${D.maxAgents}); with this many, createAgent answers LIMIT_EXCEEDED.` })
  maxAgents!: number;

  @Field(() => Int, {
    description: `Phone numbers (default ${D.maxPhoneNumbers}); with this many, createPhoneNumber, buyPhoneNumber and moving a number here answer LIMIT_EXCEEDED.`,
  })
  maxPhoneNumbers!: number;

  @Field(() => Int, {
    description: `Calls admitted and not yet closed out (default ${D.maxConcurrentCalls}); with this many, /inbound_call answers 429 CONCURRENCY_LIMIT to a new call.`,
  })
  maxConcurrentCalls!: number;
}

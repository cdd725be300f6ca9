import { Field, InputType, Int } from "type-graphql";
import { DEFAULT_ACCOUNT_LIMITS as D, MAX_ACCOUNT_LIMIT } from "../../schema/models/account-limits.js";

const range = `0 to ${MAX_ACCOUNT_LIMIT.toLocaleString("en-US")}`;

/**
 * New limits for an account. Absent: unchanged; null: back to the platform default. Lowering a
 * limit below what the account has removes nothing: only new ones are refused.
 */
@InputType({ description: "Limits to change. A limit left out stays as it is; null sets it back to the platform default." })
export class AccountLimitsInput {
  @Field(() => Int, { nullable: true, description: `${range}; null: the default, ${D.maxApiKeys}.` })
  maxApiKeys?: number | null;

  @Field(() => Int, { nullable: true, description: `${range}; null: the default, ${D.maxAgents}.` })
  maxAgents?: number | null;

  @Field(() => Int, { nullable: true, description: `${range}; null: the default, ${D.maxPhoneNumbers}.` })
  maxPhoneNumbers?: number | null;

  @Field(() => Int, { nullable: true, description: `${range}; null: the default, ${D.maxConcurrentCalls}.` })
  maxConcurrentCalls?: number | null;
}

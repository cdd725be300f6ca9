import { Field, ID, InputType } from "type-graphql";

const SHARED_DESCRIPTION =
  "Admin keys only (FORBIDDEN otherwise): a shared platform number routes a forwarded call to the account that verified its ForwardedFrom number.";

@InputType()
export class CreatePhoneNumberInput {
  @Field({ description: "E.164, like +14155550100. A number belongs to one account only." })
  e164!: string;

  @Field(() => ID, { nullable: true, description: "The agent that answers calls to the number; one of the account's." })
  agentId?: string | null;

  @Field(() => String, { nullable: true, description: "Up to 200 characters." })
  friendlyName?: string | null;

  @Field(() => ID, { nullable: true, description: "Admin keys: the account the number belongs to. Account keys: their own." })
  accountId?: string | null;

  @Field(() => Boolean, { nullable: true, description: `${SHARED_DESCRIPTION} Default false.` })
  shared?: boolean | null;
}

@InputType()
export class UpdatePhoneNumberInput {
  @Field(() => ID, { nullable: true, description: "Absent: unchanged. null: no agent (calls to the number are refused)." })
  agentId?: string | null;

  @Field(() => String, { nullable: true, description: "Absent or null: unchanged." })
  friendlyName?: string | null;

  @Field(() => Boolean, { nullable: true, description: `${SHARED_DESCRIPTION} Absent or null: unchanged.` })
  shared?: boolean | null;
}

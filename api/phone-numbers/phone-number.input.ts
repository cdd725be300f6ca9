import { ArgsType, Field, ID, InputType, Int } from "type-graphql";

const SHARED_DESCRIPTION =
  "Admin keys only (FORBIDDEN otherwise): a shared platform number routes a forwarded call to the account that verified its ForwardedFrom number.";

@InputType({
  description:
    "Account keys: the number must be held by the platform's Twilio account and no other account's; it is then pointed at Call24x7. Admin keys: any number, unchecked.",
})
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

  @Field(() => ID, {
    nullable: true,
    description:
      "Admin keys: move the number to this account; its agent is cleared unless agentId names one of the new account's. Absent or null: unchanged.",
  })
  accountId?: string | null;

  @Field(() => Boolean, { nullable: true, description: `${SHARED_DESCRIPTION} Absent or null: unchanged.` })
  shared?: boolean | null;
}

@ArgsType()
export class BuyPhoneNumberArgs {
  @Field({ description: "E.164, one of availablePhoneNumbers." })
  e164!: string;

  @Field(() => ID, { nullable: true, description: "The agent that answers calls to the number; one of the account's." })
  agentId?: string | null;

  @Field(() => String, { nullable: true, description: "Up to 200 characters." })
  friendlyName?: string | null;

  @Field(() => ID, { nullable: true, description: "Admin keys: the account the number is for. Account keys: their own." })
  accountId?: string | null;
}

@ArgsType()
export class AvailablePhoneNumbersArgs {
  @Field({ description: 'ISO 3166-1 alpha-2 country code, like "US".' })
  country!: string;

  @Field(() => Int, { nullable: true, description: "US and CA only: the three-digit area code, like 415." })
  areaCode?: number | null;

  @Field(() => String, {
    nullable: true,
    description: "2 to 16 digits or letters (letters match their keypad digits); * matches any one digit.",
  })
  contains?: string | null;
}

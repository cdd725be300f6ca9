import { Field, InputType } from "type-graphql";
import type { AccountStatus } from "../../schema/models/account.model.js";
import { AccountLimitsInput } from "./account-limits.input.js";
import { AccountStatusEnum } from "./account.type.js";

@InputType()
export class CreateAccountInput {
  @Field({ description: "1 to 200 characters." })
  name!: string;

  @Field()
  email!: string;

  @Field(() => [String], { defaultValue: [], description: "Forwarding numbers (E.164), at most 20, verified by the admin's word." })
  phoneNumbers!: string[];

  @Field(() => String, { nullable: true, description: 'Per-minute rate as a USD decimal string, like "0.15"; default the platform rate.' })
  ratePerMinuteUsd?: string | null;
}

/** Every field is optional; null and absent both mean "unchanged". */
@InputType()
export class UpdateAccountInput {
  @Field(() => String, { nullable: true })
  name?: string | null;

  @Field(() => String, { nullable: true })
  email?: string | null;

  @Field(() => [String], {
    nullable: true,
    description:
      "Replaces the verified forwarding numbers (E.164), at most 20. Admin keys: any numbers, verified by their word. Account keys " +
      "may only drop numbers; adding one is FORBIDDEN (prove it with startForwardingNumberVerification).",
  })
  phoneNumbers?: string[] | null;

  @Field(() => String, { nullable: true, description: "Admin keys only." })
  ratePerMinuteUsd?: string | null;

  @Field(() => AccountStatusEnum, { nullable: true, description: "Admin keys only." })
  status?: AccountStatus | null;

  @Field(() => AccountLimitsInput, {
    nullable: true,
    description: "Admin keys only. The limits to change; those left out stay as they are.",
  })
  limits?: AccountLimitsInput | null;
}

import { ArgsType, Field, ID } from "type-graphql";
import type { ApiKeyScope } from "../../schema/models/api-key.model.js";
import { ApiKeyScopeEnum } from "./api-key.type.js";

@ArgsType()
export class CreateApiKeyArgs {
  @Field({ description: "A label to tell keys apart, 1 to 200 characters." })
  name!: string;

  @Field(() => ApiKeyScopeEnum, {
    nullable: true,
    description:
      "Default: the scope of the key in use (ACCOUNT for account keys; for admin keys ACCOUNT when accountId is given, else ADMIN). Only admin keys create ADMIN keys.",
  })
  scope?: ApiKeyScope | null;

  @Field(() => ID, { nullable: true, description: "Admin keys: the account an ACCOUNT key is for." })
  accountId?: string | null;
}

import type { Types } from "mongoose";
import { Field, ID, ObjectType } from "type-graphql";
import { API_KEY_SCOPES, type ApiKey as ApiKeyFields, type ApiKeyScope } from "../../schema/models/api-key.model.js";
import { Connection } from "../graphql/connection.type.js";
import { modelEnum } from "../graphql/enums.js";

export type ApiKeyRecord = ApiKeyFields & { _id: Types.ObjectId };

export const ApiKeyScopeEnum = modelEnum(
  "ApiKeyScope",
  API_KEY_SCOPES,
  "ACCOUNT keys see and change only their account; ADMIN keys manage the whole platform.",
);

@ObjectType({ description: "An API key. The key itself is stored hashed and shown only when created." })
export class ApiKey {
  @Field(() => ID, { name: "id" })
  _id!: Types.ObjectId;

  @Field()
  name!: string;

  @Field({ description: "The visible start of the key, to tell keys apart." })
  prefix!: string;

  @Field(() => ApiKeyScopeEnum)
  scope!: ApiKeyScope;

  // Resolved by ApiKeyResolver from ApiKeyUsage, which authentication writes instead of the key.
  @Field(() => Date, { nullable: true, description: "Updated at most once a minute." })
  lastUsedAt!: Date | null;

  @Field(() => Date, { nullable: true, description: "Set when revoked; a revoked key is refused." })
  revokedAt!: Date | null;

  @Field()
  createdAt!: Date;
}

@ObjectType()
export class ApiKeyConnection extends Connection(ApiKey) {}

@ObjectType()
export class CreateApiKeyPayload {
  @Field(() => ApiKey)
  apiKey!: ApiKeyRecord;

  @Field({ description: "The key in plain text, for the Authorization: Bearer header. Shown this once." })
  key!: string;
}

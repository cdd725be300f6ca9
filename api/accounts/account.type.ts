import type { Types } from "mongoose";
import { Field, ID, ObjectType } from "type-graphql";
import { ACCOUNT_STATUSES, type Account as AccountFields, type AccountStatus } from "../../schema/models/account.model.js";
import { Connection } from "../graphql/connection.type.js";
import { modelEnum } from "../graphql/enums.js";

export type AccountRecord = AccountFields & { _id: Types.ObjectId };

export const AccountStatusEnum = modelEnum("AccountStatus", ACCOUNT_STATUSES, "Suspended accounts get no calls.");

@ObjectType({ description: "A customer. Money fields are USD decimal strings with six decimals." })
export class Account {
  @Field(() => ID, { name: "id" })
  _id!: Types.ObjectId;

  @Field()
  name!: string;

  @Field()
  email!: string;

  @Field(() => AccountStatusEnum)
  status!: AccountStatus;

  @Field()
  createdAt!: Date;

  @Field()
  updatedAt!: Date;
}

@ObjectType()
export class CreateAccountPayload {
  @Field(() => Account)
  account!: AccountRecord;

  @Field({ description: "The account's first API key in plain text. It is shown this once and never again." })
  apiKey!: string;
}

@ObjectType()
export class AccountConnection extends Connection(Account) {}

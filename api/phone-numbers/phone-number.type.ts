import type { Types } from "mongoose";
import { Field, ID, ObjectType } from "type-graphql";
import type { PhoneNumber as PhoneNumberFields } from "../../schema/models/phone-number.model.js";
import { Connection } from "../graphql/connection.type.js";

export type PhoneNumberRecord = PhoneNumberFields & { _id: Types.ObjectId };

@ObjectType({ description: "A number callers dial (Twilio's To). It belongs to one account and routes to its agent." })
export class PhoneNumber {
  @Field(() => ID, { name: "id" })
  _id!: Types.ObjectId;

  @Field({ description: "E.164, like +14155550100." })
  e164!: string;

  @Field()
  friendlyName!: string;

  @Field({
    description:
      "A shared platform number: a call forwarded to it goes to the account that verified the ForwardedFrom number. " +
      "On other numbers ForwardedFrom counts only when this number's account verified it.",
  })
  shared!: boolean;

  @Field()
  createdAt!: Date;

  @Field()
  updatedAt!: Date;
}

@ObjectType()
export class PhoneNumberConnection extends Connection(PhoneNumber) {}

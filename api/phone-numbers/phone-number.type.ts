import type { Types } from "mongoose";
import { Field, ID, ObjectType } from "type-graphql";
import { PHONE_NUMBER_SOURCES, type PhoneNumber as PhoneNumberFields } from "../../schema/models/phone-number.model.js";
import { Connection } from "../graphql/connection.type.js";
import { modelEnum } from "../graphql/enums.js";

export type PhoneNumberRecord = PhoneNumberFields & { _id: Types.ObjectId };

export const PhoneNumberSourceEnum = modelEnum(
  "PhoneNumberSource",
  PHONE_NUMBER_SOURCES,
  "VERIFIED: proven through the platform's Twilio account; PURCHASED: bought through it; ADMIN: registered by an admin key without checks (and numbers registered before checks existed).",
);

@ObjectType({ description: "A number callers dial (Twilio's To). It belongs to one account and routes to its agent." })
export class PhoneNumber {
  @Field(() => ID, { name: "id" })
  _id!: Types.ObjectId;

  @Field({ description: "E.164, like +14155550100." })
  e164!: string;

  @Field()
  friendlyName!: string;

  @Field(() => String, {
    nullable: true,
    description: "Twilio's IncomingPhoneNumber sid (PN...) in the platform's account; null for numbers held elsewhere.",
  })
  twilioSid!: string | null;
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

@ObjectType()
export class PhoneNumberCapabilities {
  @Field()
  voice!: boolean;

  @Field()
  sms!: boolean;

  @Field()
  mms!: boolean;
}

@ObjectType({ description: "A number the platform's Twilio account can buy with buyPhoneNumber." })
export class AvailablePhoneNumber {
  @Field({ description: "E.164, like +14155550100." })
  e164!: string;

  @Field({ description: 'As Twilio formats it, like "(415) 555-0100".' })
  friendlyName!: string;

  @Field(() => String, { nullable: true, description: "City, where Twilio knows it." })
  locality!: string | null;

  @Field(() => String, { nullable: true, description: "State or province abbreviation (US and CA)." })
  region!: string | null;

  @Field()
  isoCountry!: string;

  @Field(() => PhoneNumberCapabilities)
  capabilities!: PhoneNumberCapabilities;
}

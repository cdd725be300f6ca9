import type { Types } from "mongoose";
import { Field, ID, Int, ObjectType } from "type-graphql";
import {
  FORWARDING_NUMBER_METHODS,
  type ForwardingNumber as ForwardingNumberFields,
  type ForwardingNumberMethod,
} from "../../schema/models/forwarding-number.model.js";
import { Connection } from "../graphql/connection.type.js";
import { modelEnum } from "../graphql/enums.js";
import { VERIFICATION_STATUSES, type VerificationStatus, type VerificationView } from "./forwarding-verification.service.js";

export type ForwardingNumberRecord = ForwardingNumberFields & { _id: Types.ObjectId };

export const ForwardingNumberMethodEnum = modelEnum(
  "ForwardingNumberMethod",
  FORWARDING_NUMBER_METHODS,
  "CALL: the code was keyed in on our verification call. ADMIN: an admin key marked it verified.",
);

export const VerificationStatusEnum = modelEnum(
  "ForwardingNumberVerificationStatus",
  VERIFICATION_STATUSES,
  "PENDING: waiting for the code on the call. LOCKED: five wrong codes. SUPERSEDED: a newer verification of the number replaced it. " +
    "CONFLICT: the code was right but another account verified the number first. FAILED: Twilio did not place the call.",
);

@ObjectType({
  description:
    "A verified forwarding number: calls forwarded from it reach the account's active inbound agent when they are forwarded " +
    "to a shared platform number or to one of the account's own numbers. A number is verified for one account at most.",
})
export class ForwardingNumber {
  @Field(() => ID, { name: "id" })
  _id!: Types.ObjectId;

  @Field({ description: "E.164, like +14155550100." })
  e164!: string;

  @Field(() => ForwardingNumberMethodEnum)
  method!: ForwardingNumberMethod;

  @Field()
  verifiedAt!: Date;

  @Field()
  createdAt!: Date;
}

@ObjectType()
export class ForwardingNumberConnection extends Connection(ForwardingNumber) {}

@ObjectType({ description: "One attempt to prove a forwarding number by a call. Readable for 24 hours." })
export class ForwardingNumberVerification implements Omit<VerificationView, "accountId"> {
  @Field(() => ID)
  id!: string;

  @Field()
  e164!: string;

  @Field(() => VerificationStatusEnum)
  status!: VerificationStatus;

  @Field(() => Int, { description: "Codes that may still be keyed in (5 at the start)." })
  attemptsLeft!: number;

  @Field({ description: "The code is refused after this time (10 minutes after the start)." })
  expiresAt!: Date;

  @Field()
  createdAt!: Date;

  @Field(() => String, { nullable: true, description: "Twilio's CallSid of the verification call." })
  callSid!: string | null;
}

@ObjectType()
export class StartForwardingNumberVerificationPayload {
  @Field({
    description:
      "The 6-digit code to show the user, who keys it in on the phone when our call rings. Shown this once; it cannot be entered through the API.",
  })
  code!: string;

  @Field(() => ForwardingNumberVerification)
  verification!: VerificationView;
}

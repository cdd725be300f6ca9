import type { Types } from "mongoose";
import { Field, ID, Int, ObjectType } from "type-graphql";
import { CALL_STATUSES, type Call as CallFields, type CallStatus } from "../../schema/models/call.model.js";
import { Connection } from "../graphql/connection.type.js";
import { modelEnum } from "../graphql/enums.js";

/** `transcript` is written by the media worker and may not be declared in every model version. */
export type CallRecord = CallFields & { _id: Types.ObjectId; transcript?: unknown };

export const CallStatusEnum = modelEnum("CallStatus", CALL_STATUSES, "Where the call is in its life.");

@ObjectType({ description: "One phone call, keyed by Twilio's CallSid." })
export class Call {
  @Field(() => ID, { name: "id" })
  _id!: Types.ObjectId;

  @Field()
  callSid!: string;

  @Field(() => CallStatusEnum)
  status!: CallStatus;

  @Field()
  direction!: string;

  @Field({ description: "The caller as Twilio sent it: E.164, anonymous, client: or sip: identities, or empty." })
  from!: string;

  @Field({ description: "The dialled number." })
  to!: string;

  @Field(() => String, { nullable: true, description: "The customer's number the call was forwarded from." })
  forwardedFrom!: string | null;

  @Field(() => String, { nullable: true, description: "The caller's own id for the call (external_call_id)." })
  externalCallId!: string | null;

  @Field()
  startedAt!: Date;

  @Field(() => Date, { nullable: true })
  answeredAt!: Date | null;

  @Field(() => Date, { nullable: true })
  endedAt!: Date | null;

  @Field(() => Int, { description: "Connected seconds billed, rounded up; 0 until the call is billed." })
  billedSeconds!: number;

  @Field(() => String, { nullable: true })
  endedReason!: string | null;
}

@ObjectType()
export class CallConnection extends Connection(Call) {}

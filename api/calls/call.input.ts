import { Field, ID, InputType } from "type-graphql";
import type { CallStatus } from "../../schema/models/call.model.js";
import { CallStatusEnum } from "./call.type.js";

/** Every given field must match (AND); `from`, `to` and `externalCallId` match exactly. */
@InputType()
export class CallFilter {
  @Field(() => CallStatusEnum, { nullable: true })
  status?: CallStatus | null;

  @Field(() => ID, { nullable: true })
  agentId?: string | null;

  @Field(() => String, { nullable: true })
  from?: string | null;

  @Field(() => String, { nullable: true })
  to?: string | null;

  @Field(() => String, { nullable: true })
  externalCallId?: string | null;

  @Field(() => Date, { nullable: true, description: "Calls started at or after this instant." })
  startedAfter?: Date | null;

  @Field(() => Date, { nullable: true, description: "Calls started before this instant." })
  startedBefore?: Date | null;
}

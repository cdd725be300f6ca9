import type { Types } from "mongoose";
import { Field, ID, Int, ObjectType } from "type-graphql";
import { AGENT_STATUSES, type Agent as AgentFields, type AgentStatus } from "../../schema/models/agent.model.js";
import { Connection } from "../graphql/connection.type.js";
import { modelEnum } from "../graphql/enums.js";

export type AgentRecord = AgentFields & { _id: Types.ObjectId };

export const AgentStatusEnum = modelEnum("AgentStatus", AGENT_STATUSES, "Inactive agents take no calls.");

@ObjectType({ description: "An AI voice agent: what it says and how long a call with it may last." })
export class Agent {
  @Field(() => ID, { name: "id" })
  _id!: Types.ObjectId;

  @Field()
  name!: string;

  @Field({ description: "The system prompt the agent follows." })
  instructions!: string;

  @Field({ description: "What the agent says first." })
  greeting!: string;

  @Field()
  voice!: string;

  @Field({ description: "BCP 47 language tag, like en-US." })
  language!: string;

  @Field(() => Int, { description: "Seconds; the call ends with a goodbye when reached." })
  maxCallDurationSeconds!: number;

  @Field(() => AgentStatusEnum)
  status!: AgentStatus;

  @Field()
  createdAt!: Date;

  @Field()
  updatedAt!: Date;
}

@ObjectType()
export class AgentConnection extends Connection(Agent) {}

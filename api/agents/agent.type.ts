import type { Types } from "mongoose";
import { Field, ID, Int, ObjectType } from "type-graphql";
import { AGENT_STATUSES, type Agent as AgentFields, type AgentStatus } from "../../schema/models/agent.model.js";
import type { VoiceEngineName } from "../../schema/models/agent-config.js";
import { Connection } from "../graphql/connection.type.js";
import { modelEnum } from "../graphql/enums.js";
import { AgentIntent, VoiceEngineEnum } from "./agent-intent.type.js";

export type AgentRecord = AgentFields & { _id: Types.ObjectId };

export const AgentStatusEnum = modelEnum("AgentStatus", AGENT_STATUSES, "Inactive agents take no calls.");

@ObjectType({ description: "An AI voice agent: what it says, with which voice engine, and how long a call with it may last." })
export class Agent {
  @Field(() => ID, { name: "id" })
  _id!: Types.ObjectId;

  @Field()
  name!: string;

  @Field({ description: "The system prompt the agent follows." })
  instructions!: string;

  @Field({ description: "What the agent says first." })
  greeting!: string;

  @Field(() => VoiceEngineEnum, {
    description: "The engine its calls use; unless one was chosen, OPENAI_REALTIME when the platform has an OpenAI key, else LOCAL.",
  })
  engine!: VoiceEngineName;

  @Field({
    description: 'An OpenAI voice like "alloy" (OPENAI_REALTIME) or an espeak-ng voice like "en-us" (LOCAL); "": the engine\'s default.',
  })
  voice!: string;

  @Field({ description: "BCP 47 language tag, like en-US." })
  language!: string;

  @Field(() => [AgentIntent], { description: "What the LOCAL engine listens for and answers." })
  intents!: AgentIntent[];

  @Field({ description: "What the LOCAL engine says when it did not understand." })
  fallbackReply!: string;

  @Field(() => [String], { description: "The caller saying one of these ends the call after the agent's goodbye." })
  endCallPhrases!: string[];

  @Field(() => Int, { description: "Seconds of silence before the agent asks whether the caller is still there; 0: never." })
  silenceReminderSeconds!: number;

  @Field(() => Int, { description: "Seconds of silence after which the agent says goodbye and hangs up." })
  silenceTimeoutSeconds!: number;

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

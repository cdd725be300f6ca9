import { Field, ID, InputType, Int } from "type-graphql";
import type { VoiceEngineName } from "../../schema/models/agent-config.js";
import type { AgentStatus } from "../../schema/models/agent.model.js";
import { AgentIntentInput, VoiceEngineEnum } from "./agent-intent.type.js";
import { AgentStatusEnum } from "./agent.type.js";

/** Fields an agent is made of; in updates every field is optional and null means "unchanged". */
@InputType()
export class UpdateAgentInput {
  @Field(() => String, { nullable: true, description: "1 to 200 characters." })
  name?: string | null;

  @Field(() => String, { nullable: true, description: "The system prompt, up to 20,000 characters." })
  instructions?: string | null;

  @Field(() => String, { nullable: true, description: "Up to 1,000 characters." })
  greeting?: string | null;

  @Field(() => VoiceEngineEnum, { nullable: true, description: "LOCAL or OPENAI_REALTIME." })
  engine?: VoiceEngineName | null;

  @Field(() => String, {
    nullable: true,
    description: 'An OpenAI voice like "alloy" (OPENAI_REALTIME), or an espeak-ng voice like "en-us" or "en-gb+f3" (LOCAL).',
  })
  voice?: string | null;

  @Field(() => String, { nullable: true, description: "BCP 47 tag, like en-US." })
  language?: string | null;

  @Field(() => [AgentIntentInput], { nullable: true, description: "Up to 50; replaces the current list." })
  intents?: AgentIntentInput[] | null;

  @Field(() => String, { nullable: true, description: "1 to 1,000 characters." })
  fallbackReply?: string | null;

  @Field(() => [String], { nullable: true, description: "Up to 20 phrases of up to 100 characters; replaces the current list." })
  endCallPhrases?: string[] | null;

  @Field(() => Int, { nullable: true, description: "1 to 3,600 seconds, shorter than silenceTimeoutSeconds; 0: no reminder." })
  silenceReminderSeconds?: number | null;

  @Field(() => Int, { nullable: true, description: "1 to 3,600 seconds." })
  silenceTimeoutSeconds?: number | null;

  @Field(() => Int, { nullable: true, description: "10 to 14,400 seconds." })
  maxCallDurationSeconds?: number | null;

  @Field(() => AgentStatusEnum, { nullable: true })
  status?: AgentStatus | null;
}

@InputType()
export class CreateAgentInput extends UpdateAgentInput {
  @Field(() => ID, { nullable: true, description: "Admin keys: the account the agent belongs to. Account keys: their own." })
  accountId?: string | null;

  @Field({ description: "1 to 200 characters." })
  declare name: string;
}

@InputType()
export class AgentFilter {
  @Field(() => AgentStatusEnum, { nullable: true })
  status?: AgentStatus | null;

  @Field(() => String, { nullable: true, description: "Case-insensitive part of the name." })
  nameContains?: string | null;
}

import { Field, InputType, ObjectType } from "type-graphql";
import { VOICE_ENGINES } from "../../schema/models/agent-config.js";
import { modelEnum } from "../graphql/enums.js";

export const VoiceEngineEnum = modelEnum(
  "VoiceEngine",
  VOICE_ENGINES,
  "Who talks on the agent's calls: LOCAL (offline: espeak-ng, PocketSphinx, the agent's intents or an LLM) or OPENAI_REALTIME.",
);

@ObjectType({ description: "Something the caller may say, and what the agent answers." })
export class AgentIntent {
  @Field(() => [String], { description: "Phrases to listen for, stored normalized (lower case, no punctuation)." })
  phrases!: string[];

  @Field()
  reply!: string;

  @Field({ description: "The agent hangs up once the reply has played." })
  endCall!: boolean;
}

@InputType()
export class AgentIntentInput {
  @Field(() => [String], { description: "1 to 20 phrases of up to 100 characters, each used by one intent only." })
  phrases!: string[];

  @Field({ description: "1 to 1,000 characters." })
  reply!: string;

  @Field(() => Boolean, { nullable: true, description: "Hang up after the reply (default false)." })
  endCall?: boolean | null;
}

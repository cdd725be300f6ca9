import { Field, Float, Int, ObjectType } from "type-graphql";

@ObjectType({ description: "One turn of a call's conversation, as the media worker stored it." })
export class TranscriptTurn {
  @Field({ description: "caller or agent." })
  role!: string;

  @Field({ description: "speech, or dtmf (a key the caller pressed; the text is the key)." })
  kind!: string;

  @Field({ description: "What was said; empty when the caller's words were not understood." })
  text!: string;

  @Field({ description: "When the turn began." })
  at!: Date;

  @Field(() => Int, { description: "When the turn began, in milliseconds since the call's audio started." })
  offsetMs!: number;

  @Field({ description: "The caller talked over this agent turn, which was cut short." })
  interrupted!: boolean;
}

@ObjectType({ description: "What a call used of its voice engine." })
export class CallUsage {
  @Field(() => String, { nullable: true, description: "LOCAL or OPENAI_REALTIME (or a development engine)." })
  engine!: string | null;

  @Field(() => String, { nullable: true, description: "Who did the talking, e.g. openai:gpt-realtime or local:espeak-ng+pocketsphinx." })
  provider!: string | null;

  @Field(() => Float, { description: "Seconds of the caller's audio received." })
  audioInSeconds!: number;

  @Field(() => Float, { description: "Seconds of agent audio sent." })
  audioOutSeconds!: number;

  @Field(() => Int, { nullable: true, description: "Tokens the provider (or the LLM) reported, when any." })
  inputTokens!: number | null;

  @Field(() => Int, { nullable: true })
  outputTokens!: number | null;
}

import { AppError } from "../infra/errors.js";

/**
 * How an agent talks: its voice engine and the call-control settings every engine honours.
 * Pure rules shared by the Agent model, the GraphQL API and the media worker.
 */

export const VOICE_ENGINES = ["LOCAL", "OPENAI_REALTIME"] as const;
export type VoiceEngineName = (typeof VOICE_ENGINES)[number];

/** Voices the OpenAI Realtime API offers. */
export const OPENAI_VOICES = ["alloy", "ash", "ballad", "coral", "echo", "sage", "shimmer", "verse", "marin", "cedar"] as const;

/** An espeak-ng voice: a language code with an optional variant, like `en-us`, `en-gb+f3`. */
const ESPEAK_VOICE = /^[a-z]{2,3}(-[a-z0-9]{1,8}){0,2}(\+[a-z0-9]{1,16})?$/;

export const LIMITS = {
  greetingChars: 1_000,
  replyChars: 1_000,
  phraseChars: 100,
  phrasesPerIntent: 20,
  intents: 50,
  endCallPhrases: 20,
  voiceChars: 40,
  silenceSeconds: { min: 1, max: 3_600 },
  maxCallDurationSeconds: { min: 10, max: 4 * 3_600 },
} as const;

export interface AgentIntent {
  /** What the caller may say (normalized: lower case, single spaces, no punctuation). */
  phrases: string[];
  /** What the agent answers. */
  reply: string;
  /** Hang up once the reply has been played. */
  endCall: boolean;
}

export interface AgentVoiceConfig {
  /** null: the platform default (OPENAI_REALTIME when a key is configured, else LOCAL). */
  engine: VoiceEngineName | null;
  /** An OpenAI voice or an espeak-ng voice; "" (or a voice of the other engine): the engine's default. */
  voice: string;
  greeting: string;
  intents: AgentIntent[];
  fallbackReply: string;
  endCallPhrases: string[];
  /** Seconds of silence before the agent asks whether the caller is still there; 0: never. */
  silenceReminderSeconds: number;
  /** Seconds of silence after which the agent says goodbye and hangs up. */
  silenceTimeoutSeconds: number;
  maxCallDurationSeconds: number;
}

/** A create or update: absent (or null) fields keep their current value. */
export type AgentVoiceConfigInput = {
  [K in keyof AgentVoiceConfig]?: K extends "intents"
    ? { phrases: string[]; reply: string; endCall?: boolean | null }[] | null
    : AgentVoiceConfig[K] | null;
};

/** Defaults like the hosted platforms': a reminder after 10 s of silence, hang-up after 30 s. */
export const DEFAULT_VOICE_CONFIG: AgentVoiceConfig = {
  engine: null,
  // An OpenAI voice; the local engine speaks the agent's language with espeak-ng instead.
  voice: "alloy",
  greeting: "",
  intents: [],
  fallbackReply: "Sorry, I didn't catch that. Could you say it another way?",
  endCallPhrases: ["goodbye", "bye bye"],
  silenceReminderSeconds: 10,
  silenceTimeoutSeconds: 30,
  maxCallDurationSeconds: 600,
};

/** Invalid agent configuration; `field` is the input path, e.g. `intents[2].phrases[0]`. */
export class AgentConfigError extends AppError {
  readonly field: string;
  /** The message without the field's name. */
  readonly problem: string;

  constructor(field: string, problem: string) {
    super("INVALID_AGENT_CONFIG", `${field} ${problem}`, { status: 400 });
    this.field = field;
    this.problem = problem;
  }
}

/** The engine an agent's calls use. */
export function resolveEngine(engine: VoiceEngineName | null | undefined, openaiConfigured: boolean): VoiceEngineName {
  return engine ?? (openaiConfigured ? "OPENAI_REALTIME" : "LOCAL");
}

/** Lower case, letters, digits and apostrophes only, single spaces: the form phrases are matched in. */
export function normalizePhrase(text: string): string {
  return text
    .normalize("NFKC")
    .toLowerCase()
    .replace(/[’‘]/g, "'")
    .replace(/[^\p{L}\p{N}' ]+/gu, " ")
    .replace(/\s+/g, " ")
    .trim();
}

function text(field: string, value: unknown, opts: { max: number; min?: number }): string {
  if (typeof value !== "string") throw new AgentConfigError(field, "must be a string");
  const trimmed = value.trim();
  if (trimmed.length < (opts.min ?? 0)) throw new AgentConfigError(field, "must not be empty");
  if (trimmed.length > opts.max) throw new AgentConfigError(field, `must be at most ${opts.max} characters`);
  return trimmed;
}

function seconds(field: string, value: unknown, range: { min: number; max: number }, allowZero = false): number {
  if (typeof value !== "number" || !Number.isInteger(value)) throw new AgentConfigError(field, "must be a whole number of seconds");
  if (allowZero && value === 0) return 0;
  if (value < range.min || value > range.max) {
    throw new AgentConfigError(field, `must be between ${range.min} and ${range.max}${allowZero ? " (or 0 for none)" : ""}`);
  }
  return value;
}

function phrase(field: string, value: unknown): string {
  const raw = text(field, value, { max: LIMITS.phraseChars, min: 1 });
  const normalized = normalizePhrase(raw);
  if (!/\p{L}/u.test(normalized)) throw new AgentConfigError(field, "must contain words");
  return normalized;
}

function list<T>(field: string, value: unknown, max: number, item: (f: string, v: unknown) => T): T[] {
  if (!Array.isArray(value)) throw new AgentConfigError(field, "must be a list");
  if (value.length > max) throw new AgentConfigError(field, `must have at most ${max} entries`);
  return value.map((v, i) => item(`${field}[${i}]`, v));
}

function intent(field: string, value: unknown): AgentIntent {
  if (typeof value !== "object" || value === null) throw new AgentConfigError(field, "must be an object");
  const v = value as { phrases?: unknown; reply?: unknown; endCall?: unknown };
  const phrases = list(`${field}.phrases`, v.phrases, LIMITS.phrasesPerIntent, phrase);
  if (phrases.length === 0) throw new AgentConfigError(`${field}.phrases`, "must have at least one phrase");
  if (v.endCall != null && typeof v.endCall !== "boolean") throw new AgentConfigError(`${field}.endCall`, "must be true or false");
  return { phrases, reply: text(`${field}.reply`, v.reply, { max: LIMITS.replyChars, min: 1 }), endCall: v.endCall === true };
}

/** An espeak-ng voice name (OpenAI's short names like "ash" are not). */
export function isEspeakVoice(voice: string): boolean {
  return ESPEAK_VOICE.test(voice) && !(OPENAI_VOICES as readonly string[]).includes(voice);
}

export function voiceFits(engine: VoiceEngineName | null, voice: string): boolean {
  if (engine === "OPENAI_REALTIME") return voice === "" || (OPENAI_VOICES as readonly string[]).includes(voice);
  if (engine === "LOCAL") return voice === "" || isEspeakVoice(voice);
  return true;
}

function voiceFor(engine: VoiceEngineName | null, voice: string): string {
  if (voice === "") return "";
  if (voice.length > LIMITS.voiceChars) throw new AgentConfigError("voice", `must be at most ${LIMITS.voiceChars} characters`);
  const openai = (OPENAI_VOICES as readonly string[]).includes(voice);
  const espeak = isEspeakVoice(voice);
  if (engine === "OPENAI_REALTIME" && !openai) {
    throw new AgentConfigError(
      "voice",
      `must be one of ${OPENAI_VOICES.join(", ")} for the OPENAI_REALTIME engine (or empty for the default)`,
    );
  }
  if (engine === "LOCAL" && !espeak) {
    throw new AgentConfigError(
      "voice",
      'must be an espeak-ng voice like "en-us" or "en-gb+f3" for the LOCAL engine (or empty for the default)',
    );
  }
  // Platform default engine: either kind is accepted, each engine ignores the other's voices.
  if (!openai && !espeak) throw new AgentConfigError("voice", 'must be an OpenAI voice like "alloy" or an espeak-ng voice like "en-us"');
  return voice;
}

/**
 * Validates a create or update of an agent's voice configuration over its current one (the
 * defaults for a new agent) and returns the complete, normalized configuration to store.
 * Throws AgentConfigError naming the first invalid field; nothing is written on error.
 */
export function validateAgentConfig(input: AgentVoiceConfigInput, current: AgentVoiceConfig = DEFAULT_VOICE_CONFIG): AgentVoiceConfig {
  const next: AgentVoiceConfig = { ...current };
  if (input.engine != null) {
    if (!(VOICE_ENGINES as readonly string[]).includes(input.engine))
      throw new AgentConfigError("engine", `must be one of ${VOICE_ENGINES.join(", ")}`);
    next.engine = input.engine;
  }
  if (input.voice != null) next.voice = text("voice", input.voice, { max: LIMITS.voiceChars }).toLowerCase();
  if (input.greeting != null) next.greeting = text("greeting", input.greeting, { max: LIMITS.greetingChars });
  if (input.intents != null) next.intents = list("intents", input.intents, LIMITS.intents, intent);
  if (input.fallbackReply != null) next.fallbackReply = text("fallbackReply", input.fallbackReply, { max: LIMITS.replyChars, min: 1 });
  if (input.endCallPhrases != null) next.endCallPhrases = list("endCallPhrases", input.endCallPhrases, LIMITS.endCallPhrases, phrase);
  if (input.silenceReminderSeconds != null) {
    next.silenceReminderSeconds = seconds("silenceReminderSeconds", input.silenceReminderSeconds, LIMITS.silenceSeconds, true);
  }
  if (input.silenceTimeoutSeconds != null) {
    next.silenceTimeoutSeconds = seconds("silenceTimeoutSeconds", input.silenceTimeoutSeconds, LIMITS.silenceSeconds);
  }
  if (input.maxCallDurationSeconds != null) {
    next.maxCallDurationSeconds = seconds("maxCallDurationSeconds", input.maxCallDurationSeconds, LIMITS.maxCallDurationSeconds);
  }

  // Switching engines without naming a voice drops a voice the new engine cannot use.
  if (input.engine != null && input.voice == null && !voiceFits(next.engine, next.voice)) next.voice = "";
  next.voice = voiceFor(next.engine, next.voice);
  if (next.silenceReminderSeconds !== 0 && next.silenceReminderSeconds >= next.silenceTimeoutSeconds) {
    throw new AgentConfigError("silenceReminderSeconds", "must be shorter than silenceTimeoutSeconds (or 0 for no reminder)");
  }
  // One phrase, one meaning: the recognizer cannot tell two intents (or an intent and a hang-up) apart.
  const owner = new Map<string, string>();
  next.intents.forEach((it, i) => it.phrases.forEach((p, j) => claim(owner, p, `intents[${i}].phrases[${j}]`)));
  next.endCallPhrases.forEach((p, i) => claim(owner, p, `endCallPhrases[${i}]`));
  return next;
}

function claim(owner: Map<string, string>, phrase: string, field: string): void {
  const first = owner.get(phrase);
  if (first) throw new AgentConfigError(field, `repeats "${phrase}" (already ${first})`);
  owner.set(phrase, field);
}

/** The voice configuration of a stored agent, with defaults for fields older agents lack. */
export function storedVoiceConfig(agent: Partial<Record<keyof AgentVoiceConfig, unknown>>): AgentVoiceConfig {
  const d = DEFAULT_VOICE_CONFIG;
  const intents = Array.isArray(agent.intents)
    ? (agent.intents as { phrases?: string[]; reply?: string; endCall?: boolean | null }[]).map((i) => ({
        phrases: [...(i.phrases ?? [])],
        reply: i.reply ?? "",
        endCall: i.endCall === true,
      }))
    : d.intents;
  return {
    engine: (agent.engine as VoiceEngineName | null | undefined) ?? null,
    voice: typeof agent.voice === "string" ? agent.voice : d.voice,
    greeting: typeof agent.greeting === "string" ? agent.greeting : d.greeting,
    intents,
    fallbackReply: typeof agent.fallbackReply === "string" && agent.fallbackReply ? agent.fallbackReply : d.fallbackReply,
    endCallPhrases: Array.isArray(agent.endCallPhrases) ? [...(agent.endCallPhrases as string[])] : d.endCallPhrases,
    silenceReminderSeconds: typeof agent.silenceReminderSeconds === "number" ? agent.silenceReminderSeconds : d.silenceReminderSeconds,
    silenceTimeoutSeconds: typeof agent.silenceTimeoutSeconds === "number" ? agent.silenceTimeoutSeconds : d.silenceTimeoutSeconds,
    maxCallDurationSeconds: typeof agent.maxCallDurationSeconds === "number" ? agent.maxCallDurationSeconds : d.maxCallDurationSeconds,
  };
}

import { ConfigError } from "../../schema/infra/config-error.js";
import { int, optionalStr, str, url, type Env } from "../../schema/infra/env.js";

/** Engines a worker can be told to use for every call, whatever the agent says. */
export const ENGINE_OVERRIDES = ["LOCAL", "OPENAI_REALTIME", "echo"] as const;
export type EngineOverride = (typeof ENGINE_OVERRIDES)[number];

export interface OpenAIRealtimeConfig {
  apiKey: string;
  /** Realtime model, sent as the `model` query parameter (Azure: the deployment's model). */
  model: string;
  /** WebSocket endpoint without the model, e.g. wss://api.openai.com/v1/realtime; may carry a query (Azure's api-version, deployment). */
  url: string;
  /** Model that transcribes the caller's audio for the transcript. */
  transcriptionModel: string;
  /** Milliseconds to open the provider socket before the call ends with provider-error. */
  connectTimeoutMs: number;
}

export interface LlmConfig {
  /** OpenAI-compatible API base, e.g. https://api.openai.com/v1 or http://localhost:11434/v1. */
  baseUrl: string;
  apiKey: string | undefined;
  model: string;
  /** Milliseconds to wait for the first streamed token before the fallback reply is used. */
  timeoutMs: number;
}

export interface LocalEngineConfig {
  espeakBin: string;
  soxBin: string;
  pocketsphinxBin: string;
  /** PocketSphinx model directory holding `en-us/` and `cmudict-en-us.dict`. */
  modelDir: string;
  /** Milliseconds of caller silence that end a turn. */
  turnSilenceMs: number;
  /** Milliseconds of caller speech that count as barge-in while the agent talks. */
  bargeInMs: number;
  /** Speaking rate of espeak-ng, words per minute. */
  wordsPerMinute: number;
  /** Rendered phrases kept in memory per worker (greetings, replies, reminders). */
  ttsCacheEntries: number;
}

export interface EngineConfig {
  /** Forces one engine for every call (VOICE_ENGINE); null: each agent's own engine. */
  override: EngineOverride | null;
  openai: OpenAIRealtimeConfig | null;
  llm: LlmConfig | null;
  local: LocalEngineConfig;
  /** Milliseconds a reminder or goodbye may take to play before the call goes on (or ends) anyway. */
  sayTimeoutMs: number;
}

export function loadEngineConfig(env: Env): EngineConfig {
  const override = optionalStr(env, "VOICE_ENGINE") ?? null;
  if (override !== null && !(ENGINE_OVERRIDES as readonly string[]).includes(override)) {
    throw new ConfigError("VOICE_ENGINE", `must be one of ${ENGINE_OVERRIDES.join(", ")} (or unset: each agent's engine)`);
  }
  const apiKey = optionalStr(env, "OPENAI_API_KEY");
  const llmBase = optionalStr(env, "LLM_BASE_URL");
  if (override === "OPENAI_REALTIME" && !apiKey) throw new ConfigError("OPENAI_API_KEY", "is required when VOICE_ENGINE=OPENAI_REALTIME");
  return {
    override: override as EngineOverride | null,
    openai: apiKey
      ? {
          apiKey,
          model: str(env, "OPENAI_REALTIME_MODEL", "gpt-realtime"),
          url: realtimeUrl(env),
          transcriptionModel: str(env, "OPENAI_TRANSCRIPTION_MODEL", "gpt-4o-mini-transcribe"),
          connectTimeoutMs: int(env, "OPENAI_CONNECT_TIMEOUT_MS", 5_000, 100, 60_000),
        }
      : null,
    llm: llmBase
      ? {
          baseUrl: url(env, "LLM_BASE_URL", llmBase, ["http:", "https:"]),
          apiKey: optionalStr(env, "LLM_API_KEY"),
          model: str(env, "LLM_MODEL", "gpt-4o-mini"),
          timeoutMs: int(env, "LLM_TIMEOUT_MS", 10_000, 100, 120_000),
        }
      : null,
    local: {
      espeakBin: str(env, "ESPEAK_NG_BIN", "espeak-ng"),
      soxBin: str(env, "SOX_BIN", "sox"),
      pocketsphinxBin: str(env, "POCKETSPHINX_BIN", "pocketsphinx_continuous"),
      modelDir: str(env, "POCKETSPHINX_MODEL_DIR", "/usr/share/pocketsphinx/model/en-us"),
      turnSilenceMs: int(env, "LOCAL_TURN_SILENCE_MS", 500, 100, 5_000),
      bargeInMs: int(env, "LOCAL_BARGE_IN_MS", 100, 20, 2_000),
      wordsPerMinute: int(env, "LOCAL_TTS_WPM", 170, 80, 450),
      ttsCacheEntries: int(env, "LOCAL_TTS_CACHE_ENTRIES", 500, 0, 100_000),
    },
    sayTimeoutMs: int(env, "SAY_TIMEOUT_MS", 15_000, 100, 120_000),
  };
}

/** OPENAI_REALTIME_URL, a ws(s) URL that may carry a query (Azure needs api-version and deployment). */
function realtimeUrl(env: Env): string {
  const raw = str(env, "OPENAI_REALTIME_URL", "wss://api.openai.com/v1/realtime");
  let parsed: URL;
  try {
    parsed = new URL(raw);
  } catch {
    throw new ConfigError("OPENAI_REALTIME_URL", `must be an absolute URL, got "${raw}"`);
  }
  if (parsed.protocol !== "wss:" && parsed.protocol !== "ws:")
    throw new ConfigError("OPENAI_REALTIME_URL", "must use wss: (or ws: for a local server)");
  if (parsed.hash) throw new ConfigError("OPENAI_REALTIME_URL", "must not contain a fragment");
  return raw;
}

/** The socket URL of a call: the endpoint plus `model` (unless the endpoint already names one). */
export function realtimeSocketUrl(config: Pick<OpenAIRealtimeConfig, "url" | "model">): string {
  const u = new URL(config.url);
  if (!u.searchParams.has("model") && !u.searchParams.has("deployment")) u.searchParams.set("model", config.model);
  return u.toString();
}

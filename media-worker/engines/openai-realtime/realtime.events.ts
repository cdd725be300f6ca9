/**
 * The OpenAI Realtime API's WebSocket events as this bridge uses them (GA names; the beta's
 * `response.audio.*` names are accepted too). Pure builders and a parser: a malformed or unknown
 * server event becomes `other`/`invalid`, never an exception.
 */

/** The tool through which the model ends the call. */
export const END_CALL_TOOL = {
  type: "function",
  name: "end_call",
  description:
    "Hang up the phone call. Call it when the caller wants to end the call or the conversation is complete, " +
    "after you have said goodbye in the same response.",
  parameters: {
    type: "object",
    properties: { reason: { type: "string", description: "Why the call ends, in a few words." } },
    required: [],
  },
} as const;

export interface SessionSettings {
  instructions: string;
  /** "" leaves the provider's default voice. */
  voice: string;
  /** BCP 47, e.g. en-US. */
  language: string;
  transcriptionModel: string;
}

/** Server VAD settings: the provider finds the caller's turns and may cut the agent short. */
export const SERVER_VAD = {
  type: "server_vad",
  threshold: 0.5,
  prefix_padding_ms: 300,
  silence_duration_ms: 500,
  create_response: true,
  interrupt_response: true,
} as const;

/** Configures the session: mu-law 8 kHz both ways (Twilio's audio passes through untouched). */
export function sessionUpdate(s: SessionSettings): string {
  const language = s.language.split("-")[0]!.toLowerCase();
  const output: Record<string, unknown> = { format: { type: "audio/pcmu" } };
  if (s.voice) output.voice = s.voice;
  return JSON.stringify({
    type: "session.update",
    session: {
      type: "realtime",
      instructions: s.instructions,
      output_modalities: ["audio"],
      audio: {
        input: {
          format: { type: "audio/pcmu" },
          transcription: { model: s.transcriptionModel, language },
          turn_detection: SERVER_VAD,
        },
        output,
      },
      tools: [END_CALL_TOOL],
      tool_choice: "auto",
    },
  });
}

/** Turns the provider's turn detection off (a goodbye must neither be cut short nor answered) or back on. */
export function turnDetectionUpdate(on: boolean): string {
  return JSON.stringify({
    type: "session.update",
    session: { type: "realtime", audio: { input: { turn_detection: on ? SERVER_VAD : null } } },
  });
}

/** Caller audio, base64 mu-law as Twilio sent it; hand-built, it goes out 50 times a second. */
export function appendAudio(payload: string): string {
  return `{"type":"input_audio_buffer.append","audio":"${payload}"}`;
}

/** Asks for a response; `tag` comes back in the response's metadata so we know which request it answers. */
export function responseCreate(opts: { instructions?: string; tag: string; tools?: boolean }): string {
  const response: Record<string, unknown> = { metadata: { call24x7: opts.tag } };
  if (opts.instructions) response.instructions = opts.instructions;
  if (opts.tools === false) response.tool_choice = "none";
  return JSON.stringify({ type: "response.create", response });
}

export function responseCancel(): string {
  return JSON.stringify({ type: "response.cancel" });
}

/** Tells the model how much of an assistant audio item the caller actually heard. */
export function truncateItem(itemId: string, audioEndMs: number): string {
  return JSON.stringify({ type: "conversation.item.truncate", item_id: itemId, content_index: 0, audio_end_ms: audioEndMs });
}

export function functionCallOutput(callId: string, output: unknown): string {
  return JSON.stringify({
    type: "conversation.item.create",
    item: { type: "function_call_output", call_id: callId, output: JSON.stringify(output) },
  });
}

/** A note in the conversation from the caller's side (a key press). */
export function userNote(text: string): string {
  return JSON.stringify({
    type: "conversation.item.create",
    item: { type: "message", role: "user", content: [{ type: "input_text", text }] },
  });
}

export interface ProviderError {
  type: string;
  code: string | null;
  message: string;
}

export type ServerEvent =
  | { kind: "session-created" }
  | { kind: "session-updated" }
  | { kind: "response-created"; responseId: string; tag: string | null }
  | { kind: "audio-delta"; responseId: string; itemId: string; delta: string }
  | { kind: "audio-done"; responseId: string; itemId: string }
  | { kind: "speech-started"; itemId: string | null }
  | { kind: "speech-stopped"; itemId: string | null }
  | { kind: "caller-transcript"; itemId: string; transcript: string }
  | { kind: "agent-transcript"; responseId: string; itemId: string; transcript: string }
  | { kind: "function-call"; responseId: string; callId: string; name: string; arguments: string }
  | {
      kind: "response-done";
      responseId: string;
      status: string;
      error: ProviderError | null;
      usage: { inputTokens: number; outputTokens: number } | null;
    }
  | { kind: "error"; error: ProviderError }
  | { kind: "other"; type: string }
  | { kind: "invalid" };

type Obj = Record<string, unknown>;
const isObj = (v: unknown): v is Obj => typeof v === "object" && v !== null && !Array.isArray(v);
const str = (v: unknown): string => (typeof v === "string" ? v : "");
const num = (v: unknown): number => (typeof v === "number" && Number.isFinite(v) ? v : 0);

function providerError(v: unknown): ProviderError {
  const e = isObj(v) ? v : {};
  return { type: str(e.type) || "unknown", code: typeof e.code === "string" ? e.code : null, message: str(e.message).slice(0, 500) };
}

export function parseServerEvent(raw: string): ServerEvent {
  let e: unknown;
  try {
    e = JSON.parse(raw);
  } catch {
    return { kind: "invalid" };
  }
  if (!isObj(e) || typeof e.type !== "string") return { kind: "invalid" };
  switch (e.type) {
    case "session.created":
      return { kind: "session-created" };
    case "session.updated":
      return { kind: "session-updated" };
    case "response.created": {
      const r = isObj(e.response) ? e.response : {};
      const meta = isObj(r.metadata) ? r.metadata : {};
      return { kind: "response-created", responseId: str(r.id), tag: typeof meta.call24x7 === "string" ? meta.call24x7 : null };
    }
    case "response.output_audio.delta":
    case "response.audio.delta":
      if (typeof e.delta !== "string") return { kind: "invalid" };
      return { kind: "audio-delta", responseId: str(e.response_id), itemId: str(e.item_id), delta: e.delta };
    case "response.output_audio.done":
    case "response.audio.done":
      return { kind: "audio-done", responseId: str(e.response_id), itemId: str(e.item_id) };
    case "input_audio_buffer.speech_started":
      return { kind: "speech-started", itemId: typeof e.item_id === "string" ? e.item_id : null };
    case "input_audio_buffer.speech_stopped":
      return { kind: "speech-stopped", itemId: typeof e.item_id === "string" ? e.item_id : null };
    case "conversation.item.input_audio_transcription.completed":
      return { kind: "caller-transcript", itemId: str(e.item_id), transcript: str(e.transcript) };
    case "response.output_audio_transcript.done":
    case "response.audio_transcript.done":
      return { kind: "agent-transcript", responseId: str(e.response_id), itemId: str(e.item_id), transcript: str(e.transcript) };
    case "response.function_call_arguments.done":
      return {
        kind: "function-call",
        responseId: str(e.response_id),
        callId: str(e.call_id),
        name: str(e.name),
        arguments: str(e.arguments),
      };
    case "response.done": {
      const r = isObj(e.response) ? e.response : {};
      const details = isObj(r.status_details) ? r.status_details : {};
      const usage = isObj(r.usage) ? r.usage : null;
      return {
        kind: "response-done",
        responseId: str(r.id),
        status: str(r.status),
        error: isObj(details.error) ? providerError(details.error) : null,
        usage: usage ? { inputTokens: num(usage.input_tokens), outputTokens: num(usage.output_tokens) } : null,
      };
    }
    case "error":
      return { kind: "error", error: providerError(e.error) };
    default:
      return { kind: "other", type: e.type };
  }
}

/** Errors after which the session cannot go on, and the ended reason they give the call. */
export function fatalReason(error: ProviderError, configured: boolean): "provider-rate-limited" | "provider-error" | null {
  const code = error.code ?? "";
  if (/rate_limit|insufficient_quota|quota/i.test(code) || error.type === "rate_limit_error") return "provider-rate-limited";
  if (error.type === "server_error" || /session_expired|invalid_api_key|authentication/i.test(code)) return "provider-error";
  // Until the session is configured, any refusal means it never will be.
  if (!configured && error.type === "invalid_request_error") return "provider-error";
  return null;
}

import type { AgentIntent, VoiceEngineName } from "../../schema/models/agent-config.js";
import type { Logger } from "../../schema/infra/logger.js";
import type { EndedReason, TranscriptKind, TranscriptRole } from "../../schema/models/call.model.js";

/** A 20 ms (usually) frame of caller audio: base64 8 kHz mono mu-law, as Twilio sent it. */
export interface AudioFrame {
  payload: string;
  /** Milliseconds since the stream started, from Twilio's clock. */
  timestampMs: number;
}

/** What an engine knows about the call it serves. */
export interface EngineAgent {
  id: string;
  name: string;
  greeting: string;
  instructions: string;
  /** "": the engine's default voice. */
  voice: string;
  language: string;
  /** null: the platform default. */
  engine: VoiceEngineName | null;
  intents: AgentIntent[];
  fallbackReply: string;
  endCallPhrases: string[];
  /** Seconds of silence before a spoken reminder; 0: none. */
  silenceReminderSeconds: number;
  /** Seconds of silence after which the call ends. */
  silenceTimeoutSeconds: number;
}

/** A turn for the call's transcript. */
export interface TurnInput {
  role: TranscriptRole;
  kind?: TranscriptKind;
  text: string;
  /** When the turn began on the stream clock (milliseconds since the stream started); default now. */
  offsetMs?: number;
  interrupted?: boolean;
}

/**
 * Who is talking, for the silence timers: the caller began or stopped speaking; the agent's
 * audio began, or has finished playing (its mark came back, or it was cleared).
 */
export type Activity = "caller-started" | "caller-stopped" | "agent-started" | "agent-finished";

/** Reasons an engine may end a call with. */
export type EngineEndReason = Extract<
  EndedReason,
  | "agent-ended"
  | "end-call-phrase"
  | "silence-timeout"
  | "provider-error"
  | "provider-rate-limited"
  | "provider-disconnected"
  | "engine-unavailable"
>;

/** Usage an engine reports; token counts add up over the call. */
export interface EngineUsage {
  engine?: string;
  provider?: string;
  inputTokens?: number;
  outputTokens?: number;
}

/** How an engine talks back; the media session implements it. */
export interface EngineContext {
  callId: string;
  agent: EngineAgent;
  log: Logger;
  /** Queues base64 mu-law audio for the caller; it passes through to Twilio untouched. */
  sendAudio(payload: string): void;
  /** Asks to be told (onMark) when the caller has heard everything sent before this point. */
  sendMark(name: string): void;
  /** Drops audio queued for the caller but not yet played (barge-in). */
  clearAudio(): void;
  /**
   * The call is over: the worker hangs up (default reason `agent-ended`). With `farewell`, the
   * caller first hears the worker's goodbye tone: for failures where the engine cannot speak.
   */
  endCall(reason?: EngineEndReason, opts?: { farewell?: boolean }): void;
  /** Adds a turn to the call's transcript (stored when the call ends). */
  record(turn: TurnInput): void;
  /** Reports who is talking (drives silence reminders and timeouts). */
  activity(event: Activity): void;
  reportUsage(usage: EngineUsage): void;
  /** Milliseconds since the stream started: the clock of Twilio's media timestamps and of transcript offsets. */
  streamMs(): number;
}

/**
 * The voice side of one call. The session creates one engine per call and guarantees close() is
 * called exactly once when the call ends, whatever ends it; after close() the engine must hold no
 * timers, sockets, child processes or other resources.
 */
export interface VoiceEngine {
  /** Begins the conversation (greets the caller). Rejections end the call as a stream error. */
  start(): Promise<void>;
  onAudio(frame: AudioFrame): void;
  onDtmf(digit: string): void;
  /** A mark this engine sent has been played (or dropped by a clear). */
  onMark(name: string): void;
  /**
   * The worker must end the call (time or money ran out): say goodbye in the agent's voice.
   * Resolves true once it has played, false when it could not be spoken (the worker then plays
   * its goodbye tone). Engines without it get the tone.
   */
  sayGoodbye?(reason: "max-duration" | "insufficient-balance"): Promise<boolean>;
  close(): void;
}

export type EngineFactory = (ctx: EngineContext) => VoiceEngine;

import type { Logger } from "../../schema/lib/logger.js";

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
  voice: string;
  language: string;
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
  /** The agent is done: the worker hangs up and the call ends with `agent-ended`. */
  endCall(): void;
}

/**
 * The voice side of one call. The session creates one engine per call and guarantees close() is
 * called exactly once when the call ends, whatever ends it; after close() the engine must hold no
 * timers, sockets or other resources.
 */
export interface VoiceEngine {
  /** Begins the conversation (greets the caller). Rejections end the call as a stream error. */
  start(): Promise<void>;
  onAudio(frame: AudioFrame): void;
  onDtmf(digit: string): void;
  /** A mark this engine sent has been played (or dropped by a clear). */
  onMark(name: string): void;
  close(): void;
}

export type EngineFactory = (ctx: EngineContext) => VoiceEngine;

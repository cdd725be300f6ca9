import { GREETING_TONES, renderTones, toFramePayloads } from "../audio/tone.js";
import type { AudioFrame, EngineContext, VoiceEngine } from "./voice-engine.js";

/** Rendered once: the same beeps greet every call. */
let greeting: string[] | null = null;

/** The DTMF key that asks the echo agent to end the call. */
export const ECHO_HANGUP_DIGIT = "#";

/**
 * The built-in engine: greets with a short generated tone sequence, then echoes the caller's
 * audio back frame by frame (no transcoding), which proves audio flows both ways. Pressing `#`
 * makes the agent end the call.
 */
export class EchoEngine implements VoiceEngine {
  private closed = false;

  constructor(private readonly ctx: EngineContext) {}

  async start(): Promise<void> {
    greeting ??= toFramePayloads(renderTones(GREETING_TONES));
    for (const payload of greeting) this.ctx.sendAudio(payload);
    this.ctx.sendMark("greeting");
  }

  onAudio(frame: AudioFrame): void {
    if (!this.closed) this.ctx.sendAudio(frame.payload);
  }

  onDtmf(digit: string): void {
    if (!this.closed && digit === ECHO_HANGUP_DIGIT) this.ctx.endCall();
  }

  onMark(name: string): void {
    this.ctx.log.debug({ mark: name }, "echo engine mark played");
  }

  close(): void {
    this.closed = true;
  }
}

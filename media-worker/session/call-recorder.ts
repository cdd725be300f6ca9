import { FRAME_MS, base64Bytes } from "../audio/mulaw.js";
import { MAX_TURN_CHARS, MAX_TURNS, type TranscriptKind, type TranscriptRole } from "../../schema/models/call.model.js";
import type { EngineUsage, TurnInput } from "../engines/voice-engine.js";
import type { CallRecord } from "../../schema/infra/queues.js";

export interface StoredTurn {
  role: TranscriptRole;
  kind: TranscriptKind;
  text: string;
  at: Date;
  offsetMs: number;
  interrupted: boolean;
}

/** What the call used, as stored on the call record. */
export type CallUsage = CallRecord["usage"];

/**
 * What a call leaves on its record besides billing: the transcript and usage. Kept in memory
 * during the call and handed to the close-out job, which stores it with the call's end in one
 * update (FerretDB updates are not atomic: a second writer of the call could undo the end).
 */
export class CallRecorder {
  private readonly turns: StoredTurn[] = [];
  private outBytes = 0;
  private readonly usage: Omit<CallUsage, "audioInSeconds" | "audioOutSeconds"> = {
    engine: null,
    provider: null,
    inputTokens: null,
    outputTokens: null,
  };

  /** `answeredAt` and `nowMs` place turns on the wall clock and the stream clock. */
  constructor(
    private readonly answeredAt: () => Date,
    private readonly nowMs: () => number,
  ) {}

  record(turn: TurnInput): void {
    if (this.turns.length >= MAX_TURNS) return;
    const offsetMs = Math.max(0, Math.round(turn.offsetMs ?? this.nowMs()));
    this.turns.push({
      role: turn.role,
      kind: turn.kind ?? "speech",
      text: turn.text.slice(0, MAX_TURN_CHARS),
      at: new Date(this.answeredAt().getTime() + offsetMs),
      offsetMs,
      interrupted: turn.interrupted === true,
    });
  }

  /** Counts agent audio sent (base64 mu-law, 8 bytes a millisecond), whatever the size of its messages. */
  audioOut(payload: string): void {
    this.outBytes += base64Bytes(payload);
  }

  addUsage(u: EngineUsage): void {
    if (u.engine !== undefined) this.usage.engine = u.engine;
    if (u.provider !== undefined) this.usage.provider = u.provider;
    if (u.inputTokens !== undefined) this.usage.inputTokens = (this.usage.inputTokens ?? 0) + u.inputTokens;
    if (u.outputTokens !== undefined) this.usage.outputTokens = (this.usage.outputTokens ?? 0) + u.outputTokens;
  }

  /** Turns in the order they began; turns that began together keep the order they were recorded in. */
  transcript(): StoredTurn[] {
    return this.turns
      .map((t, i) => ({ t, i }))
      .sort((a, b) => a.t.offsetMs - b.t.offsetMs || a.i - b.i)
      .map(({ t }) => t);
  }

  /** Caller audio counts Twilio's 20 ms frames; agent audio its bytes. */
  summary(frames: { framesIn: number }): CallUsage {
    return {
      ...this.usage,
      audioInSeconds: (frames.framesIn * FRAME_MS) / 1000,
      audioOutSeconds: this.outBytes / 8_000,
    };
  }

  /** What the close-out stores on the call with its end: one write, so nothing races it. */
  snapshot(frames: { framesIn: number }): CallRecord {
    return { transcript: this.transcript().map((t) => ({ ...t, at: t.at.toISOString() })), usage: this.summary(frames) };
  }
}

import { mulawLevelDb } from "../../audio/energy.js";

export interface TurnDetectorOptions {
  /** Milliseconds of continuous speech that open a turn (the barge-in reaction time). */
  startMs: number;
  /** Milliseconds of silence that close it. */
  endMs: number;
  /** Longest turn in milliseconds: longer speech is closed and a new turn opens. */
  maxTurnMs: number;
  /** Milliseconds of audio from before the turn opened that are kept with it (the onset). */
  preRollMs: number;
  /** A frame is speech when it is this many dB above the tracked noise floor... */
  marginDb: number;
  /** ...and at least this loud (dBFS). */
  minSpeechDb: number;
}

export const DEFAULT_TURN_OPTIONS: TurnDetectorOptions = {
  startMs: 100,
  endMs: 500,
  maxTurnMs: 15_000,
  preRollMs: 300,
  marginDb: 12,
  minSpeechDb: -45,
};

export type TurnEvent =
  /** The caller began to speak at `startMs` (stream clock). */
  | { kind: "turn-start"; startMs: number }
  /** The caller's turn is over: its mu-law audio (pre-roll included) and how long they spoke. */
  | { kind: "turn-end"; startMs: number; speechMs: number; audio: Buffer; preRollMs: number };

/** Bytes per millisecond of 8 kHz mu-law. */
const BYTES_PER_MS = 8;

/**
 * Energy-based voice activity detection that finds the caller's turns in 8 kHz mu-law frames.
 * Pure and deterministic: frames in, events out, time from the frames' own stream timestamps.
 * The noise floor follows the line's background level, so a noisy line needs louder speech.
 */
export class TurnDetector {
  private noiseDb = -70;
  private speaking = false;
  /** Recent frames while idle: the pre-roll plus the speech run that may open a turn. */
  private recent: { bytes: Buffer; ts: number; speech: boolean }[] = [];
  private recentMs = 0;
  private runMs = 0;
  private runStartTs = 0;
  private turn: Buffer[] = [];
  private turnStartTs = 0;
  private turnPreRollMs = 0;
  private turnMs = 0;
  private silenceMs = 0;
  private lastSpeechEndTs = 0;

  constructor(private readonly opts: TurnDetectorOptions = DEFAULT_TURN_OPTIONS) {}

  push(frame: Buffer, timestampMs: number): TurnEvent | null {
    const ms = frame.length / BYTES_PER_MS;
    if (ms <= 0) return null;
    const db = mulawLevelDb(frame);
    const speech = db >= Math.max(this.noiseDb + this.opts.marginDb, this.opts.minSpeechDb);
    return this.speaking ? this.inSpeech(frame, timestampMs, ms, speech) : this.idle(frame, timestampMs, ms, speech, db);
  }

  /** Drops any turn in progress (the call is ending). */
  reset(): void {
    this.speaking = false;
    this.recent = [];
    this.recentMs = 0;
    this.runMs = 0;
    this.turn = [];
  }

  private idle(frame: Buffer, ts: number, ms: number, speech: boolean, db: number): TurnEvent | null {
    if (!speech) {
      // Follow the floor down at once, up slowly (speech onsets must not raise it).
      this.noiseDb = db < this.noiseDb ? db : this.noiseDb * 0.95 + db * 0.05;
      this.runMs = 0;
    } else {
      if (this.runMs === 0) this.runStartTs = ts;
      this.runMs += ms;
    }
    this.recent.push({ bytes: frame, ts, speech });
    this.recentMs += ms;
    const keepMs = this.opts.preRollMs + this.runMs;
    while (this.recent.length > 1 && this.recentMs - this.recent[0]!.bytes.length / BYTES_PER_MS >= keepMs) {
      this.recentMs -= this.recent.shift()!.bytes.length / BYTES_PER_MS;
    }
    if (this.runMs < this.opts.startMs) return null;

    this.speaking = true;
    this.turn = this.recent.map((f) => f.bytes);
    this.turnMs = this.recentMs;
    this.turnPreRollMs = this.recentMs - this.runMs;
    this.turnStartTs = this.runStartTs;
    this.lastSpeechEndTs = ts + ms;
    this.silenceMs = 0;
    this.recent = [];
    this.recentMs = 0;
    this.runMs = 0;
    return { kind: "turn-start", startMs: this.turnStartTs };
  }

  private inSpeech(frame: Buffer, ts: number, ms: number, speech: boolean): TurnEvent | null {
    this.turn.push(frame);
    this.turnMs += ms;
    if (speech) {
      this.silenceMs = 0;
      this.lastSpeechEndTs = ts + ms;
    } else {
      this.silenceMs += ms;
    }
    if (this.silenceMs < this.opts.endMs && this.turnMs - this.turnPreRollMs < this.opts.maxTurnMs) return null;
    const event: TurnEvent = {
      kind: "turn-end",
      startMs: this.turnStartTs,
      speechMs: Math.max(0, this.lastSpeechEndTs - this.turnStartTs),
      audio: Buffer.concat(this.turn),
      preRollMs: this.turnPreRollMs,
    };
    this.speaking = false;
    this.turn = [];
    this.silenceMs = 0;
    return event;
  }
}

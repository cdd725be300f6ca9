import { performance } from "node:perf_hooks";
import { FRAME_BYTES, FRAME_MS, MULAW_SILENCE } from "../../media-worker/audio/mulaw.js";
import { mulawLevelDb } from "../../media-worker/audio/energy.js";
import { openStream, type AdmittedCall, type WebTarget } from "../../media-worker/simulator/simulate-call.js";
import type { TwilioStreamClient } from "../../media-worker/simulator/stream-client.js";

const SILENT_FRAME = Buffer.alloc(FRAME_BYTES, MULAW_SILENCE).toString("base64");

/** Agent audio as the caller's phone received it: the payload and performance.now() at arrival. */
export interface Received {
  payload: string;
  at: number;
}

interface Utterance {
  frames: string[];
  begun: boolean;
  started: (at: number) => void;
  /** Frames of it sent so far, and after how many the line holds (null: never). */
  sent: number;
  holdAfter: number | null;
}

/**
 * The caller's side of a live stream, as Twilio sends it: a 20 ms frame every 20 ms, silence
 * unless the test queues speech, timestamps on the stream clock (frame index × 20 ms).
 */
export class CallerLine {
  readonly received: Received[] = [];
  /** Every frame sent, in order (base64 mu-law). */
  readonly sent: string[] = [];
  client!: TwilioStreamClient;
  private readonly utterances: Utterance[] = [];
  private frame = 0;
  private timer: NodeJS.Timeout | null = null;
  private t0 = 0;
  /** Holding: nothing is sent and the stream clock stands still; `at` is when the next frame was due. */
  private holding: { at: number } | null = null;
  private holdWaiters: (() => void)[] = [];

  private constructor() {}

  /** Opens the call's stream (connected, start) and starts sending frames. */
  static async open(target: WebTarget, call: AdmittedCall, mediaUrl: string): Promise<CallerLine> {
    const line = new CallerLine();
    line.client = await openStream(target, call, { mediaUrl, onMedia: (payload, at) => line.received.push({ payload, at }) });
    line.t0 = performance.now();
    line.timer = setInterval(() => line.tick(), 5);
    void line.client.closed.then(() => line.stop());
    return line;
  }

  /** Stream time of the next frame. */
  get streamMs(): number {
    return this.frame * FRAME_MS;
  }

  /**
   * Queues speech after what is queued; resolves with the time (performance.now() scale) its first
   * frame was due. With `holdAfterFrames`, the line holds once that many frames of it are sent
   * (see held()).
   */
  say(mulaw: Buffer, opts: { holdAfterFrames?: number } = {}): Promise<number> {
    return new Promise((started) =>
      this.utterances.push({ frames: toFrames(mulaw), begun: false, started, sent: 0, holdAfter: opts.holdAfterFrames ?? null }),
    );
  }

  /**
   * Resolves once the line holds: it sends nothing and its stream clock stands still, as if the
   * caller's audio were paused in time. What the worker does meanwhile it does on the frames it
   * has, however long the machine takes. resume() goes on from the next frame.
   */
  held(): Promise<void> {
    return this.holding ? Promise.resolve() : new Promise((resolve) => this.holdWaiters.push(resolve));
  }

  /** Stops holding: the next frame goes out now, with the stream timestamp it had when the line held. */
  resume(): void {
    if (!this.holding) return;
    this.t0 += performance.now() - this.holding.at;
    this.holding = null;
  }

  /** Milliseconds of audible agent audio received since `since` (frames above -50 dBFS). */
  audibleMs(since = 0): number {
    let ms = 0;
    for (const r of this.received) {
      if (r.at < since) continue;
      const bytes = Buffer.from(r.payload, "base64");
      for (let at = 0; at < bytes.length; at += FRAME_BYTES) {
        const frame = bytes.subarray(at, at + FRAME_BYTES);
        if (mulawLevelDb(frame) > -50) ms += frame.length / 8;
      }
    }
    return ms;
  }

  /** Milliseconds of agent audio received since `since`. */
  receivedMs(since = 0): number {
    return this.received.filter((r) => r.at >= since).reduce((ms, r) => ms + Buffer.from(r.payload, "base64").length / 8, 0);
  }

  /** All agent audio received, as mu-law bytes. */
  receivedAudio(): Buffer {
    return Buffer.concat(this.received.map((r) => Buffer.from(r.payload, "base64")));
  }

  /** The caller hangs up: Twilio sends `stop`. */
  hangUp(): void {
    this.client.sendStop();
    this.stop();
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
  }

  private tick(): void {
    if (this.holding) return;
    const due = Math.floor((performance.now() - this.t0) / FRAME_MS);
    while (this.frame < due && this.client.isOpen) {
      const current = this.utterances[0];
      let payload = SILENT_FRAME;
      let hold = false;
      if (current) {
        const next = current.frames.shift();
        if (next) {
          payload = next;
          current.sent++;
          hold = current.sent === current.holdAfter;
          if (!current.begun) {
            current.begun = true;
            // When the frame was due on the stream clock (a late tick sends it later, never earlier).
            current.started(this.t0 + this.frame * FRAME_MS);
          }
        }
        if (current.frames.length === 0) this.utterances.shift();
      }
      this.client.sendMedia(payload, this.frame * FRAME_MS);
      this.sent.push(payload);
      this.frame++;
      if (hold) {
        this.holding = { at: this.t0 + this.frame * FRAME_MS };
        for (const wake of this.holdWaiters.splice(0)) wake();
        return;
      }
    }
  }
}

/** Mu-law audio as base64 20 ms frames, the last one padded with silence. */
function toFrames(mulaw: Buffer): string[] {
  const frames: string[] = [];
  for (let at = 0; at < mulaw.length; at += FRAME_BYTES) {
    const frame = Buffer.alloc(FRAME_BYTES, MULAW_SILENCE);
    mulaw.copy(frame, 0, at, Math.min(at + FRAME_BYTES, mulaw.length));
    frames.push(frame.toString("base64"));
  }
  return frames;
}

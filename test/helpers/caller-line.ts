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

  /** Queues speech after what is queued; resolves with the time (performance.now() scale) its first frame was due. */
  say(mulaw: Buffer): Promise<number> {
    const frames: string[] = [];
    for (let at = 0; at < mulaw.length; at += FRAME_BYTES) {
      const frame = Buffer.alloc(FRAME_BYTES, MULAW_SILENCE);
      mulaw.copy(frame, 0, at, Math.min(at + FRAME_BYTES, mulaw.length));
      frames.push(frame.toString("base64"));
    }
    return new Promise((started) => this.utterances.push({ frames, begun: false, started }));
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
    const due = Math.floor((performance.now() - this.t0) / FRAME_MS);
    while (this.frame < due && this.client.isOpen) {
      const current = this.utterances[0];
      let payload = SILENT_FRAME;
      if (current) {
        const next = current.frames.shift();
        if (next) {
          payload = next;
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
    }
  }
}

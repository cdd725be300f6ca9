import { randomBytes } from "node:crypto";
import { performance } from "node:perf_hooks";
import twilio from "twilio";
import { WebSocket } from "ws";
import { FRAME_MS, mulawBase64Ms } from "../audio/mulaw.js";
import { rawDataText } from "../lib/raw-data.js";
import {
  connectedMessage,
  dtmfMessage,
  inboundMediaMessage,
  markReturnMessage,
  parseServerMessage,
  startMessage,
  stopMessage,
} from "../protocol/twilio-side.js";

export interface StreamClientOptions {
  /** Where to connect (may differ from the public URL, e.g. ws://127.0.0.1:3001/<callId>). */
  url: string;
  /** The URL Twilio signs: the one in the TwiML. Defaults to `url`. */
  signedUrl?: string;
  /** Signs the upgrade with X-Twilio-Signature when set. */
  authToken?: string | null;
  callSid: string;
  accountSid: string;
  customParameters: Record<string, string>;
  streamSid?: string;
  /** Keep every received audio payload (default true; the benchmark turns it off). */
  keepAudio?: boolean;
  /** Called for each audio payload the server sends, with performance.now() at receipt. */
  onMedia?: (payload: string, receivedAt: number) => void;
}

export interface CloseInfo {
  code: number;
  reason: string;
}

const payloadMs = mulawBase64Ms;

/**
 * Twilio's end of one Media Stream: sends what Twilio sends, and receives like Twilio does,
 * including playback timing (a `mark` comes back once the audio sent before it has played, and
 * right away after a `clear`).
 */
export class TwilioStreamClient {
  readonly streamSid: string;
  /** Audio payloads received, in order (when keepAudio). */
  readonly received: string[] = [];
  readonly marksRequested: string[] = [];
  clears = 0;
  /** performance.now() at each `clear` received (barge-in timing). */
  readonly clearTimes: number[] = [];
  mediaSent = 0;
  /**
   * While true, marks are not answered when their audio has played but kept until releaseMarks()
   * (or a `clear`, which answers them at once, as Twilio does): a test stands for a phone still
   * playing for as long as it likes, without timing the wait.
   */
  holdMarks = false;
  readonly closed: Promise<CloseInfo>;
  private seq = 0;
  private startedAt = 0;
  private playbackEndsAt = 0;
  private readonly pendingMarks = new Map<NodeJS.Timeout, string>();
  private heldMarks: string[] = [];

  private constructor(
    private readonly ws: WebSocket,
    private readonly opts: StreamClientOptions,
  ) {
    this.streamSid = opts.streamSid ?? `MZ${randomBytes(16).toString("hex")}`;
    this.closed = new Promise((resolve) => {
      ws.on("close", (code, reason) => {
        for (const t of this.pendingMarks.keys()) clearTimeout(t);
        this.pendingMarks.clear();
        resolve({ code, reason: reason.toString() });
      });
    });
    ws.on("error", () => undefined);
    ws.on("message", (data) => this.onMessage(rawDataText(data)));
  }

  /** Opens the socket; rejects if the server refuses the upgrade. */
  static async connect(opts: StreamClientOptions): Promise<TwilioStreamClient> {
    const headers: Record<string, string> = {};
    if (opts.authToken) headers["x-twilio-signature"] = twilio.getExpectedTwilioSignature(opts.authToken, opts.signedUrl ?? opts.url, {});
    const ws = new WebSocket(opts.url, { headers, perMessageDeflate: false });
    const client = new TwilioStreamClient(ws, opts);
    await new Promise<void>((resolve, reject) => {
      ws.once("open", () => resolve());
      ws.once("error", reject);
      ws.once("unexpected-response", (_req, res) => reject(new Error(`upgrade refused: HTTP ${res.statusCode}`)));
    });
    return client;
  }

  get isOpen(): boolean {
    return this.ws.readyState === WebSocket.OPEN;
  }

  sendConnected(): void {
    this.sendRaw(connectedMessage());
  }

  sendStart(): void {
    this.startedAt = performance.now();
    this.sendRaw(
      startMessage(++this.seq, {
        streamSid: this.streamSid,
        accountSid: this.opts.accountSid,
        callSid: this.opts.callSid,
        customParameters: this.opts.customParameters,
      }),
    );
  }

  /** Sends one frame of caller audio (base64 mu-law); the timestamp defaults to the stream clock. */
  sendMedia(payload: string, timestampMs?: number): void {
    this.mediaSent++;
    const ts = timestampMs ?? Math.round(performance.now() - this.startedAt);
    this.sendRaw(inboundMediaMessage(++this.seq, this.streamSid, this.mediaSent, ts, payload));
  }

  sendDtmf(digit: string): void {
    this.sendRaw(dtmfMessage(++this.seq, this.streamSid, digit));
  }

  sendStop(): void {
    this.sendRaw(stopMessage(++this.seq, this.streamSid, this.opts.accountSid, this.opts.callSid));
  }

  /** Sends anything, e.g. malformed messages in tests. */
  sendRaw(data: string | Buffer): void {
    if (this.ws.readyState === WebSocket.OPEN) this.ws.send(data);
  }

  close(code = 1000): void {
    if (this.ws.readyState === WebSocket.OPEN || this.ws.readyState === WebSocket.CONNECTING) this.ws.close(code);
  }

  /** Drops the connection without a close handshake, like a network failure. */
  terminate(): void {
    this.ws.terminate();
  }

  /** Answers the marks kept while holdMarks was true, in the order they came; stops holding. */
  releaseMarks(): void {
    this.holdMarks = false;
    const held = this.heldMarks;
    this.heldMarks = [];
    for (const name of held) this.answerMark(name);
  }

  /** All received audio as mu-law bytes. */
  receivedAudio(): Buffer {
    return Buffer.concat(this.received.map((p) => Buffer.from(p, "base64")));
  }

  private onMessage(raw: string): void {
    const now = performance.now();
    const msg = parseServerMessage(raw);
    if (msg.kind === "media") {
      if (this.opts.keepAudio !== false) this.received.push(msg.payload);
      this.playbackEndsAt = Math.max(now, this.playbackEndsAt) + payloadMs(msg.payload);
      this.opts.onMedia?.(msg.payload, now);
    } else if (msg.kind === "mark") {
      this.marksRequested.push(msg.name);
      if (this.holdMarks) {
        this.heldMarks.push(msg.name);
        return;
      }
      const timer = setTimeout(
        () => {
          this.pendingMarks.delete(timer);
          this.answerMark(msg.name);
        },
        Math.max(0, this.playbackEndsAt - now),
      );
      this.pendingMarks.set(timer, msg.name);
    } else if (msg.kind === "clear") {
      this.clears++;
      this.clearTimes.push(now);
      this.playbackEndsAt = now;
      for (const [timer, name] of this.pendingMarks) {
        clearTimeout(timer);
        this.answerMark(name);
      }
      this.pendingMarks.clear();
      const held = this.heldMarks;
      this.heldMarks = [];
      for (const name of held) this.answerMark(name);
    }
  }

  private answerMark(name: string): void {
    this.sendRaw(markReturnMessage(++this.seq, this.streamSid, name));
  }
}

/** Frame period of a Twilio stream, for pacing senders. */
export const FRAME_PERIOD_MS = FRAME_MS;

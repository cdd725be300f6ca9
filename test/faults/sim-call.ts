import { performance } from "node:perf_hooks";
import { renderTones, toFramePayloads } from "../../media-worker/audio/tone.js";
import { admitCall, openStream, postCallStatus, randomSid, type AdmittedCall } from "../../media-worker/simulator/simulate-call.js";
import type { TwilioStreamClient } from "../../media-worker/simulator/stream-client.js";
import { callIdForSid } from "../../schema/models/call.model.js";
import type { Fixture } from "../helpers/fixtures.js";
import { within } from "./processes.js";
import { AUTH_TOKEN, TWILIO_ACCOUNT_SID, type FaultStack, type Worker } from "./stack.js";

/** Twilio waits this long for a webhook's answer before it gives up (and plays the fallback). */
const TWILIO_WEBHOOK_TIMEOUT_MS = 15_000;
const TONE = toFramePayloads(renderTones([{ hz: 400, ms: 200 }]));

export interface StatusCallbackResult {
  status: number | null;
  body: unknown;
  ms: number;
}

/**
 * One simulated phone call, played as Twilio would: admitted through /inbound_call, streamed to
 * a chosen worker in real time, ended by the caller (`stop`) or by the stream breaking (a killed
 * worker), its end reported by the fake Twilio REST API and, when asked, by /call_status.
 * It knows how long it streamed: from its `start` to the end.
 */
export class SimCall {
  readonly callSid = randomSid("CA");
  readonly callId = String(callIdForSid(this.callSid));
  admitted: AdmittedCall | null = null;
  /** Why the call never streamed (admission refused or timed out, upgrade refused). */
  failure: string | null = null;
  admitMs: number | null = null;
  /** performance.now() when `start` was sent, and when the stream ended. */
  private startMono: number | null = null;
  private endMono: number | null = null;
  /** How the stream ended: the caller hung up, or the socket closed under the call. */
  endedBy: "caller-hangup" | "stream-closed" | null = null;
  closeCode: number | null = null;
  readonly callbacks: StatusCallbackResult[] = [];
  private client: TwilioStreamClient | null = null;
  private pump: NodeJS.Timeout | null = null;

  constructor(
    readonly label: string,
    private readonly stack: FaultStack,
    readonly worker: Worker,
    readonly fixture: Fixture,
  ) {}

  private get target() {
    return { webUrl: this.stack.webUrl, authToken: AUTH_TOKEN };
  }

  /** Milliseconds streamed (start to end), null while streaming or when it never streamed. */
  get streamedMs(): number | null {
    return this.startMono !== null && this.endMono !== null ? this.endMono - this.startMono : null;
  }

  get streaming(): boolean {
    return this.startMono !== null && this.endMono === null;
  }

  /** Admits the call and opens its stream on the chosen worker; records a failure instead of throwing. */
  async begin(): Promise<this> {
    const t0 = performance.now();
    const admitted = await within(
      TWILIO_WEBHOOK_TIMEOUT_MS,
      admitCall(this.target, { to: this.fixture.number, callSid: this.callSid, accountSid: TWILIO_ACCOUNT_SID }).catch((err: Error) => err),
      null,
    );
    this.admitMs = Math.round(performance.now() - t0);
    if (admitted === null)
      return this.fail(`/inbound_call did not answer within ${TWILIO_WEBHOOK_TIMEOUT_MS} ms (Twilio plays the fallback)`);
    if (admitted instanceof Error) return this.fail(`admission failed: ${admitted.message}`);
    this.admitted = admitted;
    this.stack.twilio.calls.set(this.callSid, { status: "in-progress", duration: null });
    const client = await within(
      10_000,
      openStream(this.target, admitted, { mediaUrl: this.worker.mediaUrl, keepAudio: false }).catch((err: Error) => err),
      null,
    );
    if (!(client && !(client instanceof Error))) {
      this.twilioEnded();
      return this.fail(`stream did not open: ${client instanceof Error ? client.message : "timeout"}`);
    }
    this.startMono = performance.now();
    this.client = client;
    let i = 0;
    this.pump = setInterval(() => client.sendMedia(TONE[i++ % TONE.length]!), 20);
    void client.closed.then((info) => {
      this.closeCode = info.code;
      this.ended("stream-closed");
    });
    return this;
  }

  /** The caller hangs up: Twilio sends `stop` (twice when asked) and closes its side. */
  async hangUp(opts: { stops?: number } = {}): Promise<void> {
    if (!this.client || !this.streaming) return;
    this.ended("caller-hangup");
    for (let i = 0; i < (opts.stops ?? 1); i++) this.client.sendStop();
    const closed = await within(3_000, this.client.closed, null);
    if (!closed) this.client.close();
  }

  /** POSTs the final status callback (CallStatus=completed, CallDuration) as Twilio does, `times` times. */
  async statusCallback(times = 1): Promise<void> {
    if (!this.admitted) return;
    const duration = this.stack.twilio.calls.get(this.callSid)?.duration ?? undefined;
    for (let i = 0; i < times; i++) {
      const t0 = performance.now();
      const res = await within(
        TWILIO_WEBHOOK_TIMEOUT_MS,
        postCallStatus(this.target, this.admitted, "completed", duration).catch((err: Error) => ({ status: null, body: err.message })),
        { status: null, body: "timed out" },
      );
      this.callbacks.push({ status: res.status, body: res.body, ms: Math.round(performance.now() - t0) });
    }
  }

  private ended(by: "caller-hangup" | "stream-closed"): void {
    if (this.endMono !== null) return;
    this.endMono = performance.now();
    this.endedBy = by;
    if (this.pump) clearInterval(this.pump);
    this.twilioEnded();
  }

  /** What Twilio's REST API reports once the call is over: completed, duration from the answer. */
  private twilioEnded(): void {
    const answeredAt = this.admitted?.answeredAt ?? Date.now();
    this.stack.twilio.calls.set(this.callSid, { status: "completed", duration: Math.ceil((Date.now() - answeredAt) / 1000) });
  }

  private fail(why: string): this {
    this.failure = why;
    return this;
  }

  /** Ends the simulation of a call still streaming at the scenario's end (it should not happen). */
  abandon(): void {
    if (this.pump) clearInterval(this.pump);
    this.client?.terminate();
  }
}

import { randomUUID } from "node:crypto";
import { performance } from "node:perf_hooks";
import type { Queue } from "bullmq";
import { WebSocket, type RawData } from "ws";
import type { CallAdmissions } from "../../schema/billing/call-admissions.js";
import { STREAM_OWNER_PREFIX, type CallLiveness } from "../../schema/billing/call-liveness.js";
import { enqueueCloseOut } from "../../schema/billing/closeout-queue.js";
import type { ReservationService } from "../../schema/billing/reservation.service.js";
import { InsufficientBalanceError } from "../../schema/lib/errors.js";
import type { Logger } from "../../schema/lib/logger.js";
import { costMicros } from "../../schema/lib/rating.js";
import { serializedWrite } from "../../schema/lib/write-gate.js";
import { CallModel, endedStatus, type EndedReason } from "../../schema/models/call.model.js";
import { goodbyeTones, renderTones, toFramePayloads } from "../audio/tone.js";
import type { MediaConfig } from "../config.js";
import type { AudioFrame, EngineFactory, EngineEndReason, VoiceEngine } from "../engines/voice-engine.js";
import { parseTwilioMessage, type TwilioEvent } from "../protocol/inbound.js";
import { clearMessage, markMessage, mediaMessage, mediaPrefix } from "../protocol/outbound.js";
import type { TwilioRestClient } from "../twilio/twilio-rest.client.js";
import { coveredMs, maxCallMs, nextBudgetStep } from "./call-budget.js";
import { CallRecorder } from "./call-recorder.js";
import { authorizeStream, type AuthorizedCall, type StartEvent } from "./stream-auth.js";

/** What every session of a worker shares. */
export interface SessionDeps {
  config: MediaConfig;
  log: Logger;
  liveness: CallLiveness;
  /** Admission records: a stream may start before its Call document is written. */
  admissions: CallAdmissions;
  reservations: ReservationService;
  /** Producer for close-out jobs. */
  queue: Queue;
  twilio: TwilioRestClient;
  engines: EngineFactory;
  /** Live sessions, kept alive by the worker's heartbeat. */
  registry: { add(s: MediaSession): void; remove(s: MediaSession): void };
  /** Milliseconds a heartbeat lasts; a session is dead when it lapses. */
  heartbeatTtlMs: number;
  /** Milliseconds a reservation lasts without a touch (a dead worker's holds lapse after this). */
  reservationTtlMs: number;
  /** Milliseconds without any message from Twilio after which the stream is considered broken. */
  idleTimeoutMs: number;
}

type State = "awaiting-start" | "starting" | "live" | "ending" | "closed";

/** WebSocket close code for authentication and protocol-policy failures. */
export const POLICY_VIOLATION = 1008;
/** Outgoing audio is dropped while this many bytes wait to be sent: a stalled peer cannot grow memory. */
const MAX_BUFFERED_BYTES = 512 * 1024;
/** Time an extension has to answer before the goodbye must begin. */
const EXTEND_LEAD_MS = 1_000;
/** Pause between attempts to extend while the balance cannot cover the next chunk. */
const EXTEND_RETRY_MS = 250;
/** Caller audio kept while the stream is being authorized and the engine starts (1 s). */
const MAX_EARLY_FRAMES = 50;
/** Invalid messages logged per session; the rest are only counted. */
const LOGGED_PROBLEMS = 5;

const goodbyeCache = new Map<number, string[]>();
function goodbyeFrames(ms: number): string[] {
  let frames = goodbyeCache.get(ms);
  if (!frames) goodbyeCache.set(ms, (frames = toFramePayloads(renderTones(goodbyeTones(ms)))));
  return frames;
}

/**
 * One Twilio Media Stream, i.e. one call. Authenticates the stream on `start`, marks the call
 * in progress, bridges audio to the voice engine, keeps the call inside what its reservation pays
 * for, and on any end (stop, socket close, error, cutoff) ends the call exactly once: releases
 * the engine, timers and socket, and hands the close-out to the billing queue.
 */
export class MediaSession {
  readonly id = randomUUID();
  private state: State = "awaiting-start";
  private call: AuthorizedCall | null = null;
  private log: Logger;
  private engine: VoiceEngine | null = null;
  /** Caller audio that arrived before the engine was ready; null once it has been handed over. */
  private early: AudioFrame[] | null = [];
  private readonly timers = new Set<NodeJS.Timeout>();
  private streamSid = "";
  private prefix = "";
  private answeredAt = new Date(0);
  private answeredMono = 0;
  private lastMessageMono = performance.now();
  private heldMicros = 0;
  private extension: { deadline: NodeJS.Timeout } | null = null;
  private pendingReason: EndedReason | null = null;
  private stopRequested = false;
  private socketGone = false;
  private ended: Promise<void> | null = null;
  /** The write that marks the call in progress (resolves false if it failed). */
  private started: Promise<boolean> | null = null;
  private readonly stats = { framesIn: 0, framesOut: 0, droppedOut: 0, ignored: 0, invalid: 0 };
  private settle: () => void = () => undefined;
  /** Resolves once the session is over: refused, or its call ended and handed over. */
  readonly settled = new Promise<void>((resolve) => (this.settle = resolve));
  /** Transcript and usage, written to the call when it ends. */
  private readonly recorder = new CallRecorder(
    () => this.answeredAt,
    () => this.connectedMs(),
  );

  constructor(
    private readonly ws: WebSocket,
    private readonly pathCallId: string,
    private readonly deps: SessionDeps,
  ) {
    this.log = deps.log.child({ callId: pathCallId, sessionId: this.id });
  }

  /** Starts listening to the socket; the stream must send a valid `start` in time. */
  attach(): void {
    this.ws.on("message", (data, isBinary) => this.onMessage(data, isBinary));
    this.ws.on("close", (code) => this.onClose(code));
    this.ws.on("error", (err) => this.log.warn({ err: err.message }, "stream socket error"));
    this.after(this.deps.config.streamStartTimeoutMs, () => {
      if (this.state === "awaiting-start") this.refuse("start-timeout");
    });
  }

  get callId(): string {
    return this.pathCallId;
  }

  /** Connected milliseconds so far, rounded up so a started call never measures 0 (0 before it started). */
  connectedMs(): number {
    return this.answeredMono ? Math.ceil(performance.now() - this.answeredMono) : 0;
  }

  idleMs(): number {
    return performance.now() - this.lastMessageMono;
  }

  get accountKey(): { accountId: AuthorizedCall["accountId"]; callSid: string } | null {
    return this.call ? { accountId: this.call.accountId, callSid: this.call.callSid } : null;
  }

  // ---- incoming messages -------------------------------------------------------------------

  private onMessage(data: RawData, isBinary: boolean): void {
    this.lastMessageMono = performance.now();
    if (isBinary) return this.problem("binary-frame", "binary frames are not part of the protocol");
    const parsed = parseTwilioMessage(data.toString());
    if (!parsed.ok) return this.problem(parsed.problem, parsed.detail);
    this.dispatch(parsed.event);
  }

  private dispatch(event: TwilioEvent): void {
    switch (event.kind) {
      case "media": {
        const frame = { payload: event.payload, timestampMs: event.timestampMs };
        if (this.state === "live" && this.engine && !this.early) {
          this.stats.framesIn++;
          this.engine.onAudio(frame);
        } else if ((this.state === "starting" || this.state === "live") && this.early && this.early.length < MAX_EARLY_FRAMES) {
          this.early.push(frame);
        } else {
          this.ignore("media outside a live call");
        }
        return;
      }
      case "start":
        if (this.state !== "awaiting-start") return this.ignore("second start");
        this.state = "starting";
        void this.begin(event);
        return;
      case "stop":
        if (this.state === "starting") this.stopRequested = true;
        else if (this.state === "live" || this.state === "ending") void this.end(this.pendingReason ?? "caller-hangup");
        else if (this.state === "awaiting-start") this.refuse("stop-before-start");
        return;
      case "dtmf":
        if (this.state !== "live") return;
        this.recorder.record({ role: "caller", kind: "dtmf", text: event.digit });
        this.engine?.onDtmf(event.digit);
        return;
      case "mark":
        // Also while ending: a spoken goodbye is over when its mark comes back.
        if (this.state === "live" || this.state === "ending") this.engine?.onMark(event.name);
        return;
      case "connected":
        return;
    }
  }

  private problem(problem: string, detail: string): void {
    this.stats.invalid++;
    if (this.stats.invalid <= LOGGED_PROBLEMS) this.log.warn({ problem, detail }, "invalid stream message ignored");
  }

  private ignore(what: string): void {
    this.stats.ignored++;
    if (this.stats.ignored <= LOGGED_PROBLEMS) this.log.debug({ what, state: this.state }, "out-of-order stream message ignored");
  }

  private onClose(code: number): void {
    this.socketGone = true;
    if (this.state === "live" || this.state === "ending") void this.end(this.pendingReason ?? "stream-error");
    else if (this.state === "awaiting-start") this.refuse(`closed-before-start (${code})`);
    // "starting": begin() notices socketGone once it has the call, and ends it.
  }

  // ---- start ---------------------------------------------------------------------------------

  private async begin(start: StartEvent): Promise<void> {
    const { config } = this.deps;
    let auth;
    try {
      auth = await authorizeStream({
        pathCallId: this.pathCallId,
        start,
        secret: config.streamTokenSecret,
        nowSec: Math.floor(Date.now() / 1000),
        liveness: this.deps.liveness,
        admissions: this.deps.admissions,
        owner: `${STREAM_OWNER_PREFIX}${this.id}`,
        heartbeatTtlMs: this.deps.heartbeatTtlMs,
      });
    } catch (err) {
      this.log.error({ err }, "stream authorization failed");
      return this.refuse("authorization-error", 1011);
    }
    if (!auth.ok) return this.refuse(auth.reason);

    // From here on the call is ours: every path must end it.
    const call = auth.call;
    this.call = call;
    this.streamSid = start.streamSid;
    this.prefix = mediaPrefix(start.streamSid);
    this.answeredAt = new Date();
    this.answeredMono = performance.now();
    this.log = this.log.child({ accountId: String(call.accountId), agentId: call.agent.id });
    // The in-progress write goes through the process's one database writer, which a burst of
    // calls queues on: the caller hears the agent without waiting for it, and the call's end
    // waits for it, so the close-out always sees the start.
    this.started = this.recordStart(start.streamSid);
    void this.started.then((ok) => {
      if (!ok) void this.end("worker-error");
    });
    try {
      this.heldMicros = await this.deps.reservations.heldByCall(call.accountId, call.callSid);
    } catch (err) {
      this.log.error({ err }, "reservation could not be read");
      this.state = "live";
      return void this.end("worker-error");
    }
    this.state = "live";
    this.deps.registry.add(this);
    this.log.info({ streamSid: start.streamSid, heldMicros: this.heldMicros }, "call started");
    if (this.socketGone) return void this.end("stream-error");
    if (this.stopRequested) return void this.end("caller-hangup");

    this.engine = this.deps.engines({
      callId: call.callId,
      agent: call.agent,
      log: this.log,
      sendAudio: (payload) => this.sendAudio(payload),
      sendMark: (name) => this.send(markMessage(this.streamSid, name)),
      clearAudio: () => this.send(clearMessage(this.streamSid)),
      endCall: (reason, opts) => this.engineEnded(reason ?? "agent-ended", opts?.farewell === true),
      record: (turn) => this.recorder.record(turn),
      activity: () => undefined,
      reportUsage: (usage) => this.recorder.addUsage(usage),
      streamMs: () => this.connectedMs(),
    });
    this.planBudget();
    try {
      await this.engine.start();
    } catch (err) {
      this.log.error({ err }, "voice engine failed to start");
      return void this.end("stream-error");
    }
    const early = this.early ?? [];
    this.early = null;
    for (const frame of early) {
      if (!this.engine) break;
      this.stats.framesIn++;
      this.engine.onAudio(frame);
    }
  }

  /** Marks the call in progress; false when that could not be recorded. */
  private async recordStart(streamSid: string): Promise<boolean> {
    const call = this.call!;
    let persisted = false;
    for (let attempt = 1; attempt <= 3; attempt++) {
      try {
        // By _id alone: FerretDB scans the collection for any other filter, and the Redis claim
        // already makes this session the call's only writer until it ends.
        const { matchedCount } = await serializedWrite(() =>
          CallModel.updateOne({ _id: call.callId }, { $set: { status: "in-progress", answeredAt: this.answeredAt, streamSid } }),
        );
        if (matchedCount > 0) return true;
        if (persisted) throw new Error("call document missing after it was written");
        // Admitted while the database was away, not written yet: write it from its admission,
        // then update again without counting an attempt.
        if (!(await this.deps.admissions.persist(call.callId))) throw new Error("call has no document and no admission record");
        persisted = true;
        attempt--;
      } catch (err) {
        this.log.error({ err, attempt }, "call start could not be recorded");
        await new Promise((r) => setTimeout(r, 100 * attempt));
      }
    }
    return false;
  }

  // ---- money and time limits ------------------------------------------------------------------

  private planBudget(): void {
    const call = this.call!;
    const step = nextBudgetStep({
      coveredMs: coveredMs(this.heldMicros, call.ratePerMinuteMicros),
      maxMs: maxCallMs(call.agent.maxCallDurationSeconds, this.deps.config.maxCallSeconds),
      goodbyeMs: this.deps.config.goodbyeMs,
      extendLeadMs: EXTEND_LEAD_MS,
    });
    const elapsed = this.connectedMs();
    if (step.kind === "goodbye") {
      this.after(step.atMs - elapsed, () => this.sayGoodbye(step.reason));
      return;
    }
    this.after(step.atMs - elapsed, () => void this.extend(step.deadlineMs));
  }

  /**
   * Reserves the next chunk. While the balance cannot cover it, retries (other calls may end and
   * free money) until the deadline, when the caller hears the goodbye: the call uses all it has
   * paid for and ends inside it.
   */
  private async extend(deadlineMs: number): Promise<void> {
    if (this.state !== "live") return;
    const call = this.call!;
    this.extension ??= { deadline: this.after(deadlineMs - this.connectedMs(), () => this.sayGoodbye("insufficient-balance")) };
    const chunk = costMicros(this.deps.config.reservationChunkSeconds, call.ratePerMinuteMicros);
    try {
      await this.deps.reservations.reserve({
        accountId: call.accountId,
        callKey: call.callSid,
        once: false,
        amountMicros: chunk,
        requiredMicros: chunk,
        ttlMs: this.deps.reservationTtlMs,
      });
    } catch (err) {
      if (this.state !== "live") return;
      if (err instanceof InsufficientBalanceError) this.log.debug({ connectedMs: this.connectedMs() }, "balance cannot cover the next chunk");
      else this.log.error({ err }, "reservation extension failed");
      if (this.connectedMs() + EXTEND_RETRY_MS < deadlineMs) this.after(EXTEND_RETRY_MS, () => void this.extend(deadlineMs));
      return;
    }
    if (this.state !== "live") return;
    this.clear(this.extension.deadline);
    this.extension = null;
    this.heldMicros += chunk;
    this.planBudget();
  }

  /**
   * Stops the agent and hangs up after a goodbye: spoken by the engine when it can (the call ends
   * once it has played, GOODBYE_MS at most), else the goodbye tone.
   */
  private sayGoodbye(reason: EndedReason, opts: { spoken: boolean } = { spoken: true }): void {
    if (this.state !== "live") return;
    this.state = "ending";
    this.pendingReason = reason;
    if (this.extension) this.clear(this.extension.deadline);
    this.after(this.deps.config.goodbyeMs, () => void this.end(reason));
    const engine = this.engine;
    if (opts.spoken && engine?.sayGoodbye && (reason === "max-duration" || reason === "insufficient-balance")) {
      engine.sayGoodbye(reason).then(
        (played) => (played ? void this.end(reason) : this.playGoodbyeTone()),
        (err: unknown) => {
          this.log.warn({ err }, "spoken goodbye failed; playing the tone");
          this.playGoodbyeTone();
        },
      );
      return;
    }
    this.playGoodbyeTone();
  }

  private playGoodbyeTone(): void {
    if (this.state !== "ending") return;
    this.engine?.close();
    this.engine = null;
    this.send(clearMessage(this.streamSid));
    for (const payload of goodbyeFrames(this.deps.config.goodbyeMs)) this.sendAudio(payload);
    this.send(markMessage(this.streamSid, "goodbye"));
  }

  /** The engine ended the call; failures it cannot speak through get the goodbye tone first. */
  private engineEnded(reason: EngineEndReason, farewell: boolean): void {
    if (this.state === "ending") return void this.end(this.pendingReason ?? reason);
    if (farewell) return this.sayGoodbye(reason, { spoken: false });
    void this.end(reason);
  }

  // ---- end -------------------------------------------------------------------------------------

  /** Ends the call exactly once; later calls return the same promise. */
  end(reason: EndedReason): Promise<void> {
    this.ended ??= this.finish(reason);
    return this.ended;
  }

  private async finish(reason: EndedReason): Promise<void> {
    const call = this.call!;
    const connectedMs = this.connectedMs();
    const endedAt = new Date(this.answeredAt.getTime() + connectedMs);
    this.state = "closed";
    for (const t of this.timers) clearTimeout(t);
    this.timers.clear();
    this.engine?.close();
    this.engine = null;
    this.deps.registry.remove(this);
    // A call never recorded as answered is billed nothing: that is our failure, not the caller's.
    if (this.started && !(await this.started)) this.log.error("call ends unrecorded as answered; it will not be billed");
    // Before the close-out, and after the start write: no other update of the call may race this
    // one (FerretDB updates are not atomic).
    await this.recorder.save(call.callId, this.stats).catch((err: unknown) => this.log.error({ err }, "transcript could not be stored"));

    const handedOver = await this.handOver({
      callId: call.callId,
      status: endedStatus(reason),
      endedReason: reason,
      endedAt: endedAt.toISOString(),
      connectedMs,
      source: "stream",
    });
    if (handedOver) await this.deps.liveness.stopBeating(call.callId).catch(() => undefined);
    // Twilio ended a call that sent `stop`; every other end is ours to make stick.
    if (reason !== "caller-hangup") await this.hangUp(call);
    this.closeQuietly(1000);
    this.log.info({ reason, connectedMs, ...this.stats }, "call ended");
    this.settle();
  }

  private async handOver(job: Parameters<typeof enqueueCloseOut>[1]): Promise<boolean> {
    for (let attempt = 1; attempt <= 3; attempt++) {
      try {
        await enqueueCloseOut(this.deps.queue, job);
        return true;
      } catch (err) {
        this.log.error({ err, attempt }, "close-out could not be enqueued");
        await new Promise((r) => setTimeout(r, 200 * attempt));
      }
    }
    // The heartbeat lapses now that the session is gone, and the sweeper closes the call.
    return false;
  }

  private async hangUp(call: AuthorizedCall): Promise<void> {
    try {
      const result = await this.deps.twilio.hangUp(call.twilioAccountSid, call.callSid);
      if (result === "not-configured") this.log.warn("TWILIO_AUTH_TOKEN unset: call ended by closing the stream only");
      else this.log.info({ result }, "call hung up through Twilio");
    } catch (err) {
      this.log.error({ err }, "Twilio hang-up failed; closing the stream ends the call");
    }
  }

  /** Refuses the stream: policy-violation close, nothing recorded, nothing billed. */
  private refuse(reason: string, code = POLICY_VIOLATION): void {
    this.log.warn({ reason }, "stream refused");
    this.state = "closed";
    for (const t of this.timers) clearTimeout(t);
    this.timers.clear();
    this.closeQuietly(code, reason);
    this.settle();
  }

  // ---- output ----------------------------------------------------------------------------------

  private sendAudio(payload: string): void {
    if (this.ws.bufferedAmount > MAX_BUFFERED_BYTES) {
      this.stats.droppedOut++;
      return;
    }
    this.stats.framesOut++;
    this.recorder.audioOut(payload);
    this.send(mediaMessage(this.prefix, payload));
  }

  private send(text: string): void {
    if (this.ws.readyState === WebSocket.OPEN) this.ws.send(text);
  }

  private closeQuietly(code: number, reason = ""): void {
    if (this.ws.readyState === WebSocket.OPEN || this.ws.readyState === WebSocket.CONNECTING) {
      this.ws.close(code === 1005 || code === 1006 ? 1000 : code, reason.slice(0, 100));
    }
  }

  private after(ms: number, fn: () => void): NodeJS.Timeout {
    const timer = setTimeout(() => {
      this.timers.delete(timer);
      fn();
    }, Math.max(0, ms));
    this.timers.add(timer);
    return timer;
  }

  private clear(timer: NodeJS.Timeout): void {
    clearTimeout(timer);
    this.timers.delete(timer);
  }
}

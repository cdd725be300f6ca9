import { randomUUID } from "node:crypto";
import { performance } from "node:perf_hooks";
import type { Queue } from "bullmq";
import { WebSocket, type RawData } from "ws";
import type { CallAdmissions } from "../../schema/billing/call-admissions.js";
import { STREAM_OWNER_PREFIX, type CallLiveness } from "../../schema/billing/call-liveness.js";
import { enqueueCloseOut } from "../../schema/billing/closeout-queue.js";
import type { ReservationService } from "../../schema/billing/reservation.service.js";
import { InsufficientBalanceError } from "../../schema/infra/errors.js";
import type { Logger } from "../../schema/infra/logger.js";
import type { CallCloseOutJob } from "../../schema/infra/queues.js";
import { costMicros } from "../../schema/billing/rating.js";
import { serializedWrite } from "../../schema/infra/write-gate.js";
import { CallModel, endedStatus, type EndedReason } from "../../schema/models/call.model.js";
import { mulawBase64Ms } from "../audio/mulaw.js";
import { goodbyeTones, renderTones, toFramePayloads } from "../audio/tone.js";
import type { MediaConfig } from "../config.js";
import type { AudioFrame, EngineFactory, EngineEndReason, VoiceEngine } from "../engines/voice-engine.js";
import { parseTwilioMessage, type TwilioEvent } from "../protocol/inbound.js";
import { clearMessage, markMessage, mediaMessage, mediaPrefix } from "../protocol/outbound.js";
import type { TwilioRestClient } from "../twilio/twilio-rest.client.js";
import { rawDataText } from "../lib/raw-data.js";
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
}

/** What the worker wants to hear about one session. */
export interface SessionHooks {
  /** The stream is live (authorized and claimed), or the session ended before: called at most once. */
  onLive?: () => void;
}

/** Reasons that are our failure, not the caller's or the agent's: the time they cost is not billed. */
const OUR_FAILURES: ReadonlySet<EndedReason> = new Set([
  "provider-error",
  "provider-rate-limited",
  "provider-disconnected",
  "engine-unavailable",
  "worker-error",
]);
/** Time a goodbye may run past the length of its own audio before the worker hangs up anyway. */
export const GOODBYE_MARGIN_MS = 750;
/** Mark sent after the goodbye tone. */
const GOODBYE_MARK = "goodbye";

type State = "awaiting-start" | "starting" | "live" | "ending" | "closed";

/** WebSocket close code for authentication and protocol-policy failures. */
export const POLICY_VIOLATION = 1008;
/** Outgoing audio is dropped while this many bytes wait to be sent: a stalled peer cannot grow memory. */
const MAX_BUFFERED_BYTES = 512 * 1024;
/** Time an extension has to answer before the goodbye must begin. */
const EXTEND_LEAD_MS = 1_000;
/** Pause between attempts to extend while the balance cannot cover the next chunk. */
const EXTEND_RETRY_MS = 250;
/** Milliseconds a refused socket has to finish the close handshake before it is cut. */
const CLOSE_GRACE_MS = 2_000;
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
  /** The owner value this session claims its call with; the heartbeat checks it is still ours. */
  readonly owner = `${STREAM_OWNER_PREFIX}${this.id}`;
  /** Connected time when the call ended: what the close-out and the last heartbeats report. */
  private finalMs: number | null = null;
  /** Connected time of the first audio the agent sent; null until it said something. */
  private agentSpokeAtMs: number | null = null;
  /** Connected time of our first failure (provider, worker); time after it is not billed. */
  private failedAtMs: number | null = null;
  /** The goodbye being played: when it began (monotonic) and how much audio it has sent. */
  private goodbye: { startedMono: number; audioMs: number } | null = null;
  /** Connected time of the last checkpoint written to the call record, and whether one is in flight. */
  private lastCheckpointMs = 0;
  private checkpointing = false;
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
    private readonly hooks: SessionHooks = {},
  ) {
    this.log = deps.log.child({ callId: pathCallId, sessionId: this.id });
  }

  /**
   * Starts listening to the socket. The stream must be live within STREAM_START_TIMEOUT_MS:
   * its `start` sent and authorized. Otherwise the socket is closed (1008 start-timeout), also
   * while the authorization hangs on a stalled database or Redis.
   */
  attach(): void {
    this.ws.on("message", (data, isBinary) => this.onMessage(data, isBinary));
    this.ws.on("close", (code) => this.onClose(code));
    this.ws.on("error", (err) => this.log.warn({ err: err.message }, "stream socket error"));
    this.after(this.deps.config.streamStartTimeoutMs, () => {
      if (this.state === "awaiting-start") this.refuse("start-timeout");
      else if (this.state === "starting") this.abandonStart();
    });
  }

  /**
   * The `start` is still being authorized: the socket is closed now, and begin() goes on as for
   * a socket closed by Twilio meanwhile: refused, or, should the authorization still succeed and
   * claim the call, ended at once (hung up and closed out).
   */
  private abandonStart(): void {
    this.log.warn({ reason: "start-timeout", state: this.state }, "stream refused");
    this.socketGone = true;
    this.closeQuietly(POLICY_VIOLATION, "start-timeout");
    this.dropIfStillOpen();
  }

  get callId(): string {
    return this.pathCallId;
  }

  /** Connected milliseconds so far, rounded up so a started call never measures 0 (0 before it started). */
  connectedMs(): number {
    if (this.finalMs !== null) return this.finalMs;
    return this.answeredMono ? Math.ceil(performance.now() - this.answeredMono) : 0;
  }

  /** The call is live (not starting, ending or over). */
  get isLive(): boolean {
    return this.state === "live";
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
    const parsed = parseTwilioMessage(rawDataText(data));
    if (!parsed.ok) return this.problem(parsed.problem, parsed.detail);
    try {
      this.dispatch(parsed.event);
    } catch (err) {
      // An engine that throws ends its own call, never the worker's other calls.
      this.fail(err, "stream message handling failed");
    }
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
        this.begin(event).catch((err: unknown) => this.fail(err, "call start failed"));
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
        // The worker's goodbye tone has played: hang up now.
        if (this.state === "ending" && event.name === GOODBYE_MARK && !this.engine)
          return void this.end(this.pendingReason ?? "agent-ended");
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
        owner: this.owner,
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
    void this.started.then(
      (ok) => {
        if (!ok) void this.end("worker-error");
      },
      (err: unknown) => this.fail(err, "call start could not be recorded"),
    );
    try {
      this.heldMicros = await this.deps.reservations.heldByCall(call.accountId, call.callSid);
    } catch (err) {
      this.log.error({ err }, "reservation could not be read");
      this.state = "live";
      return void this.end("worker-error");
    }
    this.state = "live";
    this.hooks.onLive?.();
    this.deps.registry.add(this);
    this.log.info({ streamSid: start.streamSid, heldMicros: this.heldMicros }, "call started");
    if (this.socketGone) return void this.end("stream-error");
    if (this.stopRequested) return void this.end("caller-hangup");

    this.engine = this.deps.engines({
      callId: call.callId,
      agent: call.agent,
      log: this.log,
      sendAudio: (payload) => {
        this.agentSpokeAtMs ??= this.connectedMs();
        this.sendAudio(payload);
      },
      sendMark: (name) => this.send(markMessage(this.streamSid, name)),
      clearAudio: () => this.send(clearMessage(this.streamSid)),
      endCall: (reason, opts) => {
        try {
          this.engineEnded(reason ?? "agent-ended", opts?.farewell === true);
        } catch (err) {
          this.fail(err, "ending the call failed");
        }
      },
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
      this.failedAtMs ??= this.connectedMs();
      return void this.end("provider-error");
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
    this.after(
      step.atMs - elapsed,
      () => void this.extend(step.deadlineMs).catch((err: unknown) => this.fail(err, "reservation extension crashed")),
    );
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
      if (err instanceof InsufficientBalanceError)
        this.log.debug({ connectedMs: this.connectedMs() }, "balance cannot cover the next chunk");
      else this.log.error({ err }, "reservation extension failed");
      if (this.connectedMs() + EXTEND_RETRY_MS < deadlineMs) {
        this.after(
          EXTEND_RETRY_MS,
          () => void this.extend(deadlineMs).catch((e: unknown) => this.fail(e, "reservation extension crashed")),
        );
      }
      return;
    }
    if (this.state !== "live") return;
    this.clear(this.extension.deadline);
    this.extension = null;
    this.heldMicros += chunk;
    this.planBudget();
  }

  /**
   * Stops the agent and hangs up after a goodbye: spoken by the engine when it can, else the
   * goodbye tone. The call ends when the goodbye has played (its mark came back), and at the
   * latest its own audio's length plus a margin after it began (GOODBYE_MS before any audio).
   */
  private sayGoodbye(reason: EndedReason, opts: { spoken: boolean } = { spoken: true }): void {
    if (this.state !== "live") return;
    this.state = "ending";
    this.pendingReason = reason;
    if (this.extension) this.clear(this.extension.deadline);
    this.goodbye = { startedMono: performance.now(), audioMs: 0 };
    this.armGoodbyeDeadline(reason);
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

  /** Hangs up once the goodbye has had its audio's length plus a margin; re-arms while audio grows. */
  private armGoodbyeDeadline(reason: EndedReason): void {
    const g = this.goodbye!;
    const elapsed = performance.now() - g.startedMono;
    const due = Math.max(this.deps.config.goodbyeMs, g.audioMs) + GOODBYE_MARGIN_MS - elapsed;
    if (due <= 0) return void this.end(reason);
    this.after(due, () => this.armGoodbyeDeadline(reason));
  }

  private playGoodbyeTone(): void {
    if (this.state !== "ending") return;
    this.engine?.close();
    this.engine = null;
    this.send(clearMessage(this.streamSid));
    for (const payload of goodbyeFrames(this.deps.config.goodbyeMs)) this.sendAudio(payload);
    this.send(markMessage(this.streamSid, GOODBYE_MARK));
  }

  /** The engine ended the call; failures it cannot speak through get the goodbye tone first. */
  private engineEnded(reason: EngineEndReason, farewell: boolean): void {
    if (OUR_FAILURES.has(reason)) this.failedAtMs ??= this.connectedMs();
    if (this.state === "ending") return void this.end(this.pendingReason ?? reason);
    if (farewell) return this.sayGoodbye(reason, { spoken: false });
    void this.end(reason);
  }

  /** An unexpected error in this call's handling: the call ends as a worker error, the others go on. */
  private fail(err: unknown, msg: string): void {
    this.log.error({ err }, msg);
    if (this.state === "live" || this.state === "ending") {
      this.failedAtMs ??= this.connectedMs();
      void this.end("worker-error");
    } else if (this.state === "awaiting-start" || (this.state === "starting" && !this.call)) {
      this.refuse("worker-error", 1011);
    } else if (this.state === "starting") {
      this.state = "live";
      void this.end("worker-error");
    }
  }

  // ---- checkpoints and fencing ---------------------------------------------------------------

  /**
   * Writes the connected time to the call record every CHECKPOINT_INTERVAL_MS (the heartbeat
   * calls this): the database's own record of the call's progress, which the reconciler bills
   * from if Redis lost the heartbeat. Only after the start was recorded, one write at a time.
   */
  checkpointIfDue(): void {
    if (this.state !== "live" || this.checkpointing || !this.call || !this.started) return;
    const ms = this.connectedMs();
    if (ms - this.lastCheckpointMs < this.deps.config.checkpointIntervalMs) return;
    this.checkpointing = true;
    const callId = this.call.callId;
    void this.started
      .then(async (ok) => {
        if (!ok || this.state !== "live") return;
        await serializedWrite(() => CallModel.updateOne({ _id: callId, endedAt: null }, { $set: { checkpointMs: ms } }));
        this.lastCheckpointMs = ms;
      })
      .catch((err: unknown) => this.log.warn({ err }, "checkpoint could not be written"))
      .finally(() => (this.checkpointing = false));
  }

  /**
   * Another process took the call over (it found the session silent and closed it out): this
   * session stops talking at once, hangs up, and never bills: the other close-out stands.
   */
  fence(): void {
    if (this.state === "closed" || this.ended) return;
    this.log.error({ connectedMs: this.connectedMs() }, "call was taken over by another process; stopping without billing");
    this.state = "closed";
    this.finalMs = this.connectedMs();
    this.stopEverything();
    this.deps.registry.remove(this);
    this.closeQuietly(1000);
    const call = this.call;
    this.ended = (call ? this.hangUp(call) : Promise.resolve()).finally(() => this.settle());
  }

  // ---- end -------------------------------------------------------------------------------------

  /** Ends the call exactly once; later calls return the same promise. */
  end(reason: EndedReason): Promise<void> {
    this.ended ??= this.finish(reason).catch((err: unknown) => {
      this.log.error({ err }, "ending the call failed");
      this.settle();
    });
    return this.ended;
  }

  /** What the customer pays for: nothing if we failed before the agent spoke, else up to our failure. */
  private billableMs(connectedMs: number): number {
    if (this.failedAtMs === null) return connectedMs;
    if (this.agentSpokeAtMs === null || this.agentSpokeAtMs > this.failedAtMs) return 0;
    return Math.min(this.failedAtMs, connectedMs);
  }

  /**
   * The order matters: the caller is released first (socket closed, Twilio told to hang up) so
   * nobody listens to silence while we write; then the close-out is queued, carrying the
   * transcript, while the heartbeat still says this session owns the call; only then does the
   * heartbeat stop.
   */
  private async finish(reason: EndedReason): Promise<void> {
    const call = this.call!;
    const connectedMs = this.connectedMs();
    this.finalMs = connectedMs;
    const endedAt = new Date(this.answeredAt.getTime() + connectedMs);
    this.state = "closed";
    this.stopEverything();
    this.closeQuietly(1000);
    // Twilio ended a call that sent `stop`; every other end is ours to make stick.
    const hungUp = reason !== "caller-hangup" ? this.hangUp(call) : Promise.resolve();
    // Not waiting for the start write (the database may be away): the job carries answeredAt.
    const billableMs = this.billableMs(connectedMs);
    const handedOver = await this.handOver({
      callId: call.callId,
      status: endedStatus(reason),
      endedReason: reason,
      endedAt: endedAt.toISOString(),
      connectedMs,
      ...(billableMs < connectedMs ? { billableMs } : {}),
      answeredAt: this.answeredAt.toISOString(),
      ratePerMinuteMicros: call.ratePerMinuteMicros,
      source: "stream",
      record: this.recorder.snapshot(this.stats),
    });
    this.deps.registry.remove(this);
    if (handedOver) await this.deps.liveness.stopBeating(call.callId).catch(() => undefined);
    await hungUp;
    this.log.info({ reason, connectedMs, billableMs, ...this.stats }, "call ended");
    this.settle();
  }

  private stopEverything(): void {
    this.clearTimers();
    this.engine?.close();
    this.engine = null;
  }

  private async handOver(job: CallCloseOutJob): Promise<boolean> {
    for (let attempt = 1; attempt <= 3; attempt++) {
      try {
        await enqueueCloseOut(this.deps.queue, job, this.deps.config.closeOut);
        return true;
      } catch (err) {
        this.log.error({ err, attempt }, "close-out could not be enqueued");
        await new Promise((r) => setTimeout(r, 200 * attempt));
      }
    }
    // The heartbeat lapses now that the session is gone, and the sweeper or reconciler closes the call.
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
    this.clearTimers();
    this.closeQuietly(code, reason);
    this.dropIfStillOpen();
    this.settle();
  }

  /** A refused peer that does not finish the close handshake is cut off instead of waiting for ws's 30 s. */
  private dropIfStillOpen(): void {
    setTimeout(() => {
      if (this.ws.readyState !== WebSocket.CLOSED) this.ws.terminate();
    }, CLOSE_GRACE_MS).unref();
  }

  // ---- output ----------------------------------------------------------------------------------

  private sendAudio(payload: string): void {
    if (this.ws.bufferedAmount > MAX_BUFFERED_BYTES) {
      this.stats.droppedOut++;
      return;
    }
    this.stats.framesOut++;
    this.recorder.audioOut(payload);
    if (this.goodbye) this.goodbye.audioMs += mulawBase64Ms(payload);
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
    const timer = setTimeout(
      () => {
        this.timers.delete(timer);
        fn();
      },
      Math.max(0, ms),
    );
    this.timers.add(timer);
    return timer;
  }

  private clearTimers(): void {
    for (const t of this.timers) clearTimeout(t);
    this.timers.clear();
  }

  private clear(timer: NodeJS.Timeout): void {
    clearTimeout(timer);
    this.timers.delete(timer);
  }
}

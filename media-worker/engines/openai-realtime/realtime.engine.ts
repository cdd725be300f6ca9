import { WebSocket, type RawData } from "ws";
import { OPENAI_VOICES } from "../../../schema/models/agent-config.js";
import type { SayOptions, SayOutcome, TalkingEngine } from "../../conversation/call-control.js";
import { rawDataText } from "../../lib/raw-data.js";
import { Timers } from "../../lib/timers.js";
import { realtimeSocketUrl, type OpenAIRealtimeConfig } from "../engine-config.js";
import type { AudioFrame, EngineContext, EngineEndReason } from "../voice-engine.js";
import { mulawBase64Ms } from "../../audio/mulaw.js";
import { playbackStartMs, playedMs } from "./playback.js";
import * as ev from "./realtime.events.js";

/** Caller frames queued while the provider socket opens (5 s); older ones are dropped. */
const MAX_QUEUED_AUDIO = 250;

/** One response of the model, from its creation until its audio has played (or was cut). */
interface Reply {
  id: string;
  itemId: string | null;
  /** Stream time its audio began to play; null until the first audio delta. */
  startedMs: number | null;
  sentMs: number;
  /** The Twilio mark sent after its last audio. */
  mark: string | null;
  done: boolean;
  interrupted: boolean;
  /** Played to the end, or cut: its transcript can be recorded. */
  final: boolean;
  transcript: string | null;
  recorded: boolean;
  /** Hang up once it has played (the model called end_call). */
  endCall: boolean;
  /** Requested by `say` (a reminder or goodbye), resolved when played. */
  say: ((outcome: SayOutcome) => void) | null;
}

export interface RealtimeEngineOptions {
  /** Milliseconds the goodbye after end_call may take before the call is hung up anyway. */
  sayTimeoutMs: number;
}

/**
 * Bridges a call to the OpenAI Realtime API over one WebSocket, opened as soon as the engine
 * exists (on the stream's `start`). Mu-law passes through both ways untouched; the provider's
 * server VAD finds turns; on barge-in Twilio's queue is cleared and the model is told how much of
 * its answer the caller heard (conversation.item.truncate). The `end_call` tool hangs up after the
 * goodbye has played. Provider errors, rate limits and disconnects end the call with a reason.
 */
export class OpenAIRealtimeEngine implements TalkingEngine {
  private readonly ws: WebSocket;
  private readonly timers = new Timers();
  private readonly queue: string[] = [];
  private queuedAudio = 0;
  private readonly replies = new Map<string, Reply>();
  /** Replies whose audio is queued at Twilio, oldest first. */
  private playing: Reply[] = [];
  private readonly marks = new Map<string, Reply>();
  private readonly says = new Map<string, { settle: (o: SayOutcome) => void; endCall: boolean }>();
  /** Stream time when the caller's turns began, by input item. */
  private readonly callerStarts = new Map<string, number>();
  /** The model's end_call, answered when the goodbye is asked for separately. */
  private endCallId: string | null = null;
  private latestMs = 0;
  private queuedUntilMs = 0;
  private seq = 0;
  private configured = false;
  /** A final line is on its way: no more conversation turns. */
  private stopped = false;
  private failed = false;
  private closed = false;

  constructor(
    private readonly ctx: EngineContext,
    private readonly cfg: OpenAIRealtimeConfig,
    private readonly opts: RealtimeEngineOptions,
  ) {
    const url = realtimeSocketUrl(cfg);
    const headers: Record<string, string> = { authorization: `Bearer ${cfg.apiKey}` };
    // Azure OpenAI authenticates with an api-key header instead.
    if (new URL(url).hostname.endsWith(".azure.com")) headers["api-key"] = cfg.apiKey;
    this.ws = new WebSocket(url, { headers, perMessageDeflate: false, handshakeTimeout: cfg.connectTimeoutMs });
    this.ws.on("open", () => this.flush());
    this.ws.on("message", (data: RawData) => this.onEvent(ev.parseServerEvent(rawDataText(data))));
    this.ws.on("unexpected-response", (_req, res) => {
      this.fail(res.statusCode === 429 ? "provider-rate-limited" : "provider-error", { status: res.statusCode });
      this.ws.terminate();
    });
    this.ws.on("error", (err) => this.fail("provider-error", { err: err.message }));
    this.ws.on("close", (code) => this.fail("provider-disconnected", { code }));
    const agent = ctx.agent;
    this.send(
      ev.sessionUpdate({
        instructions: instructionsFor(agent),
        voice: (OPENAI_VOICES as readonly string[]).includes(agent.voice) ? agent.voice : "",
        language: agent.language,
        transcriptionModel: cfg.transcriptionModel,
      }),
    );
  }

  async start(): Promise<void> {
    this.ctx.reportUsage({ engine: "OPENAI_REALTIME", provider: `openai:${this.cfg.model}` });
    const greeting = this.ctx.agent.greeting;
    this.send(
      ev.responseCreate({
        tag: "greeting",
        instructions: greeting ? `Greet the caller by saying exactly: "${greeting}"` : undefined,
        tools: false,
      }),
    );
  }

  onAudio(frame: AudioFrame): void {
    this.latestMs = frame.timestampMs;
    if (this.closed || this.failed) return;
    this.send(ev.appendAudio(frame.payload), true);
  }

  onDtmf(digit: string): void {
    if (this.closed || this.failed || this.stopped) return;
    this.send(ev.userNote(`(The caller pressed the phone key "${digit}".)`));
    if (this.playing.length === 0 && ![...this.replies.values()].some((r) => !r.done)) {
      this.send(ev.responseCreate({ tag: `dtmf-${++this.seq}` }));
    }
  }

  onMark(name: string): void {
    const reply = this.marks.get(name);
    if (!reply) return;
    this.marks.delete(name);
    if (reply.interrupted) return;
    this.playing = this.playing.filter((r) => r !== reply);
    this.settle(reply, "played");
    if (this.playing.length === 0) this.ctx.activity("agent-finished");
    if (reply.endCall && !this.closed) this.ctx.endCall("agent-ended");
  }

  say(text: string, opts: SayOptions): Promise<SayOutcome> {
    if (this.closed || this.failed) return Promise.resolve("failed");
    if (!opts.interruptible) this.stopConversation();
    // A response still being generated would make the provider refuse a new one.
    if ([...this.replies.values()].some((r) => !r.done)) this.send(ev.responseCancel());
    this.cutReplies();
    return new Promise((settle) => {
      const tag = `say-${++this.seq}`;
      this.says.set(tag, { settle, endCall: false });
      this.send(
        ev.responseCreate({
          tag,
          instructions: `Say exactly this to the caller, word for word, and nothing else: "${text}"`,
          tools: false,
        }),
      );
    });
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.timers.clearAll();
    for (const reply of this.replies.values()) this.recordTranscript(reply, true);
    for (const s of this.says.values()) s.settle("interrupted");
    this.says.clear();
    for (const reply of this.replies.values()) reply.say?.("interrupted");
    this.queue.length = 0;
    // Never leave a provider session running (they bill until their 30-minute cap).
    if (this.ws.readyState === WebSocket.OPEN) this.ws.close(1000, "call ended");
    else if (this.ws.readyState === WebSocket.CONNECTING) this.ws.terminate();
  }

  // ---- provider events -----------------------------------------------------------------------

  private onEvent(e: ev.ServerEvent): void {
    if (this.closed) return;
    switch (e.kind) {
      case "session-updated":
        this.configured = true;
        return;
      case "response-created":
        return this.onResponseCreated(e.responseId, e.tag);
      case "audio-delta":
        return this.onAudioDelta(e.responseId, e.itemId, e.delta);
      case "response-done":
        return this.onResponseDone(e);
      case "speech-started":
        return this.onSpeechStarted(e.itemId);
      case "speech-stopped":
        this.ctx.activity("caller-stopped");
        return;
      case "caller-transcript":
        this.ctx.record({ role: "caller", text: e.transcript.trim(), offsetMs: this.callerStarts.get(e.itemId) ?? this.latestMs });
        this.callerStarts.delete(e.itemId);
        return;
      case "agent-transcript": {
        const reply = this.reply(e.responseId);
        reply.transcript = e.transcript.trim();
        this.recordTranscript(reply, false);
        return;
      }
      case "function-call":
        return this.onFunctionCall(e.responseId, e.callId, e.name);
      case "error": {
        const reason = ev.fatalReason(e.error, this.configured);
        if (reason) return this.fail(reason, { error: e.error });
        this.ctx.log.warn({ error: e.error }, "realtime provider reported an error");
        return;
      }
      default:
        return;
    }
  }

  private onResponseCreated(id: string, tag: string | null): void {
    const reply = this.reply(id);
    const say = tag ? this.says.get(tag) : undefined;
    if (say && tag) {
      this.says.delete(tag);
      reply.say = say.settle;
      reply.endCall = say.endCall;
    }
  }

  private onAudioDelta(responseId: string, itemId: string, delta: string): void {
    const reply = this.reply(responseId);
    // Audio of a response the caller talked over, still in flight: drop it.
    if (reply.interrupted) return;
    if (reply.startedMs === null) {
      reply.startedMs = playbackStartMs(this.latestMs, this.queuedUntilMs);
      if (this.playing.length === 0) this.ctx.activity("agent-started");
      this.playing.push(reply);
    }
    reply.itemId = itemId || reply.itemId;
    reply.sentMs += mulawBase64Ms(delta);
    this.queuedUntilMs = Math.max(this.queuedUntilMs, reply.startedMs + reply.sentMs);
    this.ctx.sendAudio(delta);
  }

  private onResponseDone(e: Extract<ev.ServerEvent, { kind: "response-done" }>): void {
    const reply = this.reply(e.responseId);
    reply.done = true;
    if (e.usage) this.ctx.reportUsage({ inputTokens: e.usage.inputTokens, outputTokens: e.usage.outputTokens });
    if (e.error) {
      const reason = ev.fatalReason(e.error, true);
      if (reason) return this.fail(reason, { error: e.error, status: e.status });
      this.ctx.log.warn({ error: e.error, status: e.status }, "realtime response failed");
    }
    if (reply.interrupted) return;
    if (reply.startedMs !== null) {
      // One mark per response: it comes back once the caller has heard all of it.
      reply.mark = `resp-${++this.seq}`;
      this.marks.set(reply.mark, reply);
      this.ctx.sendMark(reply.mark);
      return;
    }
    // Nothing to play (a tool call alone, or a failed response).
    this.settle(reply, e.status === "completed" ? "played" : "failed");
    if (reply.endCall) this.sayGoodbyeAfterEndCall();
  }

  private onSpeechStarted(itemId: string | null): void {
    if (itemId) this.callerStarts.set(itemId, this.latestMs);
    this.ctx.activity("caller-started");
    this.cutReplies();
  }

  /**
   * Barge-in: drops the agent's queued audio at Twilio and tells the model how much of the reply
   * playing now the caller heard; replies still generating are dropped as they arrive.
   */
  private cutReplies(): void {
    const current = this.playing[0];
    let cut = false;
    if (current) {
      this.ctx.clearAudio();
      if (current.itemId) this.send(ev.truncateItem(current.itemId, playedMs(this.latestMs, current.startedMs!, current.sentMs)));
      cut = true;
    }
    for (const reply of this.replies.values()) {
      if (reply.final || (reply.done && reply.startedMs === null)) continue;
      reply.interrupted = true;
      this.settle(reply, "interrupted");
    }
    this.playing = [];
    this.queuedUntilMs = this.latestMs;
    if (cut) this.ctx.activity("agent-finished");
  }

  private onFunctionCall(responseId: string, callId: string, name: string): void {
    if (name !== ev.END_CALL_TOOL.name) {
      this.ctx.log.warn({ name }, "model called an unknown tool");
      this.send(ev.functionCallOutput(callId, { error: `unknown tool ${name}` }));
      return;
    }
    this.ctx.log.info("model ended the call; hanging up after the goodbye");
    this.stopConversation();
    const reply = this.reply(responseId);
    reply.endCall = true;
    this.endCallId = callId;
    // However the goodbye goes, the call ends.
    this.timers.after(this.opts.sayTimeoutMs, () => this.ctx.endCall("agent-ended"));
    if (reply.done && reply.startedMs === null) this.sayGoodbyeAfterEndCall();
  }

  /** end_call came without a spoken goodbye: ask for one, then hang up once it has played. */
  private sayGoodbyeAfterEndCall(): void {
    if (this.endCallId) this.send(ev.functionCallOutput(this.endCallId, { ok: true, hangingUp: true }));
    const tag = `say-${++this.seq}`;
    this.says.set(tag, { settle: () => undefined, endCall: true });
    this.send(ev.responseCreate({ tag, instructions: "Say a short goodbye to the caller.", tools: false }));
  }

  // ---- helpers -----------------------------------------------------------------------------

  private reply(id: string): Reply {
    let reply = this.replies.get(id);
    if (!reply) {
      reply = {
        id,
        itemId: null,
        startedMs: null,
        sentMs: 0,
        mark: null,
        done: false,
        interrupted: false,
        final: false,
        transcript: null,
        recorded: false,
        endCall: false,
        say: null,
      };
      this.replies.set(id, reply);
    }
    return reply;
  }

  private settle(reply: Reply, outcome: SayOutcome): void {
    reply.final = true;
    reply.say?.(outcome);
    reply.say = null;
    this.recordTranscript(reply, false);
    // Forget finished replies; their stragglers are recognised by id as interrupted.
    if (!reply.interrupted && reply.done) this.replies.delete(reply.id);
  }

  /** An agent turn goes into the transcript once its text is known and it was heard (or cut). */
  private recordTranscript(reply: Reply, ending: boolean): void {
    if (reply.recorded || reply.transcript === null || (!reply.final && !ending)) return;
    if (!reply.transcript) return;
    reply.recorded = true;
    this.ctx.record({
      role: "agent",
      text: reply.transcript,
      offsetMs: reply.startedMs ?? this.latestMs,
      interrupted: reply.interrupted,
    });
  }

  /** No more turns: the provider stops detecting (and answering) the caller's speech. */
  private stopConversation(): void {
    if (this.stopped) return;
    this.stopped = true;
    this.send(ev.turnDetectionUpdate(false));
  }

  private send(text: string, isAudio = false): void {
    if (this.closed) return;
    if (this.ws.readyState === WebSocket.OPEN) return this.ws.send(text);
    if (this.ws.readyState !== WebSocket.CONNECTING) return;
    if (isAudio) {
      if (this.queuedAudio >= MAX_QUEUED_AUDIO) return;
      this.queuedAudio++;
    }
    this.queue.push(text);
  }

  private flush(): void {
    for (const text of this.queue) this.ws.send(text);
    this.queue.length = 0;
    this.queuedAudio = 0;
  }

  private fail(reason: Extract<EngineEndReason, `provider-${string}`>, detail: Record<string, unknown>): void {
    if (this.closed || this.failed) return;
    this.failed = true;
    this.ctx.log.error({ reason, ...detail }, "realtime provider failed; ending the call");
    for (const reply of this.replies.values()) reply.say?.("failed");
    for (const s of this.says.values()) s.settle("failed");
    this.says.clear();
    this.ctx.endCall(reason, { farewell: true });
  }
}

/** The agent's instructions, plus what the bridge needs the model to know. */
function instructionsFor(agent: EngineContext["agent"]): string {
  const parts = [agent.instructions.trim()];
  parts.push(`You are on a phone call. Speak ${agent.language}. Keep answers short.`);
  parts.push(
    "When the caller wants to end the call, or the conversation is complete, say goodbye and call the end_call tool in the same response.",
  );
  return parts.filter(Boolean).join("\n\n");
}

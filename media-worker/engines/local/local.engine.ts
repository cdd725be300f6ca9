import { toFramePayloads } from "../../audio/tone.js";
import { mulawTo16kPcm } from "../../audio/upsample.js";
import type { SayOptions, SayOutcome, TalkingEngine } from "../../conversation/call-control.js";
import { matchIntent } from "../../conversation/phrases.js";
import type { LlmConfig, LocalEngineConfig } from "../engine-config.js";
import type { AudioFrame, EngineContext } from "../voice-engine.js";
import { streamChat, type ChatMessage } from "./llm-client.js";
import type { Grammar, PocketSphinx } from "./recognizer.js";
import { SentenceSplitter } from "./sentences.js";
import { EspeakSpeech, espeakVoice } from "./speech.js";
import { DEFAULT_TURN_OPTIONS, TurnDetector, type TurnEvent } from "./turn-detector.js";
import { VoiceToolsMissingError, type VoiceTools } from "./voice-tools.js";

/** What every local-engine call of a worker shares: tools, caches, settings. */
export interface LocalEngineShared {
  config: LocalEngineConfig;
  llm: LlmConfig | null;
  speech: EspeakSpeech;
  asr: PocketSphinx;
  tools: VoiceTools;
}

/**
 * Share of the caller's speech the grammar's words must cover: a grammar forces every utterance
 * onto some phrase, and speech that is not one of them shows as a short phrase padded with long
 * fillers. Measured on espeak-ng and recorded telephone speech: matches cover 65-100%, other
 * speech 15-40%.
 */
const MIN_COVERAGE = 0.5;
/** Turns of conversation sent to the LLM (the system prompt comes on top). */
const LLM_HISTORY_TURNS = 20;
const FALLBACK_VOICE = "en-us";

/** One thing the agent says: rendered, queued at Twilio, done when its mark comes back. */
interface AgentTurn {
  mark: string;
  abort: AbortController;
  interruptible: boolean;
  /** After it has played, the agent hangs up. */
  endCall: boolean;
  started: boolean;
  spoken: string[];
  offsetMs: number;
  settle: (outcome: SayOutcome) => void;
}

/** What the caller said, as far as the recognizer could tell. */
interface Heard {
  text: string;
  /** The words came from the agent's grammar (an intent or end-call phrase). */
  fromGrammar: boolean;
}

/**
 * The offline engine: espeak-ng speaks, an energy detector finds the caller's turns, PocketSphinx
 * recognises them against a grammar of the agent's phrases, and the agent answers with the
 * matching intent's reply (or the fallback), or through an OpenAI-compatible LLM when one is
 * configured. Caller speech while the agent talks clears Twilio's queue and ends the agent's turn.
 */
export class LocalEngine implements TalkingEngine {
  private readonly detector: TurnDetector;
  private readonly voice: string;
  private readonly aborts = new Set<AbortController>();
  private grammar: Promise<Grammar> | null = null;
  private speaking: AgentTurn | null = null;
  private replying: AbortController | null = null;
  private readonly history: ChatMessage[] = [];
  private turnSeq = 0;
  /** A final line was said: no more conversation turns. */
  private stopped = false;
  private closed = false;

  constructor(
    private readonly ctx: EngineContext,
    private readonly shared: LocalEngineShared,
  ) {
    this.voice = espeakVoice(ctx.agent);
    this.detector = new TurnDetector({
      ...DEFAULT_TURN_OPTIONS,
      startMs: shared.config.bargeInMs,
      endMs: shared.config.turnSilenceMs,
    });
  }

  async start(): Promise<void> {
    try {
      this.shared.tools.assertAvailable();
    } catch (err) {
      if (!(err instanceof VoiceToolsMissingError)) throw err;
      this.ctx.log.error({ missing: err.missing, hint: err.message }, "local voice engine unavailable");
      this.ctx.endCall("engine-unavailable", { farewell: true });
      return;
    }
    const llm = this.shared.llm;
    this.ctx.reportUsage({
      engine: "LOCAL",
      provider: llm ? `local:espeak-ng+pocketsphinx+llm:${llm.model}` : "local:espeak-ng+pocketsphinx",
    });
    const { intents, endCallPhrases } = this.ctx.agent;
    this.grammar = this.shared.asr.grammar([...intents.flatMap((i) => i.phrases), ...endCallPhrases]);
    this.grammar.then(
      (g) =>
        g.skipped.length > 0 &&
        this.ctx.log.warn({ skipped: g.skipped }, "phrases with words PocketSphinx cannot pronounce are not recognised"),
      (err: unknown) => this.ctx.log.error({ err }, "recognition grammar could not be built"),
    );
    if (llm && this.ctx.agent.instructions) this.history.push({ role: "system", content: this.ctx.agent.instructions });
    if (this.ctx.agent.greeting) void this.speak(this.ctx.agent.greeting, { interruptible: true, cache: true });
  }

  onAudio(frame: AudioFrame): void {
    if (this.closed) return;
    const event = this.detector.push(Buffer.from(frame.payload, "base64"), frame.timestampMs);
    if (event) this.onTurn(event);
  }

  onDtmf(digit: string): void {
    this.ctx.log.debug({ digit }, "local engine ignores key presses");
  }

  onMark(name: string): void {
    const turn = this.speaking;
    if (!turn || turn.mark !== name) return;
    this.finishTurn(turn, "played");
    if (turn.endCall && !this.closed) this.ctx.endCall("agent-ended");
  }

  say(text: string, opts: SayOptions): Promise<SayOutcome> {
    if (this.closed) return Promise.resolve("failed");
    if (!opts.interruptible) {
      this.stopped = true;
      this.replying?.abort();
    }
    return this.speak(text, { interruptible: opts.interruptible, cache: true });
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.detector.reset();
    for (const a of this.aborts) a.abort();
    this.aborts.clear();
    if (this.speaking) this.finishTurn(this.speaking, "interrupted");
  }

  // ---- the caller --------------------------------------------------------------------------

  private onTurn(event: TurnEvent): void {
    if (event.kind === "turn-start") {
      this.ctx.activity("caller-started");
      if (this.speaking?.interruptible) this.bargeIn();
      // They went on talking: answer the whole of it, not the first part (a final line still plays).
      if (!this.stopped) this.replying?.abort();
      return;
    }
    this.ctx.activity("caller-stopped");
    if (!this.stopped) void this.answer(event);
  }

  private bargeIn(): void {
    const turn = this.speaking!;
    this.ctx.clearAudio();
    this.ctx.log.debug({ mark: turn.mark }, "caller barged in; agent turn stopped");
    this.finishTurn(turn, "interrupted");
  }

  private async answer(turn: Extract<TurnEvent, { kind: "turn-end" }>): Promise<void> {
    const abort = this.track(new AbortController());
    this.replying = abort;
    try {
      const heard = await this.recognize(turn, abort.signal);
      if (abort.signal.aborted || this.closed) return;
      this.ctx.record({ role: "caller", text: heard.text, offsetMs: turn.startMs });
      // Recording may have ended the conversation (an end-call phrase): then the goodbye is all.
      if (this.stopped) return;
      const match = heard.fromGrammar ? matchIntent(heard.text, this.ctx.agent.intents) : null;
      if (match?.intent.endCall) this.stopped = true;
      if (match && (match.intent.endCall || !this.shared.llm)) {
        await this.speak(match.intent.reply, {
          interruptible: !match.intent.endCall,
          cache: true,
          endCall: match.intent.endCall,
          signal: abort.signal,
        });
      } else if (this.shared.llm) {
        await this.speakLlmReply(heard.text, abort.signal);
      } else {
        await this.speak(this.ctx.agent.fallbackReply, { interruptible: true, cache: true, signal: abort.signal });
      }
    } catch (err) {
      if (!abort.signal.aborted) this.ctx.log.error({ err }, "local engine could not answer");
    } finally {
      this.aborts.delete(abort);
      if (this.replying === abort) this.replying = null;
    }
  }

  private async recognize(turn: Extract<TurnEvent, { kind: "turn-end" }>, signal: AbortSignal): Promise<Heard> {
    const pcm = mulawTo16kPcm(turn.audio);
    const grammar = await this.grammar;
    if (grammar && grammar.phrases.length > 0) {
      const result = await this.shared.asr.recognize(pcm, grammar, signal);
      const coverage = turn.speechMs > 0 ? result.wordsMs / turn.speechMs : 0;
      this.ctx.log.debug({ pii: { text: result.text }, coverage: Math.round(coverage * 100) / 100 }, "grammar recognition");
      if (result.text && coverage >= MIN_COVERAGE) return { text: result.text, fromGrammar: true };
    }
    if (this.shared.llm) {
      const result = await this.shared.asr.recognize(pcm, "free", signal);
      return { text: result.text, fromGrammar: false };
    }
    return { text: "", fromGrammar: false };
  }

  private async speakLlmReply(said: string, signal: AbortSignal): Promise<void> {
    const llm = this.shared.llm!;
    this.history.push({ role: "user", content: said || "(inaudible)" });
    const system = this.history[0]?.role === "system" ? [this.history[0]] : [];
    const messages = [...system, ...this.history.slice(system.length).slice(-LLM_HISTORY_TURNS)];
    const reply: string[] = [];
    const ctx = this.ctx;
    async function* sentences(): AsyncGenerator<string> {
      const splitter = new SentenceSplitter();
      for await (const chunk of streamChat(llm, messages, signal)) {
        if (chunk.kind === "usage") {
          ctx.reportUsage({ inputTokens: chunk.inputTokens, outputTokens: chunk.outputTokens });
          continue;
        }
        for (const s of splitter.push(chunk.text)) yield s;
      }
      yield* splitter.flush();
    }
    let outcome: SayOutcome;
    try {
      outcome = await this.speak(sentences(), { interruptible: true, cache: false, signal, onSpoken: (s) => reply.push(s) });
    } catch (err) {
      if (signal.aborted) throw err;
      this.ctx.log.warn({ err }, "LLM reply failed; using the fallback reply");
      outcome = await this.speak(this.ctx.agent.fallbackReply, {
        interruptible: true,
        cache: true,
        signal,
        onSpoken: (s) => reply.push(s),
      });
    }
    if (reply.length > 0 || outcome === "played") this.history.push({ role: "assistant", content: reply.join(" ") });
  }

  // ---- the agent -----------------------------------------------------------------------------

  /**
   * Renders and queues one agent turn, sentence by sentence, then asks for one mark; resolves
   * when it has played (or was interrupted). Rendering failures of a turn that has not begun
   * reject; the caller of speak decides what to say instead.
   */
  private async speak(
    source: string | AsyncIterable<string>,
    opts: { interruptible: boolean; cache: boolean; endCall?: boolean; signal?: AbortSignal; onSpoken?: (sentence: string) => void },
  ): Promise<SayOutcome> {
    if (this.closed) return "failed";
    if (this.speaking) {
      this.ctx.clearAudio();
      this.finishTurn(this.speaking, "interrupted");
    }
    const abort = this.track(new AbortController());
    let settle!: (outcome: SayOutcome) => void;
    const done = new Promise<SayOutcome>((resolve) => (settle = resolve));
    const turn: AgentTurn = {
      mark: `turn-${++this.turnSeq}`,
      abort,
      interruptible: opts.interruptible,
      endCall: opts.endCall === true,
      started: false,
      spoken: [],
      offsetMs: 0,
      settle,
    };
    this.speaking = turn;
    // The reply was called off (the caller spoke again): whatever of it is queued goes too.
    const stopWith = () => {
      if (this.speaking !== turn) return;
      if (turn.started) this.ctx.clearAudio();
      this.finishTurn(turn, "interrupted");
    };
    if (opts.signal?.aborted) stopWith();
    opts.signal?.addEventListener("abort", stopWith, { once: true });
    try {
      const pieces = typeof source === "string" ? [source] : source;
      for await (const text of pieces) {
        const audio = await this.render(text, opts.cache, abort.signal);
        if (abort.signal.aborted) break;
        if (!turn.started) {
          turn.started = true;
          turn.offsetMs = this.ctx.streamMs();
          this.ctx.activity("agent-started");
        }
        for (const payload of toFramePayloads(audio)) this.ctx.sendAudio(payload);
        turn.spoken.push(text);
        opts.onSpoken?.(text);
      }
      if (abort.signal.aborted) return await done;
      if (!turn.started) {
        this.finishTurn(turn, "played");
        return await done;
      }
      this.ctx.sendMark(turn.mark);
      return await done;
    } catch (err) {
      if (abort.signal.aborted) return await done;
      if (this.speaking === turn) this.finishTurn(turn, turn.started ? "interrupted" : "failed");
      if (!turn.started) throw err;
      this.ctx.log.error({ err }, "agent turn cut short by a rendering failure");
      return await done;
    } finally {
      opts.signal?.removeEventListener("abort", stopWith);
      this.aborts.delete(abort);
    }
  }

  private async render(text: string, cache: boolean, signal: AbortSignal): Promise<Buffer> {
    try {
      return await this.shared.speech.render(text, this.voice, { cache, signal });
    } catch (err) {
      if (signal.aborted || this.voice === FALLBACK_VOICE) throw err;
      this.ctx.log.warn({ err, voice: this.voice }, "espeak-ng voice failed; using the default voice");
      return this.shared.speech.render(text, FALLBACK_VOICE, { cache, signal });
    }
  }

  /** Ends a turn once: records what was said, reports the agent silent, settles its promise. */
  private finishTurn(turn: AgentTurn, outcome: SayOutcome): void {
    if (this.speaking !== turn) return;
    this.speaking = null;
    turn.abort.abort();
    if (turn.started) {
      this.ctx.record({ role: "agent", text: turn.spoken.join(" "), interrupted: outcome === "interrupted", offsetMs: turn.offsetMs });
      this.ctx.activity("agent-finished");
    }
    turn.settle(outcome);
  }

  private track(abort: AbortController): AbortController {
    this.aborts.add(abort);
    return abort;
  }
}

import type { Activity, AudioFrame, EngineContext, EngineEndReason, TurnInput, VoiceEngine } from "../engines/voice-engine.js";
import { Timers } from "../lib/timers.js";
import { LINES } from "./lines.js";
import { findPhrase } from "./phrases.js";

/** How a line the control asked for ended: heard to the end, talked over, or never spoken. */
export type SayOutcome = "played" | "interrupted" | "failed";

export interface SayOptions {
  /** The caller may talk over it (a reminder); goodbyes play to the end. */
  interruptible: boolean;
}

/** An engine the call control can make speak outside the conversation's own turns. */
export interface TalkingEngine extends VoiceEngine {
  /**
   * Says `text` now in the agent's voice, cutting short whatever the agent was saying, records it
   * as an agent turn, and resolves once it has played (its mark came back). A line that is not
   * interruptible also ends the conversation: the engine takes no further turns.
   */
  say(text: string, opts: SayOptions): Promise<SayOutcome>;
}

export interface CallControlOptions {
  /** Milliseconds a reminder or goodbye may take before the control moves on without it. */
  sayTimeoutMs: number;
}

/**
 * Call control every conversational engine gets: silence reminder and timeout, end-call phrases
 * and spoken goodbyes. It wraps the engine, watching the turns and activity the engine reports,
 * and makes it speak through `say`. Silence counts while neither side talks; the reminder does
 * not restart it, caller speech or a key press does.
 */
export class CallControl implements VoiceEngine {
  private readonly engine: TalkingEngine;
  private readonly timers = new Timers();
  private silence: NodeJS.Timeout[] = [];
  private callerTalking = false;
  private agentTalking = false;
  private reminding = false;
  private reminded = false;
  private ending = false;
  private closed = false;

  constructor(
    private readonly ctx: EngineContext,
    create: (ctx: EngineContext) => TalkingEngine,
    private readonly opts: CallControlOptions,
  ) {
    this.engine = create({
      ...ctx,
      record: (turn) => this.onTurn(turn),
      activity: (event) => this.onActivity(event),
      endCall: (reason, o) => {
        this.ending = true;
        this.stopSilence();
        ctx.endCall(reason, o);
      },
    });
  }

  async start(): Promise<void> {
    await this.engine.start();
    // No greeting, or it has not begun yet: the silence clock runs from the start of the call.
    this.armSilence();
  }

  onAudio(frame: AudioFrame): void {
    this.engine.onAudio(frame);
  }

  onDtmf(digit: string): void {
    this.callerActive();
    this.engine.onDtmf(digit);
    this.armSilence();
  }

  onMark(name: string): void {
    this.engine.onMark(name);
  }

  async sayGoodbye(reason: "max-duration" | "insufficient-balance"): Promise<boolean> {
    this.ending = true;
    this.stopSilence();
    const line = reason === "max-duration" ? LINES.maxDurationGoodbye : LINES.insufficientBalanceGoodbye;
    const outcome = await this.engine.say(line, { interruptible: false }).catch(() => "failed" as const);
    return outcome === "played";
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.timers.clearAll();
    this.silence = [];
    this.engine.close();
  }

  // ---- what the engine reports -------------------------------------------------------------

  private onTurn(turn: TurnInput): void {
    this.ctx.record(turn);
    if (turn.role !== "caller" || (turn.kind ?? "speech") !== "speech" || this.ending) return;
    const phrase = findPhrase(turn.text, this.ctx.agent.endCallPhrases);
    if (phrase) {
      this.ctx.log.info({ pii: { phrase } }, "caller said an end-call phrase");
      void this.hangUp("end-call-phrase", LINES.endCallGoodbye);
    }
  }

  private onActivity(event: Activity): void {
    switch (event) {
      case "caller-started":
        this.callerTalking = true;
        this.callerActive();
        break;
      case "caller-stopped":
        this.callerTalking = false;
        break;
      case "agent-started":
        this.agentTalking = true;
        // The reminder is part of the silence, not an answer to it.
        if (!this.reminding) this.stopSilence();
        break;
      case "agent-finished":
        this.agentTalking = false;
        break;
    }
    this.armSilence();
  }

  // ---- silence ---------------------------------------------------------------------------------

  private callerActive(): void {
    this.reminded = false;
    this.stopSilence();
  }

  private armSilence(): void {
    if (this.closed || this.ending || this.callerTalking || this.agentTalking || this.reminding || this.silence.length > 0) return;
    const { silenceReminderSeconds, silenceTimeoutSeconds } = this.ctx.agent;
    if (silenceReminderSeconds > 0 && silenceReminderSeconds < silenceTimeoutSeconds && !this.reminded) {
      this.silence.push(this.timers.after(silenceReminderSeconds * 1000, () => void this.remind()));
    }
    this.silence.push(this.timers.after(silenceTimeoutSeconds * 1000, () => void this.hangUp("silence-timeout", LINES.silenceGoodbye)));
  }

  private stopSilence(): void {
    for (const t of this.silence) this.timers.clear(t);
    this.silence = [];
  }

  private async remind(): Promise<void> {
    if (this.closed || this.ending) return;
    this.reminded = true;
    this.reminding = true;
    this.ctx.log.info("caller silent; reminding");
    try {
      await this.withTimeout(this.engine.say(LINES.silenceReminder, { interruptible: true }));
    } finally {
      this.reminding = false;
    }
  }

  // ---- ending ----------------------------------------------------------------------------------

  /** Says the goodbye line, then ends the call; a goodbye that cannot be spoken gets the tone. */
  private async hangUp(reason: EngineEndReason, line: string): Promise<void> {
    if (this.closed || this.ending) return;
    this.ending = true;
    this.stopSilence();
    this.ctx.log.info({ reason }, "agent ending the call");
    const outcome = await this.withTimeout(this.engine.say(line, { interruptible: false }));
    if (!this.closed) this.ctx.endCall(reason, { farewell: outcome === "failed" });
  }

  private withTimeout(said: Promise<SayOutcome>): Promise<SayOutcome> {
    return new Promise((resolve) => {
      const timer = this.timers.after(this.opts.sayTimeoutMs, () => resolve("played"));
      said.then(
        (outcome) => {
          this.timers.clear(timer);
          resolve(outcome);
        },
        (err: unknown) => {
          this.timers.clear(timer);
          this.ctx.log.warn({ err }, "engine could not speak");
          resolve("failed");
        },
      );
    });
  }
}

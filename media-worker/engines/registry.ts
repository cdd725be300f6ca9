import { resolveEngine } from "../../schema/models/agent-config.js";
import { CallControl } from "../conversation/call-control.js";
import { EchoEngine } from "./echo.engine.js";
import type { EngineConfig } from "./engine-config.js";
import { LocalEngine, type LocalEngineShared } from "./local/local.engine.js";
import { PocketSphinx } from "./local/recognizer.js";
import { EspeakSpeech } from "./local/speech.js";
import { VoiceTools } from "./local/voice-tools.js";
import { OpenAIRealtimeEngine } from "./openai-realtime/realtime.engine.js";
import type { EngineFactory } from "./voice-engine.js";

/**
 * Picks each call's engine: the worker's VOICE_ENGINE override, else the agent's engine (its
 * platform default: OPENAI_REALTIME with a key, LOCAL without). Conversational engines are
 * wrapped in the call control (silence, end-call phrases, spoken goodbyes); `echo`, a
 * development engine, is not.
 */
export function engineFactory(config: EngineConfig): EngineFactory {
  let local: LocalEngineShared | null = null;
  const localShared = (): LocalEngineShared =>
    (local ??= {
      config: config.local,
      llm: config.llm,
      speech: new EspeakSpeech(config.local),
      asr: new PocketSphinx(config.local),
      tools: new VoiceTools(config.local),
    });
  const control = { sayTimeoutMs: config.sayTimeoutMs };

  return (ctx) => {
    const name = config.override ?? resolveEngine(ctx.agent.engine, config.openai !== null);
    if (name === "echo") {
      ctx.reportUsage({ engine: "echo", provider: "echo" });
      return new EchoEngine(ctx);
    }
    if (name === "OPENAI_REALTIME") {
      const openai = config.openai;
      if (openai) return new CallControl(ctx, (c) => new OpenAIRealtimeEngine(c, openai, control), control);
      ctx.log.warn("the agent's engine is OPENAI_REALTIME but OPENAI_API_KEY is unset: answering with the LOCAL engine");
    }
    return new CallControl(ctx, (c) => new LocalEngine(c, localShared()), control);
  };
}

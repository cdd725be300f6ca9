import { renderTones, toFramePayloads } from "../../media-worker/audio/tone.js";
import type { EngineContext, EngineFactory, VoiceEngine } from "../../media-worker/engines/voice-engine.js";

/** What a scripted engine does; every hook is optional. The engine is real code, not a mock. */
export interface EngineScript {
  start?(ctx: EngineContext): void | Promise<void>;
  onDtmf?(ctx: EngineContext, digit: string): void;
  /** Sent the goodbye (time or money ran out); resolve true when it has played. */
  sayGoodbye?(ctx: EngineContext, marks: MarkWaiter): Promise<boolean>;
}

/** Resolves when the named mark comes back from the caller's side. */
export type MarkWaiter = (name: string) => Promise<void>;

/** Base64 mu-law frames of a tone lasting `ms`. */
export const toneFrames = (ms: number, hz = 440): string[] => toFramePayloads(renderTones([{ hz, ms }]));

/** Engines that follow a script: for tests of how the session treats what engines do. */
export function scriptedEngines(script: EngineScript): EngineFactory {
  return (ctx) => {
    const waiting = new Map<string, () => void>();
    const marks: MarkWaiter = (name) => new Promise((resolve) => waiting.set(name, resolve));
    const engine: VoiceEngine = {
      start: async () => script.start?.(ctx),
      onAudio: () => undefined,
      onDtmf: (digit) => script.onDtmf?.(ctx, digit),
      onMark: (name) => waiting.get(name)?.(),
      close: () => waiting.clear(),
      ...(script.sayGoodbye ? { sayGoodbye: () => script.sayGoodbye!(ctx, marks) } : {}),
    };
    return engine;
  };
}

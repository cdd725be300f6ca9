import { isEspeakVoice } from "../../../schema/models/agent-config.js";
import { FRAME_BYTES, MULAW_SILENCE } from "../../audio/mulaw.js";
import { runPipeline } from "../../lib/processes.js";
import type { LocalEngineConfig } from "../engine-config.js";

/** Longest text rendered in one go; longer text is an error (replies are capped well below). */
const MAX_TEXT_CHARS = 4_000;

/**
 * Text to speech with espeak-ng, resampled by sox to 8 kHz mu-law, the format Twilio plays.
 * Fixed phrases (greetings, intent replies, reminders) are cached, so most agent turns start
 * without running anything.
 */
export class EspeakSpeech {
  private readonly cache = new Map<string, Promise<Buffer>>();

  constructor(private readonly cfg: LocalEngineConfig) {}

  /**
   * Mu-law audio of `text`, padded with silence to whole 20 ms frames. `cache` keeps the result
   * for the next call with the same voice and text; uncached renders stop when `signal` aborts.
   */
  render(text: string, voice: string, opts: { cache: boolean; signal?: AbortSignal }): Promise<Buffer> {
    const clean = text.replace(/\s+/g, " ").trim().slice(0, MAX_TEXT_CHARS);
    if (!clean) return Promise.resolve(Buffer.alloc(0));
    if (!opts.cache || this.cfg.ttsCacheEntries === 0) return this.run(clean, voice, opts.signal);
    const key = `${voice}\u0000${this.cfg.wordsPerMinute}\u0000${clean}`;
    const hit = this.cache.get(key);
    if (hit) {
      this.cache.delete(key); // most recently used last
      this.cache.set(key, hit);
      return hit;
    }
    const rendering = this.run(clean, voice);
    this.cache.set(key, rendering);
    rendering.catch(() => this.cache.delete(key));
    while (this.cache.size > this.cfg.ttsCacheEntries) this.cache.delete(this.cache.keys().next().value!);
    return rendering;
  }

  get cachedPhrases(): number {
    return this.cache.size;
  }

  private async run(text: string, voice: string, signal?: AbortSignal): Promise<Buffer> {
    const audio = await runPipeline(
      [
        // Text on stdin, never as an argument: it cannot be taken for an option.
        { command: this.cfg.espeakBin, args: ["--stdout", "--stdin", "-v", voice, "-s", String(this.cfg.wordsPerMinute)] },
        {
          command: this.cfg.soxBin,
          args: ["-q", "-D", "-t", "wav", "-", "-t", "raw", "-r", "8000", "-e", "mu-law", "-b", "8", "-c", "1", "-"],
        },
      ],
      { input: text, signal },
    );
    const padded = Buffer.alloc(Math.ceil(audio.length / FRAME_BYTES) * FRAME_BYTES, MULAW_SILENCE);
    audio.copy(padded);
    return padded;
  }
}

/** The espeak-ng voice for an agent: its own when it names one, else its language (en-US → en-us). */
export function espeakVoice(agent: { voice: string; language: string }): string {
  if (isEspeakVoice(agent.voice)) return agent.voice;
  const lang = agent.language.toLowerCase().match(/^[a-z]{2,3}(-[a-z]{2})?/)?.[0];
  return lang ?? "en-us";
}

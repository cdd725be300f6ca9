import { execFileSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { FRAME_BYTES, MULAW_SILENCE } from "../../media-worker/audio/mulaw.js";
import { wavToMulaw } from "../../media-worker/audio/wav.js";

const cache = new Map<string, Buffer>();

/**
 * What a caller says, as the simulator streams it: a WAV made with espeak-ng (in another voice
 * than the agent's), resampled by sox to 8 kHz and read by the simulator's WAV reader as mu-law.
 */
export function callerSpeech(text: string, voice = "en-us+m3"): Buffer {
  const key = `${voice}|${text}`;
  const hit = cache.get(key);
  if (hit) return hit;
  const dir = mkdtempSync(path.join(tmpdir(), "caller-"));
  try {
    const raw = path.join(dir, "raw.wav");
    const wav = path.join(dir, "caller.wav");
    execFileSync("espeak-ng", ["-v", voice, "-s", "160", "-w", raw, text]);
    execFileSync("sox", [raw, "-r", "8000", "-c", "1", "-b", "16", wav]);
    const audio = wavToMulaw(readFileSync(wav));
    cache.set(key, audio);
    return audio;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** `ms` of mu-law silence. */
export function silenceMs(ms: number): Buffer {
  return Buffer.alloc(Math.round(ms / 20) * FRAME_BYTES, MULAW_SILENCE);
}

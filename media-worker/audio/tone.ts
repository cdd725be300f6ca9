import { FRAME_BYTES, MULAW_SILENCE, SAMPLE_RATE, linearToMulaw } from "./mulaw.js";

/** One part of a tone sequence: a sine at `hz` (0 = silence) for `ms` milliseconds. */
export interface ToneSegment {
  hz: number;
  ms: number;
}

/** Peak amplitude of generated tones: a quarter of full scale, comfortable on a phone. */
const AMPLITUDE = 0.25 * 32_767;

/** Renders segments to mu-law bytes, padded with silence to whole 20 ms frames. */
export function renderTones(segments: ToneSegment[]): Buffer {
  const total = segments.reduce((n, s) => n + Math.round((s.ms * SAMPLE_RATE) / 1000), 0);
  const frames = Math.ceil(total / FRAME_BYTES);
  const out = Buffer.alloc(frames * FRAME_BYTES, MULAW_SILENCE);
  let i = 0;
  for (const s of segments) {
    const n = Math.round((s.ms * SAMPLE_RATE) / 1000);
    for (let k = 0; k < n; k++, i++) {
      out[i] = s.hz > 0 ? linearToMulaw(AMPLITUDE * Math.sin((2 * Math.PI * s.hz * k) / SAMPLE_RATE)) : MULAW_SILENCE;
    }
  }
  return out;
}

/** Splits mu-law audio into base64 payloads of one 20 ms frame each (the last one padded). */
export function toFramePayloads(audio: Buffer): string[] {
  const payloads: string[] = [];
  for (let at = 0; at < audio.length; at += FRAME_BYTES) {
    const frame = Buffer.alloc(FRAME_BYTES, MULAW_SILENCE);
    audio.copy(frame, 0, at, Math.min(at + FRAME_BYTES, audio.length));
    payloads.push(frame.toString("base64"));
  }
  return payloads;
}

/** The built-in greeting: two rising beeps. */
export const GREETING_TONES: ToneSegment[] = [
  { hz: 660, ms: 180 },
  { hz: 0, ms: 60 },
  { hz: 880, ms: 180 },
  { hz: 0, ms: 80 },
];

/** A falling goodbye lasting `ms` milliseconds: three descending beeps, stretched to fit. */
export function goodbyeTones(ms: number): ToneSegment[] {
  if (ms <= 0) return [];
  const beep = Math.max(20, Math.floor((ms * 0.8) / 3));
  const gap = Math.max(0, Math.floor((ms - beep * 3) / 3));
  return [880, 660, 440].flatMap((hz) => [
    { hz, ms: beep },
    { hz: 0, ms: gap },
  ]);
}

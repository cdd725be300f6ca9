import { mulawToLinear } from "./mulaw.js";

/** Level of digital silence, dBFS (a frame of zeros would be minus infinity). */
export const SILENCE_DB = -100;

const LINEAR = Float64Array.from({ length: 256 }, (_, b) => mulawToLinear(b));

/** RMS level of mu-law audio in dB relative to full scale. */
export function mulawLevelDb(mulaw: Uint8Array): number {
  if (mulaw.length === 0) return SILENCE_DB;
  let sum = 0;
  for (let i = 0; i < mulaw.length; i++) {
    const v = LINEAR[mulaw[i]!]!;
    sum += v * v;
  }
  const rms = Math.sqrt(sum / mulaw.length);
  return rms < 1 ? SILENCE_DB : Math.max(SILENCE_DB, 20 * Math.log10(rms / 32_768));
}

import { mulawToLinear } from "./mulaw.js";

/**
 * 8 kHz mu-law to 16 kHz 16-bit little-endian PCM by inserting a zero after every sample, with
 * no smoothing filter on purpose: the spectrum of 0-4 kHz is mirrored into 4-8 kHz. PocketSphinx's
 * US English model was trained on 16 kHz speech and does poorly on audio whose upper band is
 * empty (what a proper resampler makes of telephone audio); the mirrored band gives its upper
 * filters speech-shaped energy, and grammar recognition of telephone audio becomes dependable.
 */
export function mulawTo16kPcm(mulaw: Uint8Array): Buffer {
  const out = Buffer.alloc(mulaw.length * 4);
  for (let i = 0; i < mulaw.length; i++) out.writeInt16LE(mulawToLinear(mulaw[i]!), i * 4);
  return out;
}

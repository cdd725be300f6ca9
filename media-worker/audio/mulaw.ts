/**
 * G.711 mu-law, the 8 kHz telephone encoding Twilio streams: one byte per sample. Pure functions.
 */
const BIAS = 0x84;
const CLIP = 32_635;

/** Encodes one signed 16-bit linear sample as a mu-law byte. */
export function linearToMulaw(input: number): number {
  let sample = Math.max(-32_768, Math.min(32_767, Math.round(input)));
  const sign = sample < 0 ? 0x80 : 0;
  if (sign) sample = -sample;
  if (sample > CLIP) sample = CLIP;
  sample += BIAS;
  let exponent = 7;
  for (let mask = 0x4000; (sample & mask) === 0 && exponent > 0; mask >>= 1) exponent--;
  const mantissa = (sample >> (exponent + 3)) & 0x0f;
  return ~(sign | (exponent << 4) | mantissa) & 0xff;
}

/** Decodes one mu-law byte to a signed 16-bit linear sample. */
export function mulawToLinear(byte: number): number {
  const u = ~byte & 0xff;
  const exponent = (u >> 4) & 0x07;
  const magnitude = ((((u & 0x0f) << 3) + BIAS) << exponent) - BIAS;
  return u & 0x80 ? -magnitude : magnitude;
}

export function encodeMulaw(samples: Int16Array): Buffer {
  const out = Buffer.allocUnsafe(samples.length);
  for (let i = 0; i < samples.length; i++) out[i] = linearToMulaw(samples[i]!);
  return out;
}

export function decodeMulaw(bytes: Uint8Array): Int16Array {
  const out = new Int16Array(bytes.length);
  for (let i = 0; i < bytes.length; i++) out[i] = mulawToLinear(bytes[i]!);
  return out;
}

/** Mu-law silence (linear 0). */
export const MULAW_SILENCE = 0xff;

/** Samples per second and per 20 ms frame of a Twilio stream. */
export const SAMPLE_RATE = 8_000;
export const FRAME_MS = 20;
export const FRAME_BYTES = (SAMPLE_RATE * FRAME_MS) / 1000;

/** Bytes of audio in a base64 payload, from its length alone (no decoding on the media path). */
export function base64Bytes(payload: string): number {
  const padding = payload.endsWith("==") ? 2 : payload.endsWith("=") ? 1 : 0;
  return (payload.length / 4) * 3 - padding;
}

/** Milliseconds of audio in base64 8 kHz mu-law (8 bytes a millisecond). */
export function mulawBase64Ms(payload: string): number {
  return base64Bytes(payload) / (SAMPLE_RATE / 1000);
}

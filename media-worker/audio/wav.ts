import { SAMPLE_RATE, decodeMulaw, encodeMulaw } from "./mulaw.js";

/** A WAV file's audio as stored: 16-bit PCM or 8-bit mu-law. */
export interface WavAudio {
  format: "pcm16" | "mulaw";
  sampleRate: number;
  channels: number;
  data: Buffer;
}

export class WavFormatError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "WavFormatError";
  }
}

const CONVERT_HINT = "convert it first, e.g. `ffmpeg -i in.wav -ar 8000 -ac 1 -c:a pcm_mulaw out.wav`";

/** Parses a RIFF/WAVE file (PCM 16-bit or mu-law; WAVE_FORMAT_EXTENSIBLE with those subformats). */
export function readWav(file: Buffer): WavAudio {
  if (file.length < 12 || file.toString("ascii", 0, 4) !== "RIFF" || file.toString("ascii", 8, 12) !== "WAVE") {
    throw new WavFormatError("not a RIFF/WAVE file");
  }
  let fmt: { code: number; channels: number; sampleRate: number; bits: number } | null = null;
  let data: Buffer | null = null;
  for (let at = 12; at + 8 <= file.length;) {
    const id = file.toString("ascii", at, at + 4);
    const size = file.readUInt32LE(at + 4);
    const body = file.subarray(at + 8, Math.min(file.length, at + 8 + size));
    if (id === "fmt " && body.length >= 16) {
      let code = body.readUInt16LE(0);
      if (code === 0xfffe && body.length >= 26) code = body.readUInt16LE(24);
      fmt = { code, channels: body.readUInt16LE(2), sampleRate: body.readUInt32LE(4), bits: body.readUInt16LE(14) };
    } else if (id === "data") {
      data = body;
    }
    at += 8 + size + (size % 2);
  }
  if (!fmt || !data) throw new WavFormatError("WAV file has no fmt or data chunk");
  if (fmt.channels < 1) throw new WavFormatError("WAV file declares no channels");
  if (fmt.code === 1 && fmt.bits === 16) return { format: "pcm16", sampleRate: fmt.sampleRate, channels: fmt.channels, data };
  if (fmt.code === 7 && fmt.bits === 8) return { format: "mulaw", sampleRate: fmt.sampleRate, channels: fmt.channels, data };
  throw new WavFormatError(`unsupported WAV encoding (format ${fmt.code}, ${fmt.bits} bits): ${CONVERT_HINT}`);
}

/** The first channel of an 8 kHz WAV as mu-law bytes, ready to stream. */
export function wavToMulaw(file: Buffer): Buffer {
  const wav = readWav(file);
  if (wav.sampleRate !== SAMPLE_RATE) throw new WavFormatError(`WAV is ${wav.sampleRate} Hz, need 8000 Hz: ${CONVERT_HINT}`);
  if (wav.format === "mulaw") {
    if (wav.channels === 1) return Buffer.from(wav.data);
    const out = Buffer.alloc(Math.floor(wav.data.length / wav.channels));
    for (let i = 0; i < out.length; i++) out[i] = wav.data[i * wav.channels]!;
    return out;
  }
  const frames = Math.floor(wav.data.length / (2 * wav.channels));
  const samples = new Int16Array(frames);
  for (let i = 0; i < frames; i++) samples[i] = wav.data.readInt16LE(i * 2 * wav.channels);
  return encodeMulaw(samples);
}

/** A 16-bit PCM mono WAV of mu-law audio (PCM plays everywhere; mu-law WAVs do not). */
export function mulawToWav(mulaw: Uint8Array): Buffer {
  const samples = decodeMulaw(mulaw);
  const header = Buffer.alloc(44);
  const dataBytes = samples.length * 2;
  header.write("RIFF", 0, "ascii");
  header.writeUInt32LE(36 + dataBytes, 4);
  header.write("WAVE", 8, "ascii");
  header.write("fmt ", 12, "ascii");
  header.writeUInt32LE(16, 16);
  header.writeUInt16LE(1, 20);
  header.writeUInt16LE(1, 22);
  header.writeUInt32LE(SAMPLE_RATE, 24);
  header.writeUInt32LE(SAMPLE_RATE * 2, 28);
  header.writeUInt16LE(2, 32);
  header.writeUInt16LE(16, 34);
  header.write("data", 36, "ascii");
  header.writeUInt32LE(dataBytes, 40);
  const body = Buffer.alloc(dataBytes);
  for (let i = 0; i < samples.length; i++) body.writeInt16LE(samples[i]!, i * 2);
  return Buffer.concat([header, body]);
}

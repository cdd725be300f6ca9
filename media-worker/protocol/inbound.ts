/**
 * Twilio Media Streams messages from Twilio to us, parsed into plain values. Pure functions: a
 * message that does not match the protocol yields a problem, never an exception, so one bad
 * frame cannot hurt the session or the worker.
 */

export interface MediaFormat {
  encoding: string;
  sampleRate: number;
  channels: number;
}

export type TwilioEvent =
  | { kind: "connected"; protocol: string; version: string }
  | {
      kind: "start";
      streamSid: string;
      accountSid: string;
      callSid: string;
      tracks: string[];
      customParameters: Record<string, string>;
      mediaFormat: MediaFormat;
    }
  | { kind: "media"; track: string; chunk: number; timestampMs: number; payload: string }
  | { kind: "dtmf"; digit: string }
  | { kind: "mark"; name: string }
  | { kind: "stop" };

export type ParseProblem = "not-json" | "not-an-object" | "unknown-event" | "invalid-field" | "bad-base64";

export type ParseResult = { ok: true; event: TwilioEvent } | { ok: false; problem: ParseProblem; detail: string };

/** Largest audio payload accepted in one media message, in base64 characters (about 1 s of audio). */
export const MAX_PAYLOAD_CHARS = 12_000;

const BASE64 = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/;
const SID = /^[A-Za-z0-9_-]{1,64}$/;
const DTMF = /^[0-9*#A-Da-dw]$/;
const MAX_PARAMS = 32;
const MAX_PARAM_CHARS = 1_024;
const MAX_NAME_CHARS = 256;

type Obj = Record<string, unknown>;

class Invalid extends Error {}

const isObj = (v: unknown): v is Obj => typeof v === "object" && v !== null && !Array.isArray(v);

function obj(v: unknown, field: string): Obj {
  if (!isObj(v)) throw new Invalid(`${field} must be an object`);
  return v;
}

function text(v: unknown, field: string, max = 256): string {
  if (typeof v !== "string" || v.length > max) throw new Invalid(`${field} must be a string of at most ${max} characters`);
  return v;
}

function sid(v: unknown, field: string): string {
  const s = text(v, field, 64);
  if (!SID.test(s)) throw new Invalid(`${field} is not a valid id`);
  return s;
}

/** Twilio sends counters as decimal strings ("12"); numbers are accepted too. */
function counter(v: unknown, field: string): number {
  const n = typeof v === "string" && /^\d{1,15}$/.test(v) ? Number(v) : v;
  if (typeof n !== "number" || !Number.isSafeInteger(n) || n < 0) throw new Invalid(`${field} must be a non-negative integer`);
  return n;
}

function params(v: unknown): Record<string, string> {
  if (v === undefined) return {};
  const source = obj(v, "start.customParameters");
  const entries = Object.entries(source);
  if (entries.length > MAX_PARAMS) throw new Invalid("start.customParameters has too many entries");
  const out: Record<string, string> = Object.create(null) as Record<string, string>;
  for (const [k, value] of entries) out[text(k, "parameter name", 64)] = text(value, `parameter ${k}`, MAX_PARAM_CHARS);
  return out;
}

function parseStart(m: Obj): TwilioEvent {
  const start = obj(m.start, "start");
  const format = obj(start.mediaFormat, "start.mediaFormat");
  const tracks = start.tracks ?? ["inbound"];
  if (!Array.isArray(tracks) || tracks.length > 4) throw new Invalid("start.tracks must be a short array");
  return {
    kind: "start",
    streamSid: sid(start.streamSid ?? m.streamSid, "start.streamSid"),
    accountSid: sid(start.accountSid, "start.accountSid"),
    callSid: sid(start.callSid, "start.callSid"),
    tracks: tracks.map((t, i) => text(t, `start.tracks[${i}]`, 32)),
    customParameters: params(start.customParameters),
    mediaFormat: {
      encoding: text(format.encoding, "start.mediaFormat.encoding", 64),
      sampleRate: counter(format.sampleRate, "start.mediaFormat.sampleRate"),
      channels: counter(format.channels, "start.mediaFormat.channels"),
    },
  };
}

function parseMedia(m: Obj): ParseResult {
  const media = obj(m.media, "media");
  const payload = media.payload;
  if (typeof payload !== "string" || payload.length === 0 || payload.length > MAX_PAYLOAD_CHARS) {
    throw new Invalid(`media.payload must be a non-empty string of at most ${MAX_PAYLOAD_CHARS} characters`);
  }
  if (payload.length % 4 !== 0 || !BASE64.test(payload)) {
    return { ok: false, problem: "bad-base64", detail: "media.payload is not valid base64" };
  }
  return {
    ok: true,
    event: {
      kind: "media",
      track: media.track === undefined ? "inbound" : text(media.track, "media.track", 32),
      chunk: media.chunk === undefined ? 0 : counter(media.chunk, "media.chunk"),
      timestampMs: media.timestamp === undefined ? 0 : counter(media.timestamp, "media.timestamp"),
      payload,
    },
  };
}

function parseObject(m: Obj): ParseResult {
  switch (m.event) {
    case "media":
      return parseMedia(m);
    case "connected":
      return {
        ok: true,
        event: { kind: "connected", protocol: text(m.protocol ?? "", "protocol", 32), version: text(m.version ?? "", "version", 32) },
      };
    case "start":
      return { ok: true, event: parseStart(m) };
    case "dtmf": {
      const digit = text(obj(m.dtmf, "dtmf").digit, "dtmf.digit", 1);
      if (!DTMF.test(digit)) throw new Invalid("dtmf.digit is not a DTMF digit");
      return { ok: true, event: { kind: "dtmf", digit } };
    }
    case "mark":
      return { ok: true, event: { kind: "mark", name: text(obj(m.mark, "mark").name, "mark.name", MAX_NAME_CHARS) } };
    case "stop":
      return { ok: true, event: { kind: "stop" } };
    default:
      return { ok: false, problem: "unknown-event", detail: `unknown event ${JSON.stringify(String(m.event)).slice(0, 40)}` };
  }
}

/** Parses one text frame from Twilio. */
export function parseTwilioMessage(raw: string): ParseResult {
  let value: unknown;
  try {
    value = JSON.parse(raw);
  } catch {
    return { ok: false, problem: "not-json", detail: "message is not JSON" };
  }
  if (!isObj(value)) return { ok: false, problem: "not-an-object", detail: "message is not a JSON object" };
  try {
    return parseObject(value);
  } catch (err) {
    if (err instanceof Invalid) return { ok: false, problem: "invalid-field", detail: err.message };
    throw err;
  }
}

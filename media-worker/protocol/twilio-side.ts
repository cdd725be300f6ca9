/**
 * Twilio's side of a Media Stream: the messages Twilio sends, and the parsing of what a server
 * sends back. Used by the call simulator, the tests and the benchmark to play Twilio.
 */

export interface StartFields {
  streamSid: string;
  accountSid: string;
  callSid: string;
  customParameters: Record<string, string>;
}

export function connectedMessage(): string {
  return JSON.stringify({ event: "connected", protocol: "Call", version: "1.0.0" });
}

export function startMessage(seq: number, f: StartFields): string {
  return JSON.stringify({
    event: "start",
    sequenceNumber: String(seq),
    start: {
      accountSid: f.accountSid,
      streamSid: f.streamSid,
      callSid: f.callSid,
      tracks: ["inbound"],
      mediaFormat: { encoding: "audio/x-mulaw", sampleRate: 8000, channels: 1 },
      customParameters: f.customParameters,
    },
    streamSid: f.streamSid,
  });
}

/** A media message; chunk counts from 1, timestamp is milliseconds since the stream started. */
export function inboundMediaMessage(seq: number, streamSid: string, chunk: number, timestampMs: number, payload: string): string {
  return `{"event":"media","sequenceNumber":"${seq}","media":{"track":"inbound","chunk":"${chunk}","timestamp":"${timestampMs}","payload":"${payload}"},"streamSid":${JSON.stringify(streamSid)}}`;
}

export function dtmfMessage(seq: number, streamSid: string, digit: string): string {
  return JSON.stringify({ event: "dtmf", streamSid, sequenceNumber: String(seq), dtmf: { track: "inbound_track", digit } });
}

export function markReturnMessage(seq: number, streamSid: string, name: string): string {
  return JSON.stringify({ event: "mark", sequenceNumber: String(seq), streamSid, mark: { name } });
}

export function stopMessage(seq: number, streamSid: string, accountSid: string, callSid: string): string {
  return JSON.stringify({ event: "stop", sequenceNumber: String(seq), streamSid, stop: { accountSid, callSid } });
}

export type ServerMessage =
  { kind: "media"; payload: string } | { kind: "mark"; name: string } | { kind: "clear" } | { kind: "invalid"; raw: string };

/** Parses what the server sent, as Twilio would: only media, mark and clear are meaningful. */
export function parseServerMessage(raw: string): ServerMessage {
  let m: unknown;
  try {
    m = JSON.parse(raw);
  } catch {
    return { kind: "invalid", raw };
  }
  if (typeof m !== "object" || m === null) return { kind: "invalid", raw };
  const msg = m as { event?: unknown; media?: { payload?: unknown }; mark?: { name?: unknown } };
  if (msg.event === "media" && typeof msg.media?.payload === "string") return { kind: "media", payload: msg.media.payload };
  if (msg.event === "mark" && typeof msg.mark?.name === "string") return { kind: "mark", name: msg.mark.name };
  if (msg.event === "clear") return { kind: "clear" };
  return { kind: "invalid", raw };
}

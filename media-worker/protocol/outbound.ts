/**
 * Messages from us to Twilio on a bidirectional stream. Hand-built strings: media messages go out
 * 50 times a second per call, and the payload is already-validated base64 that needs no escaping.
 */

/** The part of every outgoing media message that depends only on the stream. */
export function mediaPrefix(streamSid: string): string {
  return `{"event":"media","streamSid":${JSON.stringify(streamSid)},"media":{"payload":"`;
}

/** An outgoing media message; `payload` must be base64 (8 kHz mono mu-law). */
export function mediaMessage(prefix: string, payload: string): string {
  return `${prefix}${payload}"}}`;
}

/** Asks Twilio to report back (a `mark` event) when playback reaches this point. */
export function markMessage(streamSid: string, name: string): string {
  return JSON.stringify({ event: "mark", streamSid, mark: { name } });
}

/** Drops all audio buffered at Twilio (barge-in); outstanding marks come back. */
export function clearMessage(streamSid: string): string {
  return JSON.stringify({ event: "clear", streamSid });
}

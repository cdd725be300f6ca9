/**
 * What the caller has heard of the agent's audio, on Twilio's stream clock (the `timestamp` of
 * the caller's media frames: milliseconds since the stream started). Pure arithmetic.
 */

/** Milliseconds of audio in base64 8 kHz mu-law (8 bytes a millisecond). */
export function mulawBase64Ms(payload: string): number {
  const padding = payload.endsWith("==") ? 2 : payload.endsWith("=") ? 1 : 0;
  return ((payload.length / 4) * 3 - padding) / 8;
}

/**
 * When a response's audio begins to play: now, or when the audio queued before it ends (Twilio
 * plays queued responses back to back).
 */
export function playbackStartMs(nowMs: number, queuedUntilMs: number): number {
  return Math.max(nowMs, queuedUntilMs);
}

/**
 * `audio_end_ms` for conversation.item.truncate on barge-in: the stream time elapsed since the
 * response began to play, never less than 0 and never more than the audio that was sent.
 */
export function playedMs(nowMs: number, startedMs: number, sentMs: number): number {
  return Math.round(Math.min(Math.max(0, nowMs - startedMs), sentMs));
}

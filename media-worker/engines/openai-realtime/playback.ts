/**
 * What the caller has heard of the agent's audio, on Twilio's stream clock (the `timestamp` of
 * the caller's media frames: milliseconds since the stream started). Pure arithmetic.
 */

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

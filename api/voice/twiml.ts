import twilio from "twilio";

export interface StreamTwimlInput {
  /** ws(s) base URL of the media worker, no trailing slash. */
  mediaPublicUrl: string;
  callId: string;
  agentId: string;
  externalCallId: string | null;
  token: string;
}

/**
 * <Connect><Stream> to the media worker. The URL carries no query string (Twilio drops it);
 * everything else travels as <Parameter>s and arrives in the stream's `start.customParameters`.
 */
export function streamTwiml(input: StreamTwimlInput): string {
  const response = new twilio.twiml.VoiceResponse();
  const stream = response.connect().stream({ url: `${input.mediaPublicUrl}/${encodeURIComponent(input.callId)}` });
  stream.parameter({ name: "callId", value: input.callId });
  stream.parameter({ name: "agentId", value: input.agentId });
  if (input.externalCallId) stream.parameter({ name: "externalCallId", value: input.externalCallId });
  stream.parameter({ name: "token", value: input.token });
  return response.toString();
}

/** What a number's fallback URL answers when the main webhook failed: a short apology. */
export function fallbackTwiml(): string {
  const response = new twilio.twiml.VoiceResponse();
  response.say("Sorry, we cannot take your call right now. Please try again in a few minutes.");
  response.hangup();
  return response.toString();
}

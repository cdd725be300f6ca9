import type { IncomingNumber, NumberFields } from "./twilio-numbers.client.js";

/** Where Twilio sends a number's calls: our routes (api/voice/*.route.ts) under PUBLIC_BASE_URL. */
export interface NumberWebhooks {
  voiceUrl: string;
  voiceFallbackUrl: string;
  statusCallback: string;
}

export function numberWebhooks(publicBaseUrl: string): NumberWebhooks {
  return {
    voiceUrl: `${publicBaseUrl}/inbound_call`,
    voiceFallbackUrl: `${publicBaseUrl}/fallback`,
    statusCallback: `${publicBaseUrl}/call_status`,
  };
}

/**
 * The IncomingPhoneNumber fields that point a number at us, all POST. A voice application on
 * the number would make Twilio ignore its voice URLs, so one that is set is removed.
 */
export function pointAtUs(ours: NumberWebhooks, current?: IncomingNumber): NumberFields {
  const fields: NumberFields = {
    VoiceUrl: ours.voiceUrl,
    VoiceMethod: "POST",
    VoiceFallbackUrl: ours.voiceFallbackUrl,
    VoiceFallbackMethod: "POST",
    StatusCallback: ours.statusCallback,
    StatusCallbackMethod: "POST",
  };
  if (current?.voiceApplicationSid) fields.VoiceApplicationSid = "";
  return fields;
}

/**
 * The fields that take our URLs off a released number: only those still ours, so a URL someone
 * has since set in the Twilio console stays. Empty when nothing of ours is left.
 */
export function clearOurs(ours: NumberWebhooks, current: IncomingNumber): NumberFields {
  const fields: NumberFields = {};
  if (current.voiceUrl === ours.voiceUrl) fields.VoiceUrl = "";
  if (current.voiceFallbackUrl === ours.voiceFallbackUrl) fields.VoiceFallbackUrl = "";
  if (current.statusCallback === ours.statusCallback) fields.StatusCallback = "";
  return fields;
}

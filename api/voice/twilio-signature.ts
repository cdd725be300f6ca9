import twilio from "twilio";
import type { FormFields } from "../lib/form-body.js";

/**
 * Checks X-Twilio-Signature over the public URL (configured base + path + query), so it holds
 * behind proxies and tunnels where the Host header differs from what Twilio called.
 */
export function isValidTwilioSignature(opts: {
  authToken: string;
  signature: string;
  publicBaseUrl: string;
  originalUrl: string;
  params: FormFields;
}): boolean {
  const url = opts.publicBaseUrl + opts.originalUrl;
  return twilio.validateRequest(opts.authToken, opts.signature, url, opts.params);
}

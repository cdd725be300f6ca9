import { XMLParser } from "fast-xml-parser";
import twilio from "twilio";
import { TEST_AUTH_TOKEN, type TestApp } from "./app.js";
import { callIdForSid, CallModel } from "../../schema/models/call.model.js";
import { uniqueCallSid } from "./fixtures.js";
import { waitFor } from "./media.js";

export interface PostOptions {
  /** Sign with this token instead of the test one; null sends no signature. */
  token?: string | null;
  /** The URL Twilio "called", for the signature; default the app's public base URL + path. */
  signedUrl?: string;
  headers?: Record<string, string>;
}

/** The fields Twilio posts for a new inbound call to `to`, with a fresh CallSid. */
export function inboundCallFields(
  to: string,
  extra: Record<string, string> = {},
): Record<string, string> & { CallSid: string; To: string } {
  return {
    CallSid: uniqueCallSid(),
    AccountSid: "AC" + "0".repeat(32),
    From: "+14155550100",
    To: to,
    CallStatus: "ringing",
    Direction: "inbound",
    ApiVersion: "2010-04-01",
    ...extra,
  };
}

/** POSTs a form the way Twilio does, signed over the public URL. */
export async function postForm(t: TestApp, path: string, fields: Record<string, string>, opts: PostOptions = {}) {
  const headers: Record<string, string> = { "content-type": "application/x-www-form-urlencoded", ...opts.headers };
  const token = opts.token === undefined ? TEST_AUTH_TOKEN : opts.token;
  if (token !== null) {
    const signedUrl = opts.signedUrl ?? t.config.publicBaseUrl + path;
    headers["x-twilio-signature"] = twilio.getExpectedTwilioSignature(token, signedUrl, fields);
  }
  const res = await fetch(t.url + path, { method: "POST", headers, body: new URLSearchParams(fields).toString() });
  const text = await res.text();
  return { status: res.status, contentType: res.headers.get("content-type") ?? "", text };
}

export interface ParsedStream {
  url: string;
  params: Record<string, string>;
}

/** Parses TwiML as XML and returns the <Connect><Stream> and its <Parameter>s. */
export function parseStreamTwiml(xml: string): ParsedStream {
  const parser = new XMLParser({ ignoreAttributes: false, attributeNamePrefix: "@", isArray: (n) => n === "Parameter" });
  const doc = parser.parse(xml) as {
    Response?: { Connect?: { Stream?: { "@url": string; Parameter?: { "@name": string; "@value": string }[] } } };
  };
  const stream = doc.Response?.Connect?.Stream;
  if (!stream) throw new Error(`no <Response><Connect><Stream> in ${xml}`);
  const params: Record<string, string> = {};
  for (const p of stream.Parameter ?? []) params[p["@name"]] = p["@value"];
  return { url: stream["@url"], params };
}

/**
 * The call admitted for `callSid`, once its document is written: /inbound_call answers first and
 * writes the document just after (or, while the database is away, as soon as it is back).
 */
export function storedCall(callSid: string, timeoutMs = 10_000) {
  return waitFor(`the call of ${callSid} to be written`, () => CallModel.findById(callIdForSid(callSid)).lean(), timeoutMs);
}

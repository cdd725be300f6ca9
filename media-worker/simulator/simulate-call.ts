import { randomBytes } from "node:crypto";
import { performance } from "node:perf_hooks";
import twilio from "twilio";
import { FRAME_BYTES, FRAME_MS } from "../audio/mulaw.js";
import { renderTones, toFramePayloads } from "../audio/tone.js";
import { TwilioStreamClient, type CloseInfo } from "./stream-client.js";
import { parseStreamTwiml, type StreamTwiml } from "./twiml.js";

/** How the web process is reached and how requests to it are authenticated. */
export interface WebTarget {
  /** Where to send the webhooks, e.g. http://localhost:3000. */
  webUrl: string;
  /** The public base URL the web process verifies signatures against (PUBLIC_BASE_URL); default webUrl. */
  publicBaseUrl?: string;
  /** Twilio auth token: signs the webhooks and the stream upgrade, as Twilio does. */
  authToken?: string | null;
  /** Alternatively an API key sent as Bearer (webhooks only). */
  apiKey?: string;
}

export interface CallIdentity {
  /** The dialled number (Twilio's To). */
  to: string;
  from?: string;
  forwardedFrom?: string;
  /** Explicit agent, sent as ?agent_id=. */
  agentId?: string;
  externalCallId?: string;
  callSid?: string;
  accountSid?: string;
}

export class SimulatorError extends Error {
  constructor(
    message: string,
    readonly status: number,
    readonly code: string | null,
  ) {
    super(message);
    this.name = "SimulatorError";
  }
}

export const randomSid = (prefix: string): string => `${prefix}${randomBytes(16).toString("hex")}`;

async function postWebhook(target: WebTarget, path: string, fields: Record<string, string>) {
  const headers: Record<string, string> = { "content-type": "application/x-www-form-urlencoded" };
  if (target.apiKey) headers.authorization = `Bearer ${target.apiKey}`;
  else if (target.authToken) {
    const signedUrl = (target.publicBaseUrl ?? target.webUrl).replace(/\/+$/, "") + path;
    headers["x-twilio-signature"] = twilio.getExpectedTwilioSignature(target.authToken, signedUrl, fields);
  }
  const res = await fetch(target.webUrl.replace(/\/+$/, "") + path, {
    method: "POST",
    headers,
    body: new URLSearchParams(fields).toString(),
  });
  return { status: res.status, text: await res.text() };
}

function errorCode(text: string): string | null {
  try {
    const code = (JSON.parse(text) as { code?: unknown }).code;
    return typeof code === "string" ? code : null;
  } catch {
    return null;
  }
}

export interface AdmittedCall {
  callSid: string;
  accountSid: string;
  callId: string;
  twiml: StreamTwiml;
  /** Date.now() when the TwiML came back: Twilio counts the call's duration from here. */
  answeredAt: number;
}

/** POSTs /inbound_call with realistic Twilio fields; throws SimulatorError when refused. */
export async function admitCall(target: WebTarget, who: CallIdentity): Promise<AdmittedCall> {
  const callSid = who.callSid ?? randomSid("CA");
  const accountSid = who.accountSid ?? randomSid("AC");
  const fields: Record<string, string> = {
    AccountSid: accountSid,
    ApiVersion: "2010-04-01",
    CallSid: callSid,
    CallStatus: "ringing",
    Called: who.to,
    Caller: who.from ?? "+14155550100",
    Direction: "inbound",
    From: who.from ?? "+14155550100",
    FromCountry: "US",
    To: who.to,
    ToCountry: "US",
  };
  if (who.forwardedFrom) fields.ForwardedFrom = who.forwardedFrom;
  if (who.externalCallId) fields.external_call_id = who.externalCallId;
  const path = who.agentId ? `/inbound_call?agent_id=${encodeURIComponent(who.agentId)}` : "/inbound_call";
  const res = await postWebhook(target, path, fields);
  if (res.status !== 200)
    throw new SimulatorError(`/inbound_call answered ${res.status}: ${res.text.slice(0, 300)}`, res.status, errorCode(res.text));
  const twiml = parseStreamTwiml(res.text);
  const callId = twiml.params.callId;
  if (!callId) throw new SimulatorError("TwiML has no callId parameter", res.status, null);
  return { callSid, accountSid, callId, twiml, answeredAt: Date.now() };
}

/** POSTs /call_status the way Twilio reports a finished call. */
export async function postCallStatus(
  target: WebTarget,
  call: Pick<AdmittedCall, "callSid" | "accountSid">,
  status: string,
  durationSeconds?: number,
) {
  const fields: Record<string, string> = {
    AccountSid: call.accountSid,
    ApiVersion: "2010-04-01",
    CallSid: call.callSid,
    CallStatus: status,
    CallbackSource: "call-progress-events",
    Direction: "inbound",
    SequenceNumber: "0",
    Timestamp: new Date().toUTCString(),
  };
  if (durationSeconds !== undefined) fields.CallDuration = String(durationSeconds);
  const res = await postWebhook(target, "/call_status", fields);
  let body: unknown = res.text;
  try {
    body = JSON.parse(res.text);
  } catch {
    // keep the text
  }
  return { status: res.status, body };
}

/** Replaces the origin of a stream URL (e.g. a public wss:// URL) with a reachable one, keeping the path. */
export function reachableStreamUrl(streamUrl: string, mediaUrl?: string): string {
  if (!mediaUrl) return streamUrl;
  const u = new URL(streamUrl);
  return mediaUrl.replace(/\/+$/, "") + u.pathname;
}

/** Opens the stream for an admitted call and sends `connected` and `start`. */
export async function openStream(
  target: WebTarget,
  call: AdmittedCall,
  opts: { mediaUrl?: string; keepAudio?: boolean; onMedia?: (payload: string, at: number) => void } = {},
): Promise<TwilioStreamClient> {
  const client = await TwilioStreamClient.connect({
    url: reachableStreamUrl(call.twiml.url, opts.mediaUrl),
    signedUrl: call.twiml.url,
    authToken: target.authToken,
    callSid: call.callSid,
    accountSid: call.accountSid,
    customParameters: call.twiml.params,
    keepAudio: opts.keepAudio,
    onMedia: opts.onMedia,
  });
  client.sendConnected();
  client.sendStart();
  return client;
}

export interface SimulateCallOptions extends WebTarget, CallIdentity {
  /** ws(s) origin to connect to instead of the TwiML's (e.g. ws://127.0.0.1:3001). */
  mediaUrl?: string;
  /** Caller audio, 8 kHz mu-law; repeated to fill durationMs. Default: a 440 Hz tone. */
  audio?: Buffer;
  /** How long the caller talks, milliseconds (default 3,000). */
  durationMs?: number;
  /** Pace frames in real time, 20 ms apart (default true); false sends them as fast as possible. */
  realtime?: boolean;
  /** How the caller side ends: `stop` then close (a hang-up, default), `close` without stop, or `none` (wait for the server). */
  hangup?: "stop" | "close" | "none";
  /** After the stream ends, report `completed` to /call_status like Twilio (default true). */
  statusCallback?: boolean;
  /** Runs after `start` is sent, before audio: tests use it to misbehave or inspect the live call. */
  onStarted?: (client: TwilioStreamClient, call: AdmittedCall) => void | Promise<void>;
}

export interface SimulatedCall extends AdmittedCall {
  /** Caller audio frames sent (base64 payloads). */
  sent: string[];
  client: TwilioStreamClient;
  close: CloseInfo;
  /** True when the server ended the stream before the caller hung up. */
  endedByServer: boolean;
  endedAt: number;
  statusCallback: { status: number; body: unknown } | null;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, Math.max(0, ms)));

/**
 * Plays Twilio for one inbound call against a running system: admits it through /inbound_call,
 * streams caller audio in 20 ms mu-law frames, hangs up with `stop`, and reports the final status
 * through /call_status. Everything the agent sent back is in `client.received`.
 */
export async function simulateCall(opts: SimulateCallOptions): Promise<SimulatedCall> {
  const call = await admitCall(opts, opts);
  const client = await openStream(opts, call, { mediaUrl: opts.mediaUrl });
  await opts.onStarted?.(client, call);

  const durationMs = opts.durationMs ?? 3_000;
  const frames = Math.ceil(durationMs / FRAME_MS);
  const audio = opts.audio && opts.audio.length > 0 ? opts.audio : renderTones([{ hz: 440, ms: FRAME_MS * 50 }]);
  const payloads = toFramePayloads(audio);
  const sent: string[] = [];
  const t0 = performance.now();
  let serverClosed = false;
  void client.closed.then(() => (serverClosed = true));
  for (let i = 0; i < frames && !serverClosed; i++) {
    const payload = payloads[i % payloads.length]!;
    client.sendMedia(payload, i * FRAME_MS);
    sent.push(payload);
    if (opts.realtime !== false) await sleep(t0 + (i + 1) * FRAME_MS - performance.now());
    else if (i % 50 === 49) await sleep(0);
  }
  const hangup = opts.hangup ?? "stop";
  const endedByServer = serverClosed || hangup === "none";
  if (!serverClosed && hangup === "stop") client.sendStop();
  if (!serverClosed && hangup === "close") client.close();
  // Twilio closes its side after `stop`; give the worker a moment to close first.
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<null>((resolve) => (timer = setTimeout(() => resolve(null), hangup === "none" ? 600_000 : 3_000)));
  const close = await Promise.race([client.closed, timeout]);
  clearTimeout(timer);
  if (!close) client.close();
  const closeInfo = close ?? (await client.closed);
  const endedAt = Date.now();

  let statusCallback: SimulatedCall["statusCallback"] = null;
  if (opts.statusCallback !== false) {
    statusCallback = await postCallStatus(opts, call, "completed", Math.ceil((endedAt - call.answeredAt) / 1000));
  }
  return { ...call, sent, client, close: closeInfo, endedByServer, endedAt, statusCallback };
}

export { FRAME_BYTES, FRAME_MS };

import { VerificationCallFailedError } from "./forwarding-number.errors.js";
import { TWILIO_CALL_SID } from "../../schema/infra/twilio-ids.js";

export interface VerificationCallClientOptions {
  /** e.g. https://api.twilio.com (TWILIO_API_BASE_URL), no trailing slash. */
  baseUrl: string;
  accountSid: string | undefined;
  authToken: string | undefined;
  /** Milliseconds the request may take. */
  timeoutMs?: number;
}

export interface OutboundCall {
  /** E.164 number to ring. */
  to: string;
  /** Caller ID: one of the platform's Twilio numbers. */
  from: string;
  /** Inline TwiML the call runs once answered. */
  twiml: string;
  /** Seconds to let it ring before giving up. */
  ringSeconds: number;
  /** Longest the call may last once answered, seconds (caps what a verification call costs). */
  timeLimitSeconds: number;
}

/** The Call resource Twilio answers with (the fields used here). */
export interface CreatedCall {
  sid: string;
  status: string;
}

/**
 * Places outbound calls through Twilio's REST API: POST /2010-04-01/Accounts/{AccountSid}/Calls.json.
 * Never retried: a request that timed out may still have placed the call, and a second attempt
 * would ring the phone twice with two codes.
 */
export class VerificationCallClient {
  private readonly timeoutMs: number;

  constructor(private readonly opts: VerificationCallClientOptions) {
    this.timeoutMs = opts.timeoutMs ?? 10_000;
  }

  /** The variables still missing for calls to be placed; empty when configured. */
  missingSettings(): string[] {
    return [...(this.opts.accountSid ? [] : ["TWILIO_ACCOUNT_SID"]), ...(this.opts.authToken ? [] : ["TWILIO_AUTH_TOKEN"])];
  }

  async create(call: OutboundCall): Promise<CreatedCall> {
    const { accountSid, authToken } = this.opts;
    if (!accountSid || !authToken) throw new Error("VerificationCallClient.create: not configured");
    const url = `${this.opts.baseUrl}/2010-04-01/Accounts/${encodeURIComponent(accountSid)}/Calls.json`;
    const form = new URLSearchParams({
      To: call.to,
      From: call.from,
      Twiml: call.twiml,
      Timeout: String(call.ringSeconds),
      TimeLimit: String(call.timeLimitSeconds),
    });
    let res: Response;
    try {
      res = await fetch(url, {
        method: "POST",
        headers: {
          authorization: `Basic ${Buffer.from(`${accountSid}:${authToken}`).toString("base64")}`,
          "content-type": "application/x-www-form-urlencoded",
          accept: "application/json",
        },
        body: form.toString(),
        signal: AbortSignal.timeout(this.timeoutMs),
      });
    } catch (cause) {
      throw new VerificationCallFailedError("Twilio's REST API did not answer; no verification call was confirmed", {
        twilioCode: null,
        retryable: true,
        cause,
      });
    }
    const body = (await res.json().catch(() => null)) as { sid?: unknown; status?: unknown; code?: unknown; message?: unknown } | null;
    if (res.ok && typeof body?.sid === "string" && TWILIO_CALL_SID.test(body.sid)) {
      return { sid: body.sid, status: typeof body.status === "string" ? body.status : "queued" };
    }
    // Twilio's messages name the problem ("Invalid 'To' Phone Number"); they carry no secrets.
    const message = typeof body?.message === "string" ? body.message.slice(0, 200) : `HTTP ${res.status}`;
    throw new VerificationCallFailedError(`Twilio refused the verification call: ${message}`, {
      twilioCode: typeof body?.code === "number" ? body.code : null,
      retryable: res.status === 429 || res.status >= 500,
    });
  }
}

import { TwilioApiError } from "../../schema/infra/twilio-api-error.js";

// Shared with the web process's phone-number client; re-exported for the worker's callers.
export { TwilioApiError };

export interface TwilioRestOptions {
  /** e.g. https://api.twilio.com, no trailing slash. */
  baseUrl: string;
  /** Basic-auth user; when absent the call's own AccountSid is used. */
  accountSid: string | undefined;
  authToken: string | undefined;
  /** Milliseconds per attempt. */
  timeoutMs?: number;
  /** Attempts for timeouts, 429 and 5xx. */
  attempts?: number;
}

/** "completed": Twilio ended the call; "already-ended": 404 with code 20404; "not-configured": no credentials. */
export type HangUpResult = "completed" | "already-ended" | "not-configured";

/** Error code Twilio returns when the call resource no longer accepts updates (the call is over). */
const ALREADY_ENDED = 20404;

/** A call as Twilio's Call resource reports it. */
export interface TwilioCallState {
  /** queued, ringing, in-progress, canceled, completed, failed, busy, no-answer. */
  status: string;
  /** Whole seconds of the call, once Twilio reports it (on completed calls); null before. */
  durationSeconds: number | null;
}

/** The Twilio REST calls the worker makes: ending a call, and reading one back. */
export class TwilioRestClient {
  private readonly timeoutMs: number;
  private readonly attempts: number;

  constructor(private readonly opts: TwilioRestOptions) {
    this.timeoutMs = opts.timeoutMs ?? 5_000;
    this.attempts = opts.attempts ?? 3;
  }

  /** POST /2010-04-01/Accounts/{AccountSid}/Calls/{CallSid}.json with Status=completed. */
  async hangUp(accountSid: string, callSid: string): Promise<HangUpResult> {
    if (!this.opts.authToken) return "not-configured";
    return this.withRetries(() => this.post(this.callUrl(accountSid, callSid), this.authorization(accountSid)));
  }

  /**
   * GET /2010-04-01/Accounts/{AccountSid}/Calls/{CallSid}.json. Null when Twilio does not know
   * the call (404) or no credentials are configured.
   */
  async fetchCall(accountSid: string, callSid: string): Promise<TwilioCallState | null> {
    if (!this.opts.authToken) return null;
    return this.withRetries(() => this.get(this.callUrl(accountSid, callSid), this.authorization(accountSid)));
  }

  private callUrl(accountSid: string, callSid: string): string {
    return `${this.opts.baseUrl}/2010-04-01/Accounts/${encodeURIComponent(accountSid)}/Calls/${encodeURIComponent(callSid)}.json`;
  }

  private authorization(accountSid: string): string {
    const user = this.opts.accountSid ?? accountSid;
    return `Basic ${Buffer.from(`${user}:${this.opts.authToken}`).toString("base64")}`;
  }

  private async withRetries<T>(request: () => Promise<T>): Promise<T> {
    for (let attempt = 1; ; attempt++) {
      try {
        return await request();
      } catch (err) {
        const retryable = err instanceof TwilioApiError && err.retryable;
        if (!retryable || attempt >= this.attempts) throw err;
        await new Promise((r) => setTimeout(r, 200 * 2 ** (attempt - 1)));
      }
    }
  }

  private async get(url: string, authorization: string): Promise<TwilioCallState | null> {
    let res: Response;
    try {
      res = await fetch(url, { headers: { authorization, accept: "application/json" }, signal: AbortSignal.timeout(this.timeoutMs) });
    } catch (cause) {
      throw new TwilioApiError("Twilio REST API unreachable", { httpStatus: null, twilioCode: null, retryable: true, cause });
    }
    const body = (await res.json().catch(() => null)) as { code?: unknown; message?: unknown; status?: unknown; duration?: unknown } | null;
    if (res.status === 404) return null;
    if (!res.ok || !body || typeof body.status !== "string") {
      const message = typeof body?.message === "string" ? body.message.slice(0, 200) : `HTTP ${res.status}`;
      throw new TwilioApiError(`Twilio refused the call fetch: ${message}`, {
        httpStatus: res.status,
        twilioCode: typeof body?.code === "number" ? body.code : null,
        retryable: res.status === 429 || res.status >= 500,
      });
    }
    // Twilio sends the duration as a string of whole seconds, null until the call has ended.
    const seconds = body.duration === null || body.duration === undefined ? NaN : Number(body.duration);
    return { status: body.status, durationSeconds: Number.isSafeInteger(seconds) && seconds >= 0 ? seconds : null };
  }

  private async post(url: string, authorization: string): Promise<HangUpResult> {
    let res: Response;
    try {
      res = await fetch(url, {
        method: "POST",
        headers: { authorization, "content-type": "application/x-www-form-urlencoded", accept: "application/json" },
        body: new URLSearchParams({ Status: "completed" }).toString(),
        signal: AbortSignal.timeout(this.timeoutMs),
      });
    } catch (cause) {
      throw new TwilioApiError("Twilio REST API unreachable", { httpStatus: null, twilioCode: null, retryable: true, cause });
    }
    const body = (await res.json().catch(() => null)) as { code?: unknown; message?: unknown } | null;
    if (res.ok) return "completed";
    const twilioCode = typeof body?.code === "number" ? body.code : null;
    if (res.status === 404 && twilioCode === ALREADY_ENDED) return "already-ended";
    const message = typeof body?.message === "string" ? body.message.slice(0, 200) : `HTTP ${res.status}`;
    throw new TwilioApiError(`Twilio refused the hang-up: ${message}`, {
      httpStatus: res.status,
      twilioCode,
      retryable: res.status === 429 || res.status >= 500,
    });
  }
}

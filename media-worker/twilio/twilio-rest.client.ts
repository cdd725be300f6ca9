import { AppError } from "../../schema/lib/errors.js";

export class TwilioApiError extends AppError {
  readonly httpStatus: number | null;
  readonly twilioCode: number | null;

  constructor(message: string, opts: { httpStatus: number | null; twilioCode: number | null; retryable: boolean; cause?: unknown }) {
    super("TWILIO_API_ERROR", message, { status: 502, retryable: opts.retryable, cause: opts.cause });
    this.httpStatus = opts.httpStatus;
    this.twilioCode = opts.twilioCode;
  }
}

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

/** The one Twilio REST call the worker makes: ending a call. */
export class TwilioRestClient {
  private readonly timeoutMs: number;
  private readonly attempts: number;

  constructor(private readonly opts: TwilioRestOptions) {
    this.timeoutMs = opts.timeoutMs ?? 5_000;
    this.attempts = opts.attempts ?? 3;
  }

  get configured(): boolean {
    return Boolean(this.opts.authToken);
  }

  /** POST /2010-04-01/Accounts/{AccountSid}/Calls/{CallSid}.json with Status=completed. */
  async hangUp(accountSid: string, callSid: string): Promise<HangUpResult> {
    if (!this.opts.authToken) return "not-configured";
    const url = `${this.opts.baseUrl}/2010-04-01/Accounts/${encodeURIComponent(accountSid)}/Calls/${encodeURIComponent(callSid)}.json`;
    const user = this.opts.accountSid ?? accountSid;
    const authorization = `Basic ${Buffer.from(`${user}:${this.opts.authToken}`).toString("base64")}`;
    for (let attempt = 1; ; attempt++) {
      try {
        return await this.post(url, authorization);
      } catch (err) {
        const retryable = err instanceof TwilioApiError && err.retryable;
        if (!retryable || attempt >= this.attempts) throw err;
        await new Promise((r) => setTimeout(r, 200 * 2 ** (attempt - 1)));
      }
    }
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

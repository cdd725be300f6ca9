import { TwilioApiError } from "../../schema/infra/twilio-api-error.js";

export interface TwilioNumbersOptions {
  /** e.g. https://api.twilio.com, no trailing slash. */
  baseUrl: string;
  /** The platform's Twilio account: numbers are looked up, bought and configured in it. */
  accountSid: string | undefined;
  authToken: string | undefined;
  /** Milliseconds per attempt. */
  timeoutMs?: number;
  /** Attempts of idempotent requests (reads, updates) after timeouts, 429 and 5xx; purchases get one. */
  attempts?: number;
}

export interface NumberCapabilities {
  voice: boolean;
  sms: boolean;
  mms: boolean;
}

/** An IncomingPhoneNumber of the platform's account, the fields we read. Empty URLs are "". */
export interface IncomingNumber {
  sid: string;
  e164: string;
  voiceUrl: string;
  voiceFallbackUrl: string;
  statusCallback: string;
  /** When set, Twilio ignores the number's voice URLs and uses the application's. */
  voiceApplicationSid: string;
}

/** A number Twilio offers for purchase (AvailablePhoneNumbers/{Country}/Local). */
export interface AvailableNumber {
  e164: string;
  friendlyName: string;
  locality: string | null;
  region: string | null;
  isoCountry: string;
  capabilities: NumberCapabilities;
}

export interface LocalSearch {
  areaCode?: number | undefined;
  contains?: string | undefined;
  pageSize: number;
}

/** Form fields of an IncomingPhoneNumber create or update, as Twilio names them (VoiceUrl...). */
export type NumberFields = Record<string, string>;

interface Reply {
  status: number;
  body: Record<string, unknown> | null;
}

/**
 * The phone-number resources of Twilio's REST API the web process uses: find a held number,
 * read and update one, search numbers for sale, buy one. Fetch-based, like the worker's client.
 */
export class TwilioNumbersClient {
  private readonly timeoutMs: number;
  private readonly attempts: number;

  constructor(private readonly opts: TwilioNumbersOptions) {
    this.timeoutMs = opts.timeoutMs ?? 5_000;
    this.attempts = opts.attempts ?? 2;
  }

  /** Both credentials are set: without the account sid there is no account to look in. */
  get configured(): boolean {
    return Boolean(this.opts.accountSid && this.opts.authToken);
  }

  /** GET IncomingPhoneNumbers.json?PhoneNumber=: the platform's number with exactly this E.164, or null. */
  async findHeld(e164: string): Promise<IncomingNumber | null> {
    const reply = await this.retried(() =>
      this.send("GET", "/IncomingPhoneNumbers.json", { query: { PhoneNumber: e164, PageSize: "20" } }),
    );
    const list = this.ok(reply, "number lookup").incoming_phone_numbers;
    // The filter also matches partial numbers; only an exact match proves the number.
    const found = (Array.isArray(list) ? list : []).map(parseIncoming).find((n) => n?.e164 === e164);
    return found ?? null;
  }

  /** GET IncomingPhoneNumbers/{Sid}.json; null when the account no longer holds it (404). */
  async fetch(sid: string): Promise<IncomingNumber | null> {
    const reply = await this.retried(() => this.send("GET", `/IncomingPhoneNumbers/${encodeURIComponent(sid)}.json`, {}));
    if (reply.status === 404) return null;
    return this.incoming(reply, "number fetch");
  }

  /** POST IncomingPhoneNumbers/{Sid}.json: sets the given fields; retried, as an update is idempotent. */
  async update(sid: string, fields: NumberFields): Promise<IncomingNumber> {
    const reply = await this.retried(() => this.send("POST", `/IncomingPhoneNumbers/${encodeURIComponent(sid)}.json`, { form: fields }));
    return this.incoming(reply, "number update");
  }

  /**
   * POST IncomingPhoneNumbers.json with PhoneNumber: buys the number, configured with `fields` in
   * the same request. Sent once: a retry after a lost answer could not tell a purchase from a refusal.
   */
  async buy(e164: string, fields: NumberFields): Promise<IncomingNumber> {
    const reply = await this.send("POST", "/IncomingPhoneNumbers.json", { form: { PhoneNumber: e164, ...fields } });
    return this.incoming(reply, "number purchase");
  }

  /** GET AvailablePhoneNumbers/{Country}/Local.json with AreaCode and Contains. */
  async searchLocal(country: string, search: LocalSearch): Promise<AvailableNumber[]> {
    const query: Record<string, string> = { PageSize: String(search.pageSize) };
    if (search.areaCode !== undefined) query.AreaCode = String(search.areaCode);
    if (search.contains !== undefined) query.Contains = search.contains;
    const path = `/AvailablePhoneNumbers/${encodeURIComponent(country)}/Local.json`;
    const list = this.ok(await this.retried(() => this.send("GET", path, { query })), "number search").available_phone_numbers;
    return (Array.isArray(list) ? list : []).map(parseAvailable).filter((n): n is AvailableNumber => n !== null);
  }

  private incoming(reply: Reply, what: string): IncomingNumber {
    const number = parseIncoming(this.ok(reply, what));
    if (!number)
      throw new TwilioApiError(`Twilio's ${what} answer is not a phone number`, {
        httpStatus: reply.status,
        twilioCode: null,
        retryable: false,
      });
    return number;
  }

  /** The body of a 2xx answer; anything else as a TwilioApiError with Twilio's message and code. */
  private ok(reply: Reply, what: string): Record<string, unknown> {
    if (reply.status >= 200 && reply.status < 300 && reply.body) return reply.body;
    const message = typeof reply.body?.message === "string" ? reply.body.message.slice(0, 200) : `HTTP ${reply.status}`;
    throw new TwilioApiError(`Twilio refused the ${what}: ${message}`, {
      httpStatus: reply.status,
      twilioCode: typeof reply.body?.code === "number" ? reply.body.code : null,
      retryable: reply.status === 429 || reply.status >= 500,
    });
  }

  /** Retries what `ok` would call retryable (and unreachable hosts), then hands the answer on. */
  private async retried(request: () => Promise<Reply>): Promise<Reply> {
    for (let attempt = 1; ; attempt++) {
      let reply: Reply | null = null;
      try {
        reply = await request();
      } catch (err) {
        if (attempt >= this.attempts) throw err;
      }
      if (reply && reply.status !== 429 && reply.status < 500) return reply;
      if (reply && attempt >= this.attempts) return reply;
      await new Promise((r) => setTimeout(r, 200 * 2 ** (attempt - 1)));
    }
  }

  private async send(method: "GET" | "POST", path: string, req: { query?: Record<string, string>; form?: NumberFields }): Promise<Reply> {
    const { accountSid, authToken, baseUrl } = this.opts;
    if (!accountSid || !authToken) throw new Error("TwilioNumbersClient used without credentials");
    const query = req.query ? `?${new URLSearchParams(req.query).toString()}` : "";
    const url = `${baseUrl}/2010-04-01/Accounts/${encodeURIComponent(accountSid)}${path}${query}`;
    const headers: Record<string, string> = {
      authorization: `Basic ${Buffer.from(`${accountSid}:${authToken}`).toString("base64")}`,
      accept: "application/json",
    };
    if (req.form) headers["content-type"] = "application/x-www-form-urlencoded";
    let res: Response;
    try {
      res = await fetch(url, {
        method,
        headers,
        ...(req.form ? { body: new URLSearchParams(req.form).toString() } : {}),
        signal: AbortSignal.timeout(this.timeoutMs),
      });
    } catch (cause) {
      throw new TwilioApiError("Twilio REST API unreachable; try again", { httpStatus: null, twilioCode: null, retryable: true, cause });
    }
    const body: unknown = await res.json().catch(() => null);
    return {
      status: res.status,
      body: body && typeof body === "object" && !Array.isArray(body) ? (body as Record<string, unknown>) : null,
    };
  }
}

const str = (v: unknown): string => (typeof v === "string" ? v : "");
const optionalStr = (v: unknown): string | null => (typeof v === "string" && v !== "" ? v : null);

/** Twilio's IncomingPhoneNumber JSON (snake_case; unset URLs are null or ""). */
export function parseIncoming(raw: unknown): IncomingNumber | null {
  if (!raw || typeof raw !== "object") return null;
  const r = raw as Record<string, unknown>;
  if (typeof r.sid !== "string" || typeof r.phone_number !== "string") return null;
  return {
    sid: r.sid,
    e164: r.phone_number,
    voiceUrl: str(r.voice_url),
    voiceFallbackUrl: str(r.voice_fallback_url),
    statusCallback: str(r.status_callback),
    voiceApplicationSid: str(r.voice_application_sid),
  };
}

/**
 * Twilio's AvailablePhoneNumber JSON. Capabilities arrive as `voice`, `SMS`, `MMS` in practice
 * and in lower case in the API definition: either is read.
 */
export function parseAvailable(raw: unknown): AvailableNumber | null {
  if (!raw || typeof raw !== "object") return null;
  const r = raw as Record<string, unknown>;
  if (typeof r.phone_number !== "string") return null;
  const caps = r.capabilities && typeof r.capabilities === "object" ? (r.capabilities as Record<string, unknown>) : {};
  const flag = (name: string) => caps[name] === true || caps[name.toUpperCase()] === true;
  return {
    e164: r.phone_number,
    friendlyName: str(r.friendly_name) || r.phone_number,
    locality: optionalStr(r.locality),
    region: optionalStr(r.region),
    isoCountry: str(r.iso_country),
    capabilities: { voice: flag("voice"), sms: flag("sms"), mms: flag("mms") },
  };
}

import { randomBytes } from "node:crypto";

/** An IncomingPhoneNumber the fake holds, in Twilio's terms; empty URLs are "". */
export interface FakeIncomingNumber {
  sid: string;
  accountSid: string;
  phoneNumber: string;
  friendlyName: string;
  voiceUrl: string;
  voiceMethod: string;
  voiceFallbackUrl: string;
  voiceFallbackMethod: string;
  statusCallback: string;
  statusCallbackMethod: string;
  voiceApplicationSid: string;
}

/** A number the fake offers for sale under AvailablePhoneNumbers/{isoCountry}/Local. */
export interface FakeAvailableNumber {
  phoneNumber: string;
  friendlyName: string;
  locality: string | null;
  region: string | null;
  isoCountry: string;
  capabilities: { voice: boolean; sms: boolean; mms: boolean };
}

/** The platform's Twilio account in tests of the web process (TWILIO_ACCOUNT_SID). */
export const PLATFORM_ACCOUNT_SID = `AC${"7".repeat(32)}`;

export interface NumbersRequest {
  accountSid: string;
  /** Query string fields (reads) or form fields (writes). */
  fields: Record<string, string>;
}

type Json = (status: number, body: unknown) => void;

const PATH =
  /^\/2010-04-01\/Accounts\/(AC[0-9a-f]{32})\/(IncomingPhoneNumbers(?:\/(PN[0-9a-f]{32}))?|AvailablePhoneNumbers\/([A-Z]{2})\/Local)\.json$/;
const KEYPAD: Record<string, string> = Object.fromEntries(
  ["abc", "def", "ghi", "jkl", "mno", "pqrs", "tuv", "wxyz"].flatMap((letters, i) => [...letters].map((l) => [l, String(i + 2)])),
);

/**
 * Twilio's phone-number resources on the fake REST server, with state: the numbers each account
 * holds (IncomingPhoneNumbers: list filtered by PhoneNumber, fetch, update, create = buy) and
 * the numbers for sale (AvailablePhoneNumbers/{Country}/Local with AreaCode and Contains).
 * Every request is recorded. Auth and `failNext` are checked by FakeTwilioRest before this runs.
 */
export class FakeTwilioNumbers {
  /** Held numbers by sid. */
  readonly incoming = new Map<string, FakeIncomingNumber>();
  /** For sale; a purchase takes the number off this list. */
  readonly available: FakeAvailableNumber[] = [];
  readonly lookups: NumbersRequest[] = [];
  readonly fetches: string[] = [];
  readonly updates: (NumbersRequest & { sid: string })[] = [];
  readonly purchases: NumbersRequest[] = [];
  readonly searches: (NumbersRequest & { country: string })[] = [];
  /** The next purchase goes through but its answer is a 500, as when a response is lost. */
  loseNextPurchaseAnswer = false;
  /** The next N updates of a number fail with 500 (lookups still answer). */
  failNextUpdates = 0;
  /** Runs after a purchase went through and before it is answered (to stage a race). */
  beforePurchaseAnswer: ((phoneNumber: string) => Promise<void>) | null = null;

  matches(url: string): boolean {
    return PATH.test(url.split("?")[0] ?? "");
  }

  /** Puts a number into `accountSid`'s Twilio account, as if bought earlier in the console. */
  hold(accountSid: string, phoneNumber: string, patch: Partial<FakeIncomingNumber> = {}): FakeIncomingNumber {
    const number: FakeIncomingNumber = {
      sid: `PN${randomBytes(16).toString("hex")}`,
      accountSid,
      phoneNumber,
      friendlyName: phoneNumber,
      voiceUrl: "",
      voiceMethod: "POST",
      voiceFallbackUrl: "",
      voiceFallbackMethod: "POST",
      statusCallback: "",
      statusCallbackMethod: "POST",
      voiceApplicationSid: "",
      ...patch,
    };
    this.incoming.set(number.sid, number);
    return number;
  }

  offer(number: Partial<FakeAvailableNumber> & { phoneNumber: string; isoCountry: string }): void {
    this.available.push({
      friendlyName: number.phoneNumber,
      locality: null,
      region: null,
      capabilities: { voice: true, sms: true, mms: false },
      ...number,
    });
  }

  find(phoneNumber: string): FakeIncomingNumber | undefined {
    return [...this.incoming.values()].find((n) => n.phoneNumber === phoneNumber);
  }

  /** Requests of any kind about this number, to check Twilio was or was not asked. */
  requestsAbout(phoneNumber: string): number {
    const sids = new Set([...this.incoming.values()].filter((n) => n.phoneNumber === phoneNumber).map((n) => n.sid));
    return (
      this.lookups.filter((r) => r.fields.PhoneNumber === phoneNumber).length +
      this.purchases.filter((r) => r.fields.PhoneNumber === phoneNumber).length +
      this.updates.filter((u) => sids.has(u.sid)).length +
      this.fetches.filter((sid) => sids.has(sid)).length
    );
  }

  handle(method: string | undefined, url: string, body: string, json: Json): void | Promise<void> {
    const [path = "", query = ""] = url.split("?");
    const m = PATH.exec(path)!;
    const accountSid = m[1]!;
    const sid = m[3];
    const country = m[4];
    if (country && method === "GET") return this.search(accountSid, country, Object.fromEntries(new URLSearchParams(query)), json);
    const form = Object.fromEntries(new URLSearchParams(body));
    if (sid && method === "GET") return this.fetch(accountSid, sid, json);
    if (sid && method === "POST") return this.update(accountSid, sid, form, json);
    if (!sid && !country && method === "GET") return this.list(accountSid, path, Object.fromEntries(new URLSearchParams(query)), json);
    if (!sid && !country && method === "POST") return this.buy(accountSid, form, json);
    json(405, { code: 20004, message: "Method not allowed", status: 405 });
  }

  private list(accountSid: string, path: string, query: Record<string, string>, json: Json): void {
    this.lookups.push({ accountSid, fields: query });
    // Twilio matches partial numbers, '*' standing for any digit.
    const filter = query.PhoneNumber ? new RegExp(query.PhoneNumber.replace(/[+]/g, "\\+").replace(/\*/g, "\\d")) : null;
    const numbers = [...this.incoming.values()].filter((n) => n.accountSid === accountSid && (!filter || filter.test(n.phoneNumber)));
    const pageSize = Number(query.PageSize ?? 50);
    const uri = `${path}?${new URLSearchParams(query).toString()}`;
    json(200, {
      first_page_uri: uri,
      end: Math.max(0, Math.min(numbers.length, pageSize) - 1),
      previous_page_uri: null,
      incoming_phone_numbers: numbers.slice(0, pageSize).map(resource),
      uri,
      page_size: pageSize,
      start: 0,
      next_page_uri: null,
      page: 0,
    });
  }

  private fetch(accountSid: string, sid: string, json: Json): void {
    this.fetches.push(sid);
    const number = this.incoming.get(sid);
    if (!number || number.accountSid !== accountSid) return notFound(json, `IncomingPhoneNumbers/${sid}`);
    json(200, resource(number));
  }

  private update(accountSid: string, sid: string, form: Record<string, string>, json: Json): void {
    this.updates.push({ accountSid, sid, fields: form });
    if (this.failNextUpdates > 0) {
      this.failNextUpdates--;
      return json(500, { code: 20500, message: "Internal Server Error", status: 500 });
    }
    const number = this.incoming.get(sid);
    if (!number || number.accountSid !== accountSid) return notFound(json, `IncomingPhoneNumbers/${sid}`);
    apply(number, form);
    json(200, resource(number));
  }

  private async buy(accountSid: string, form: Record<string, string>, json: Json): Promise<void> {
    this.purchases.push({ accountSid, fields: form });
    const index = this.available.findIndex((n) => n.phoneNumber === form.PhoneNumber);
    if (index < 0) {
      return json(400, {
        code: 21422,
        message: "PhoneNumber requested is not available",
        more_info: "https://www.twilio.com/docs/errors/21422",
        status: 400,
      });
    }
    const [offered] = this.available.splice(index, 1);
    const number = this.hold(accountSid, offered!.phoneNumber, { friendlyName: offered!.friendlyName });
    apply(number, form);
    await this.beforePurchaseAnswer?.(number.phoneNumber);
    if (this.loseNextPurchaseAnswer) {
      this.loseNextPurchaseAnswer = false;
      return json(500, { code: 20500, message: "Internal Server Error", status: 500 });
    }
    json(201, resource(number));
  }

  private search(accountSid: string, country: string, query: Record<string, string>, json: Json): void {
    this.searches.push({ accountSid, country, fields: query });
    const contains = query.Contains
      ? new RegExp([...query.Contains.toLowerCase()].map((c) => (c === "*" ? "\\d" : (KEYPAD[c] ?? c))).join(""))
      : null;
    const found = this.available.filter(
      (n) =>
        n.isoCountry === country &&
        (!query.AreaCode || n.phoneNumber.startsWith(`+1${query.AreaCode}`)) &&
        (!contains || contains.test(n.phoneNumber.slice(1))),
    );
    const pageSize = Number(query.PageSize ?? 50);
    json(200, {
      available_phone_numbers: found.slice(0, pageSize).map((n) => ({
        friendly_name: n.friendlyName,
        phone_number: n.phoneNumber,
        lata: null,
        locality: n.locality,
        rate_center: null,
        latitude: null,
        longitude: null,
        region: n.region,
        postal_code: null,
        iso_country: n.isoCountry,
        address_requirements: "none",
        beta: false,
        // As Twilio sends them: voice in lower case, SMS and MMS in capitals.
        capabilities: { voice: n.capabilities.voice, SMS: n.capabilities.sms, MMS: n.capabilities.mms },
      })),
      uri: `/2010-04-01/Accounts/${accountSid}/AvailablePhoneNumbers/${country}/Local.json`,
    });
  }
}

/** Form fields of a create or update, applied as Twilio does ("" clears a URL). */
function apply(number: FakeIncomingNumber, form: Record<string, string>): void {
  const fields: [string, keyof FakeIncomingNumber][] = [
    ["VoiceUrl", "voiceUrl"],
    ["VoiceMethod", "voiceMethod"],
    ["VoiceFallbackUrl", "voiceFallbackUrl"],
    ["VoiceFallbackMethod", "voiceFallbackMethod"],
    ["StatusCallback", "statusCallback"],
    ["StatusCallbackMethod", "statusCallbackMethod"],
    ["VoiceApplicationSid", "voiceApplicationSid"],
    ["FriendlyName", "friendlyName"],
  ];
  for (const [field, key] of fields) if (form[field] !== undefined) number[key] = form[field]!;
}

/** The IncomingPhoneNumber resource as Twilio returns it (snake_case; unset URLs null). */
function resource(n: FakeIncomingNumber): Record<string, unknown> {
  return {
    account_sid: n.accountSid,
    address_requirements: "none",
    api_version: "2010-04-01",
    beta: false,
    capabilities: { voice: true, sms: true, mms: false, fax: false },
    date_created: "Thu, 30 Jul 2015 23:19:04 +0000",
    date_updated: "Thu, 30 Jul 2015 23:19:04 +0000",
    friendly_name: n.friendlyName,
    identity_sid: null,
    phone_number: n.phoneNumber,
    origin: "twilio",
    sid: n.sid,
    sms_application_sid: "",
    sms_url: "",
    status_callback: n.statusCallback,
    status_callback_method: n.statusCallbackMethod,
    trunk_sid: null,
    uri: `/2010-04-01/Accounts/${n.accountSid}/IncomingPhoneNumbers/${n.sid}.json`,
    voice_application_sid: n.voiceApplicationSid || null,
    voice_caller_id_lookup: false,
    voice_fallback_method: n.voiceFallbackMethod,
    voice_fallback_url: n.voiceFallbackUrl || null,
    voice_method: n.voiceMethod,
    voice_url: n.voiceUrl || null,
    status: "in-use",
  };
}

function notFound(json: Json, what: string): void {
  json(404, {
    code: 20404,
    message: `The requested resource /2010-04-01/${what}.json was not found`,
    more_info: "https://www.twilio.com/docs/errors/20404",
    status: 404,
  });
}

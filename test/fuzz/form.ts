// A webhook request under construction (form fields, query, headers) and the ways the fuzz
// suite spoils it. Pure: the doors turn drafts into HTTP requests.
import fc from "fast-check";
import twilio from "twilio";
import type { FormFields } from "../../api/lib/form-body.js";
import { hostileString } from "./hostile.js";

export type Pair = [name: string, value: string];

export interface Draft {
  method: string;
  /** "/inbound_call" or "/call_status". */
  route: string;
  query: Pair[];
  pairs: Pair[];
  /** Appended to the encoded body as is: bad percent-encoding, bytes that are not UTF-8. */
  rawTail: string | null;
  contentType: string | null;
}

/** A ready request: what is sent, and why it must be refused. */
export interface FormRequest {
  method: string;
  /** Path with its query string. */
  path: string;
  headers: Record<string, string>;
  body: string;
  /** How it is authenticated (or fails to be). */
  credential: string;
  /** What makes it invalid even with good credentials ("-" when the credential alone does). */
  defect: string;
  /**
   * Set on a well-credentialed repeat of a seeded call's webhook (the call ended before the run):
   * Twilio retries look like this, so a 200 answered from the earlier admission, or saying the
   * call already ended, is right, as long as nothing is written.
   */
  retryOf?: string;
}

export const FORM = "application/x-www-form-urlencoded";

export function encodePairs(pairs: Pair[]): string {
  return new URLSearchParams(pairs).toString();
}

export function pathOf(d: Draft): string {
  return d.query.length ? `${d.route}?${encodePairs(d.query)}` : d.route;
}

export function bodyOf(d: Draft): string {
  const encoded = encodePairs(d.pairs);
  if (d.rawTail === null) return encoded;
  return encoded ? `${encoded}&${d.rawTail}` : d.rawTail;
}

/** The body's fields as the web process reads them for the signature (repeated names as arrays). */
export function formFields(body: string): FormFields {
  const fields: FormFields = Object.create(null) as FormFields;
  for (const [name, value] of new URLSearchParams(body)) {
    const previous = fields[name];
    fields[name] = previous === undefined ? value : Array.isArray(previous) ? [...previous, value] : [previous, value];
  }
  return fields;
}

/** X-Twilio-Signature of a body posted to `url`, as Twilio computes it. */
export function sign(authToken: string, url: string, body: string): string {
  return twilio.getExpectedTwilioSignature(authToken, url, formFields(body));
}

/** Whether the web process would accept this signature for the request. */
export function signatureValid(authToken: string, publicBaseUrl: string, path: string, body: string, signature: string): boolean {
  return twilio.validateRequest(authToken, signature, publicBaseUrl + path, formFields(body));
}

export const withPair = (d: Draft, p: Pair): Draft => ({ ...d, pairs: [...d.pairs, p] });
export const without = (d: Draft, name: string): Draft => ({ ...d, pairs: d.pairs.filter(([n]) => n !== name) });
export const setField = (d: Draft, name: string, value: string): Draft => withPair(without(d, name), [name, value]);

/** Changes that may or may not make the request invalid: they vary what the deeper code sees. */
const plainName = fc
  .tuple(
    fc.constantFrom(..."ABCDEFGHIJKLMNOPQRSTUVWXYZabcxyz"),
    fc.string({ unit: fc.constantFrom(..."abcdefghijklmnopqrstuvwxyz0123456789_"), maxLength: 20 }),
  )
  .map(([a, b]) => a + b);

export function noise(fieldNames: string[]): fc.Arbitrary<(d: Draft) => Draft> {
  const value = hostileString({ maxHuge: 4096 });
  const name = fc.constantFrom(...fieldNames);
  return fc.oneof(
    fc.tuple(name, value).map(
      ([n, v]) =>
        (d: Draft) =>
          setField(d, n, v),
    ),
    fc.tuple(plainName, value).map(
      ([n, v]) =>
        (d: Draft) =>
          withPair(d, [n, v]),
    ),
    fc.tuple(name, value).map(
      ([n, v]) =>
        (d: Draft) =>
          withPair(d, [n, v]),
    ),
    name.map((n) => (d: Draft) => without(d, n)),
    fc
      .tuple(fc.constantFrom("agent_id", "x", "CallSid", "debug"), value)
      .map(([n, v]) => (d: Draft) => ({ ...d, query: [...d.query, [n, v] as Pair] })),
    fc.constant((d: Draft) => ({ ...d, pairs: [...d.pairs].reverse() })),
    fc
      .constantFrom(FORM, `${FORM}; charset=utf-8`, "APPLICATION/X-WWW-FORM-URLENCODED")
      .map((t) => (d: Draft) => ({ ...d, contentType: t })),
  );
}

/** Field names that the web process refuses outright (query operators, prototype tricks, odd bytes). */
export const BAD_FIELD_NAMES = [
  "To[$ne]",
  "CallSid[]",
  "__proto__[admin]",
  "constructor[prototype]",
  "a b",
  "x".repeat(65),
  "Cállér",
  "From\u0000",
  "$where",
  "a.b[c]",
];

/** Body text that is not valid UTF-8 or not valid percent-encoding, in a well-named field. */
export const BAD_ENCODINGS = ["From=%C3%28", "To=%FF%FE", "CallSid=%E0%A4%A", "Direction=%ED%A0%80", "Caller=%C0%AF"];

/** Values with C0 controls other than tab, CR and LF, which no Twilio field carries. */
export const controlValue = fc
  .tuple(fc.constantFrom("\u0000", "\u0001", "\u0008", "\u000B", "\u001B", "\u007F"), fc.string({ maxLength: 10 }))
  .map(([c, s]) => `${s}${c}${s}`);

/** Content types that are not a form. */
export const NOT_FORM = [
  "application/json",
  "text/plain",
  "multipart/form-data; boundary=x",
  "application/x-www-form-urlencodedx",
  "text/xml",
  "",
];

/** Methods the webhook routes do not serve (OPTIONS is answered by the router, harmlessly, so it is left out). */
export const WRONG_METHODS = ["GET", "PUT", "PATCH", "DELETE"];

import type { IncomingMessage } from "node:http";
import { InvalidParamsError, PayloadTooLargeError, UnsupportedMediaTypeError } from "../../schema/infra/errors.js";
import { CONTROL_CHARS } from "../../schema/infra/text.js";

/** Form fields as received: one value, or several for a repeated name (kept for signatures). */
export type FormFields = Record<string, string | string[]>;

const FIELD_NAME = /^[A-Za-z0-9_.-]{1,64}$/;
const MAX_FIELDS = 200;

/** Reads the raw body, refusing more than `limitBytes` (also when no Content-Length is sent). */
export async function readBody(req: IncomingMessage, limitBytes: number): Promise<string> {
  const declared = Number(req.headers["content-length"]);
  if (Number.isFinite(declared) && declared > limitBytes) throw new PayloadTooLargeError(limitBytes);
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > limitBytes) throw new PayloadTooLargeError(limitBytes);
    chunks.push(chunk);
  }
  return Buffer.concat(chunks).toString("utf8");
}

export function assertFormContentType(contentType: string | undefined): void {
  const type = contentType?.split(";")[0]?.trim().toLowerCase();
  if (type !== "application/x-www-form-urlencoded") {
    throw new UnsupportedMediaTypeError("application/x-www-form-urlencoded");
  }
}

/**
 * Parses application/x-www-form-urlencoded text. Names that are not plain identifiers
 * (`agent_id[$ne]`, `__proto__` tricks) are refused rather than ignored: no real Twilio field
 * looks like that, and silently dropping them would hide an attack.
 * Deliberately not `qs` (what @koa/bodyparser parses forms with): qs turns `a[b]=1` into nested
 * objects and an operator-like key such as `agent_id[$ne]=x` into `{ agent_id: { $ne: "x" } }`,
 * where the webhook must see the name as sent to refuse it as INVALID_PARAMS; and prototype keys
 * (`__proto__`, `toString`, `hasOwnProperty`) it drops without a word, or with allowPrototypes
 * writes. URLSearchParams keeps every name as sent, and repeated names too, which the signature
 * check needs.
 */
export function parseForm(text: string): FormFields {
  const fields: FormFields = Object.create(null) as FormFields;
  let count = 0;
  for (const [name, value] of new URLSearchParams(text)) {
    if (++count > MAX_FIELDS) throw new InvalidParamsError(`Too many fields (more than ${MAX_FIELDS})`);
    if (!FIELD_NAME.test(name)) throw new InvalidParamsError(`Invalid field name "${name.slice(0, 64)}"`);
    if (CONTROL_CHARS.test(value)) throw new InvalidParamsError(`Field ${name} contains control characters`);
    // URLSearchParams turns bytes that are not UTF-8 into U+FFFD.
    if (value.includes("\uFFFD")) throw new InvalidParamsError(`Field ${name} is not valid UTF-8`);
    const previous = fields[name];
    if (previous === undefined) fields[name] = value;
    else fields[name] = Array.isArray(previous) ? [...previous, value] : [previous, value];
  }
  return fields;
}

/** One field's value; a name sent more than once is refused (which one would Twilio have meant?). */
export function singleField(fields: FormFields, name: string, where = "body"): string | undefined {
  const value = fields[name];
  if (Array.isArray(value)) throw new InvalidParamsError(`${name} appears more than once in the ${where}`);
  return value;
}

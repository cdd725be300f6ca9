// Defects no valid Twilio webhook has, so a request carrying one must be refused whatever its
// credential: the fuzz suite gives one to every request with a good credential.
import fc from "fast-check";
import { TWILIO_CALL_STATUSES } from "../../api/voice/call-status.params.js";
import { MAX_IDENTITY_LENGTH } from "../../schema/models/call.model.js";
import type { FuzzContext } from "./context.js";
import {
  BAD_ENCODINGS,
  BAD_FIELD_NAMES,
  NOT_FORM,
  WRONG_METHODS,
  controlValue,
  setField,
  withPair,
  without,
  type Draft,
  type Pair,
} from "./form.js";
import { hostileString } from "./hostile.js";

export type Defect = fc.Arbitrary<{ label: string; apply: (d: Draft) => Draft }>;
const defect = (label: string, apply: (d: Draft) => Draft) => ({ label, apply });

const hex = (bytes: number[]) => Buffer.from(bytes).toString("hex");
export const sidArb = (prefix: string) =>
  fc.array(fc.integer({ min: 0, max: 255 }), { minLength: 16, maxLength: 16 }).map((b) => prefix + hex(b));
const objectIdArb = fc.array(fc.integer({ min: 0, max: 255 }), { minLength: 12, maxLength: 12 }).map(hex);
const CALL_SID = /^[A-Za-z0-9_-]{2,64}$/;

/** Defects both webhooks refuse whatever the credential. */
function commonDefects(required: string[]): Defect[] {
  const field = fc.constantFrom(...required);
  return [
    field.map((n) => defect(`missing ${n}`, (d) => without(d, n))),
    fc
      .tuple(field, fc.string({ maxLength: 20 }))
      .map(([n, v]) => defect(`repeated ${n}`, (d) => withPair(withPair(d, [n, v]), [n, `${v}2`]))),
    hostileString({ maxHuge: 4096 })
      .filter((s) => !CALL_SID.test(s))
      .map((v) => defect("CallSid format", (d) => setField(d, "CallSid", v))),
    fc.tuple(field, controlValue).map(([n, v]) => defect("control characters", (d) => setField(d, n, v))),
    fc
      .tuple(fc.constantFrom(...BAD_FIELD_NAMES), hostileString({ maxHuge: 100 }))
      .map(([n, v]) => defect("bad field name", (d) => withPair(d, [n, v]))),
    fc.constantFrom(...BAD_ENCODINGS).map((raw) => defect("not UTF-8", (d) => ({ ...d, rawTail: raw }))),
    fc
      .integer({ min: 201, max: 400 })
      .map((n) =>
        defect("too many fields", (d) => ({ ...d, pairs: [...d.pairs, ...Array.from({ length: n }, (_, i): Pair => [`F${i}`, "1"])] })),
      ),
    fc.integer({ min: 33_000, max: 120_000 }).map((n) => defect("body too large", (d) => withPair(d, ["Padding", "p".repeat(n)]))),
    fc.constantFrom(...NOT_FORM, null).map((t) => defect("not a form", (d) => ({ ...d, contentType: t }))),
    fc.constantFrom(...WRONG_METHODS).map((m) => defect("wrong method", (d) => ({ ...d, method: m }))),
  ];
}

export function inboundDefects(ctx: FuzzContext): Defect[] {
  return [
    ...commonDefects(["CallSid", "From", "To"]),
    fc.integer({ min: 1_000_000, max: 9_999_999 }).map((n) =>
      defect("unknown number", (d) => ({
        ...setField(without(without(d, "ForwardedFrom"), "agent_id"), "To", `+1999${n}`),
        query: d.query.filter(([q]) => q !== "agent_id"),
      })),
    ),
    ...(ctx.refusing.length
      ? [
          fc.constantFrom(...ctx.refusing).map((r) =>
            defect(`refused by state: ${r.why}`, (d) => ({
              ...setField(without(without(d, "ForwardedFrom"), "agent_id"), "To", r.number),
              query: d.query.filter(([q]) => q !== "agent_id"),
            })),
          ),
        ]
      : []),
    fc
      .oneof(
        objectIdArb,
        hostileString({ maxHuge: 64 }).filter((s) => s !== ""),
      )
      .map((id) =>
        defect("unknown agent", (d) => ({ ...d, query: [...d.query.filter(([q]) => q !== "agent_id"), ["agent_id", id] as Pair] })),
      ),
    fc
      .constantFrom("From", "To", "ForwardedFrom", "external_call_id")
      .map((n) => defect("identity too long", (d) => setField(d, n, `+1${"5".repeat(MAX_IDENTITY_LENGTH)}`))),
    fc
      .tuple(fc.constantFrom("From", "To", "ForwardedFrom", "external_call_id"), fc.constantFrom("\n", "\r", "\t"))
      .map(([n, c]) => defect("line break in an identity", (d) => setField(d, n, `+1415${c}5550100`))),
  ];
}

export function statusDefects(): Defect[] {
  return [
    ...commonDefects(["CallSid", "CallStatus"]),
    fc
      .oneof(
        hostileString({ maxHuge: 1024 }),
        fc.constantFrom("Completed", " completed", "completed ", "COMPLETED", "in_progress", "answered"),
      )
      .filter((s) => !(TWILIO_CALL_STATUSES as readonly string[]).includes(s))
      .map((s) => defect("CallStatus not a status", (d) => setField(d, "CallStatus", s))),
    fc
      .oneof(hostileString({ maxHuge: 1024 }), fc.constantFrom("-1", "1e3", "1.5", "1234567", "٣", "１", "0x10", " 5"))
      .filter((s) => s !== "" && !/^\d{1,6}$/.test(s))
      .map((s) => defect("CallDuration not whole seconds", (d) => setField(d, "CallDuration", s))),
    sidArb("CA").map((sid) => defect("unknown call", (d) => setField(d, "CallSid", sid))),
  ];
}

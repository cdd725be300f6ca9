// The /inbound_call and /call_status doors: Twilio-shaped form posts aimed at the seeded numbers
// and calls, spoiled by noise, sent with a hostile credential, and, when the credential is good,
// with a defect that no valid Twilio request has. Each request must be refused (4xx).
import { randomBytes } from "node:crypto";
import fc from "fast-check";
import { TWILIO_CALL_STATUSES } from "../../api/voice/call-status.params.js";
import { MAX_IDENTITY_LENGTH } from "../../schema/models/call.model.js";
import type { FuzzContext } from "./context.js";
import { credentialPlans, type CredentialPlan } from "./credentials.js";
import { errorCode, httpVerdict, short, type Door, type Outcome } from "./door.js";
import {
  BAD_ENCODINGS,
  BAD_FIELD_NAMES,
  FORM,
  NOT_FORM,
  WRONG_METHODS,
  bodyOf,
  controlValue,
  noise,
  pathOf,
  setField,
  signatureValid,
  withPair,
  without,
  type Draft,
  type FormRequest,
  type Pair,
} from "./form.js";
import { clientAddress, hostileString } from "./hostile.js";
import { rawHttpArbitrary, sendRaw, type RawRequest } from "./raw-http.js";

type Defect = fc.Arbitrary<{ label: string; apply: (d: Draft) => Draft }>;
const defect = (label: string, apply: (d: Draft) => Draft) => ({ label, apply });

const hex = (bytes: number[]) => Buffer.from(bytes).toString("hex");
const sidArb = (prefix: string) => fc.array(fc.integer({ min: 0, max: 255 }), { minLength: 16, maxLength: 16 }).map((b) => prefix + hex(b));
const objectIdArb = fc.array(fc.integer({ min: 0, max: 255 }), { minLength: 12, maxLength: 12 }).map(hex);
const CALL_SID = /^[A-Za-z0-9_-]{2,64}$/;

/** Defects both webhooks refuse whatever the credential. */
function commonDefects(required: string[]): Defect[] {
  const field = fc.constantFrom(...required);
  return [
    field.map((n) => defect(`missing ${n}`, (d) => without(d, n))),
    fc.tuple(field, fc.string({ maxLength: 20 })).map(([n, v]) => defect(`repeated ${n}`, (d) => withPair(withPair(d, [n, v]), [n, `${v}2`]))),
    hostileString({ maxHuge: 4096 })
      .filter((s) => !CALL_SID.test(s))
      .map((v) => defect("CallSid format", (d) => setField(d, "CallSid", v))),
    fc.tuple(field, controlValue).map(([n, v]) => defect("control characters", (d) => setField(d, n, v))),
    fc.tuple(fc.constantFrom(...BAD_FIELD_NAMES), hostileString({ maxHuge: 100 })).map(([n, v]) => defect("bad field name", (d) => withPair(d, [n, v]))),
    fc.constantFrom(...BAD_ENCODINGS).map((raw) => defect("not UTF-8", (d) => ({ ...d, rawTail: raw }))),
    fc.integer({ min: 201, max: 400 }).map((n) => defect("too many fields", (d) => ({ ...d, pairs: [...d.pairs, ...Array.from({ length: n }, (_, i): Pair => [`F${i}`, "1"])] }))),
    fc.integer({ min: 33_000, max: 120_000 }).map((n) => defect("body too large", (d) => withPair(d, ["Padding", "p".repeat(n)]))),
    fc.constantFrom(...NOT_FORM, null).map((t) => defect("not a form", (d) => ({ ...d, contentType: t }))),
    fc.constantFrom(...WRONG_METHODS).map((m) => defect("wrong method", (d) => ({ ...d, method: m }))),
  ];
}

function inboundDefects(ctx: FuzzContext): Defect[] {
  return [
    ...commonDefects(["CallSid", "From", "To"]),
    fc.integer({ min: 1_000_000, max: 9_999_999 }).map((n) =>
      defect("unknown number", (d) => ({ ...setField(without(without(d, "ForwardedFrom"), "agent_id"), "To", `+1999${n}`), query: d.query.filter(([q]) => q !== "agent_id") })),
    ),
    ...(ctx.refusing.length
      ? [
          fc.constantFrom(...ctx.refusing).map((r) =>
            defect(`refused by state: ${r.why}`, (d) => ({ ...setField(without(without(d, "ForwardedFrom"), "agent_id"), "To", r.number), query: d.query.filter(([q]) => q !== "agent_id") })),
          ),
        ]
      : []),
    fc.oneof(objectIdArb, hostileString({ maxHuge: 64 }).filter((s) => s !== "")).map((id) => defect("unknown agent", (d) => ({ ...d, query: [...d.query.filter(([q]) => q !== "agent_id"), ["agent_id", id] as Pair] }))),
    fc.constantFrom("From", "To", "ForwardedFrom", "external_call_id").map((n) => defect("identity too long", (d) => setField(d, n, `+1${"5".repeat(MAX_IDENTITY_LENGTH)}`))),
    fc.tuple(fc.constantFrom("From", "To", "ForwardedFrom", "external_call_id"), fc.constantFrom("\n", "\r", "\t")).map(([n, c]) => defect("line break in an identity", (d) => setField(d, n, `+1415${c}5550100`))),
  ];
}

function statusDefects(): Defect[] {
  return [
    ...commonDefects(["CallSid", "CallStatus"]),
    fc
      .oneof(hostileString({ maxHuge: 1024 }), fc.constantFrom("Completed", " completed", "completed ", "COMPLETED", "in_progress", "answered"))
      .filter((s) => !(TWILIO_CALL_STATUSES as readonly string[]).includes(s))
      .map((s) => defect("CallStatus not a status", (d) => setField(d, "CallStatus", s))),
    fc
      .oneof(hostileString({ maxHuge: 1024 }), fc.constantFrom("-1", "1e3", "1.5", "1234567", "٣", "１", "0x10", " 5"))
      .filter((s) => s !== "" && !/^\d{1,6}$/.test(s))
      .map((s) => defect("CallDuration not whole seconds", (d) => setField(d, "CallDuration", s))),
    sidArb("CA").map((sid) => defect("unknown call", (d) => setField(d, "CallSid", sid))),
  ];
}

const draft = (route: string, pairs: Pair[], query: Pair[] = []): Draft => ({ method: "POST", route, query, pairs, rawTail: null, contentType: FORM });

/** A genuine-looking /inbound_call to one of the seeded numbers; `owner` is its account. */
function inboundBase(ctx: FuzzContext): fc.Arbitrary<{ draft: Draft; owner: number }> {
  return fc.record({ owner: fc.integer({ min: 0, max: ctx.accounts.length - 1 }), sid: sidArb("CA"), viaForward: fc.boolean() }).map(({ owner, sid, viaForward }) => {
    const a = ctx.accounts[owner]!;
    const pairs: Pair[] = [
      ["AccountSid", `AC${"1".repeat(32)}`],
      ["ApiVersion", "2010-04-01"],
      ["CallSid", sid],
      ["CallStatus", "ringing"],
      ["Direction", "inbound"],
      ["From", "+14155550100"],
      ["To", a.number],
    ];
    if (viaForward) pairs.push(["ForwardedFrom", a.forwardingNumber]);
    return { draft: draft("/inbound_call", pairs), owner };
  });
}

/** A genuine-looking final status callback for a seeded call (or an unknown one). */
function statusBase(ctx: FuzzContext): fc.Arbitrary<{ draft: Draft; owner: number | null }> {
  return fc
    .record({ call: fc.integer({ min: -1, max: ctx.calls.length - 1 }), sid: sidArb("CA"), status: fc.constantFrom(...TWILIO_CALL_STATUSES), duration: fc.nat({ max: 3600 }) })
    .map(({ call, sid, status, duration }) => {
      const seeded = call >= 0 ? ctx.calls[call]! : null;
      const pairs: Pair[] = [
        ["AccountSid", seeded?.accountSid ?? `AC${"1".repeat(32)}`],
        ["ApiVersion", "2010-04-01"],
        ["CallSid", seeded?.callSid ?? sid],
        ["CallStatus", status],
        ["CallDuration", String(duration)],
        ["Direction", "inbound"],
        ["SequenceNumber", "0"],
      ];
      return { draft: draft("/call_status", pairs), owner: seeded ? seeded.account : null };
    });
}

/** The seeded call a repeat of this request is for, with the draft aimed at it; null when none. */
type Retry = (d: Draft, owner: number | null) => { draft: Draft; callId: string } | null;

/** An /inbound_call repeating the admission of the owner's seeded call (any other fields). */
const inboundRetry =
  (ctx: FuzzContext): Retry =>
  (d, owner) => {
    const call = ctx.calls.find((c) => c.account === owner);
    return call ? { draft: setField(d, "CallSid", call.callSid), callId: call.callId } : null;
  };

/** A status callback already aims at a seeded call when it has an owner. */
const statusRetry =
  (ctx: FuzzContext): Retry =>
  (d, owner) => {
    const call = ctx.calls.find((c) => c.account === owner && d.pairs.some(([n, v]) => n === "CallSid" && v === c.callSid));
    return call ? { draft: d, callId: call.callId } : null;
  };

function formArbitrary(ctx: FuzzContext, base: fc.Arbitrary<{ draft: Draft; owner: number | null }>, fields: string[], defects: Defect[], retry: Retry): fc.Arbitrary<FormRequest> {
  // Built once: arbitraries made inside chain() would be rebuilt for every input.
  const ops = fc.array(noise(fields), { maxLength: 4 });
  const anyDefect = fc.oneof(...defects);
  const plans = new Map<number | null, fc.Arbitrary<CredentialPlan>>([null, ...ctx.accounts.keys()].map((o) => [o, credentialPlans(ctx, o)]));
  return base
    .chain(({ draft: genuine, owner }) =>
      fc.record({
        genuine: fc.constant(genuine),
        noise: ops,
        credential: plans.get(owner)!,
        defect: fc.oneof({ weight: 1, arbitrary: fc.constant(null) }, { weight: 1, arbitrary: anyDefect }),
        forcedDefect: anyDefect,
        repeat: fc.oneof({ weight: 7, arbitrary: fc.constant(false) }, { weight: 1, arbitrary: fc.constant(true) }),
        xff: clientAddress,
        owner: fc.constant(owner),
      }),
    )
    .map(({ genuine, noise: ops, credential, defect: optional, forcedDefect, repeat, xff, owner }) => {
      let d = ops.reduce((acc, op) => op(acc), genuine);
      // A good credential gets a defect, or repeats a seeded call's webhook; a bad one gets a defect sometimes.
      const again = credential.good && repeat ? retry(d, owner) : null;
      const chosen = credential.good && !again ? forcedDefect : again ? null : optional;
      if (again) d = again.draft;
      if (chosen) d = chosen.apply(d);
      return {
        request: {
          method: d.method,
          path: pathOf(d),
          headers: { ...(d.contentType === null ? {} : { "content-type": d.contentType }), "x-forwarded-for": xff, ...credential.headers(d, genuine) },
          body: bodyOf(d),
          credential: credential.label,
          defect: again ? "repeat of a seeded call's webhook" : (chosen?.label ?? "-"),
          ...(again ? { retryOf: again.callId } : {}),
        },
        checkSignature: credential.signed,
      };
    })
    .filter(({ request, checkSignature }) => !checkSignature || !forgedSignatureValidates(ctx, request))
    .map(({ request }) => request);
}

/** True when a forged or replayed signature happens to validate (the request is then not hostile). */
function forgedSignatureValidates(ctx: FuzzContext, r: FormRequest): boolean {
  const signature = r.headers["x-twilio-signature"];
  if (!signature) return false;
  const body = r.method === "GET" ? "" : r.body;
  return signatureValid(ctx.authToken, ctx.publicBaseUrl, r.path, body, signature);
}

export async function sendForm(ctx: FuzzContext, r: FormRequest): Promise<Outcome> {
  try {
    const res = await fetch(ctx.webUrl + r.path, {
      method: r.method,
      headers: r.headers,
      body: r.method === "GET" ? undefined : r.body,
      signal: AbortSignal.timeout(15_000),
    });
    const text = await res.text();
    if (r.retryOf && res.status === 200) return retryOutcome(r.retryOf, text);
    return { verdict: httpVerdict(res.status), detail: `${res.status} ${errorCode(text)}`.trim() };
  } catch (err) {
    return { verdict: "transport-error", detail: (err as Error).message };
  }
}

/** A repeat is answered from the call's admission (its TwiML) or told the call already ended. */
function retryOutcome(callId: string, text: string): Outcome {
  if (text.startsWith("<?xml") && text.includes(callId)) return { verdict: "ignored", detail: "200 answered from the earlier admission" };
  try {
    const body = JSON.parse(text) as { callId?: string; outcome?: string };
    if (body.callId === callId && (body.outcome === "already-ended" || body.outcome === "ignored")) return { verdict: "ignored", detail: `200 ${body.outcome}` };
  } catch {
    // not JSON: accepted below
  }
  return { verdict: "accepted", detail: `200 ${short(text, 120)}` };
}

const describe = (r: FormRequest) => `${r.method} ${short(r.path, 120)} [${r.credential}; defect: ${r.defect}] body ${short(r.body, 200)} headers ${short(r.headers, 200)}`;

/** Mostly form posts, and one in twenty raw bytes that no HTTP client would send. */
function withRaw(ctx: FuzzContext, forms: fc.Arbitrary<FormRequest>): fc.Arbitrary<WebhookInput> {
  return fc.oneof({ weight: 19, arbitrary: forms }, { weight: 1, arbitrary: rawHttpArbitrary(["/inbound_call", "/call_status", "/inbound_call?agent_id=x"]) });
}

function sendWebhook(ctx: FuzzContext, input: WebhookInput): Promise<Outcome> {
  return "kind" in input ? sendRaw(Number(new URL(ctx.webUrl).port), input) : sendForm(ctx, input);
}

const describeWebhook = (input: WebhookInput) => ("kind" in input ? `raw ${short(JSON.stringify(input.bytes), 300)}` : describe(input));

export type WebhookInput = FormRequest | RawRequest;

export function inboundCallDoor(ctx: FuzzContext): Door<WebhookInput> {
  const fields = ["CallSid", "From", "To", "ForwardedFrom", "agent_id", "external_call_id", "AccountSid", "CallStatus", "Direction"];
  return { name: "/inbound_call", arbitrary: withRaw(ctx, formArbitrary(ctx, inboundBase(ctx), fields, inboundDefects(ctx), inboundRetry(ctx))), send: (r) => sendWebhook(ctx, r), describe: describeWebhook };
}

export function callStatusDoor(ctx: FuzzContext): Door<FormRequest> {
  const fields = ["CallSid", "CallStatus", "CallDuration", "AccountSid", "SequenceNumber", "Timestamp"];
  return { name: "/call_status", arbitrary: formArbitrary(ctx, statusBase(ctx), fields, statusDefects(), statusRetry(ctx)), send: (r) => sendForm(ctx, r), describe };
}

/** A fresh id nobody uses, for tests. */
export const unusedObjectId = () => randomBytes(12).toString("hex");

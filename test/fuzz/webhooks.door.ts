// The /inbound_call and /call_status doors: Twilio-shaped form posts aimed at the seeded numbers
// and calls, spoiled by noise, sent with a hostile credential, and, when the credential is good,
// with a defect that no valid Twilio request has. Each request must be refused (4xx). /call_status
// takes no account keys: there an account's own key is hostile on an otherwise valid callback.
import fc from "fast-check";
import { TWILIO_CALL_STATUSES } from "../../api/voice/call-status.params.js";
import type { FuzzContext } from "./context.js";
import { credentialPlans, type CredentialPlan, type DoorPolicy } from "./credentials.js";
import { errorCode, httpVerdict, short, type Door, type Outcome } from "./door.js";
import { FORM, bodyOf, noise, pathOf, setField, signatureValid, type Draft, type FormRequest, type Pair } from "./form.js";
import { clientAddress } from "./hostile.js";
import { rawHttpArbitrary, sendRaw, type RawRequest } from "./raw-http.js";
import { inboundDefects, sidArb, statusDefects, type Defect } from "./webhook.defects.js";

const draft = (route: string, pairs: Pair[], query: Pair[] = []): Draft => ({
  method: "POST",
  route,
  query,
  pairs,
  rawTail: null,
  contentType: FORM,
});

/** A genuine-looking /inbound_call to one of the seeded numbers; `owner` is its account. */
function inboundBase(ctx: FuzzContext): fc.Arbitrary<{ draft: Draft; owner: number }> {
  return fc
    .record({ owner: fc.integer({ min: 0, max: ctx.accounts.length - 1 }), sid: sidArb("CA"), viaForward: fc.boolean() })
    .map(({ owner, sid, viaForward }) => {
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
    .record({
      call: fc.integer({ min: -1, max: ctx.calls.length - 1 }),
      sid: sidArb("CA"),
      status: fc.constantFrom(...TWILIO_CALL_STATUSES),
      duration: fc.nat({ max: 3600 }),
    })
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

function formArbitrary(
  ctx: FuzzContext,
  base: fc.Arbitrary<{ draft: Draft; owner: number | null }>,
  fields: string[],
  defects: Defect[],
  retry: Retry,
  door: DoorPolicy,
): fc.Arbitrary<FormRequest> {
  // Built once: arbitraries made inside chain() would be rebuilt for every input.
  const ops = fc.array(noise(fields), { maxLength: 4 });
  const anyDefect = fc.oneof(...defects);
  const plans = new Map<number | null, fc.Arbitrary<CredentialPlan>>(
    [null, ...ctx.accounts.keys()].map((o) => [o, credentialPlans(ctx, o, door)]),
  );
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
          headers: {
            ...(d.contentType === null ? {} : { "content-type": d.contentType }),
            "x-forwarded-for": xff,
            ...credential.headers(d, genuine),
          },
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
    if (body.callId === callId && (body.outcome === "already-ended" || body.outcome === "ignored"))
      return { verdict: "ignored", detail: `200 ${body.outcome}` };
  } catch {
    // not JSON: accepted below
  }
  return { verdict: "accepted", detail: `200 ${short(text, 120)}` };
}

const describe = (r: FormRequest) =>
  `${r.method} ${short(r.path, 120)} [${r.credential}; defect: ${r.defect}] body ${short(r.body, 200)} headers ${short(r.headers, 200)}`;

/** Mostly form posts, and one in twenty raw bytes that no HTTP client would send. */
function withRaw(ctx: FuzzContext, forms: fc.Arbitrary<FormRequest>): fc.Arbitrary<WebhookInput> {
  return fc.oneof(
    { weight: 19, arbitrary: forms },
    { weight: 1, arbitrary: rawHttpArbitrary(["/inbound_call", "/call_status", "/inbound_call?agent_id=x"]) },
  );
}

function sendWebhook(ctx: FuzzContext, input: WebhookInput): Promise<Outcome> {
  return "kind" in input ? sendRaw(Number(new URL(ctx.webUrl).port), input) : sendForm(ctx, input);
}

const describeWebhook = (input: WebhookInput) => ("kind" in input ? `raw ${short(JSON.stringify(input.bytes), 300)}` : describe(input));

export type WebhookInput = FormRequest | RawRequest;

export function inboundCallDoor(ctx: FuzzContext): Door<WebhookInput> {
  const fields = ["CallSid", "From", "To", "ForwardedFrom", "agent_id", "external_call_id", "AccountSid", "CallStatus", "Direction"];
  return {
    name: "/inbound_call",
    arbitrary: withRaw(ctx, formArbitrary(ctx, inboundBase(ctx), fields, inboundDefects(ctx), inboundRetry(ctx), { accountKeys: true })),
    send: (r) => sendWebhook(ctx, r),
    describe: describeWebhook,
  };
}

export function callStatusDoor(ctx: FuzzContext): Door<FormRequest> {
  const fields = ["CallSid", "CallStatus", "CallDuration", "AccountSid", "SequenceNumber", "Timestamp"];
  return {
    name: "/call_status",
    arbitrary: formArbitrary(ctx, statusBase(ctx), fields, statusDefects(), statusRetry(ctx), { accountKeys: false }),
    send: (r) => sendForm(ctx, r),
    describe,
  };
}

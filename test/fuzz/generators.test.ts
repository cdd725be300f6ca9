// The fuzz suite's inputs are hostile by construction: checked here, without servers, against the
// web process's own parsers, Twilio's signature algorithm and graphql-js with the committed
// schema, so `npm run fuzz` can count any write or success as the system's fault.
import { readFileSync } from "node:fs";
import { expect } from "chai";
import fc from "fast-check";
import { buildSchema, getOperationAST, getVariableValues, parse, validate, type DocumentNode } from "graphql";
import twilio from "twilio";
import { assertFormContentType, parseForm } from "../../api/lib/form-body.js";
import { parseCallStatusParams } from "../../api/voice/call-status.params.js";
import { parseInboundParams } from "../../api/voice/inbound-call.params.js";
import { parseTwilioMessage } from "../../media-worker/protocol/inbound.js";
import { signStreamToken, verifyStreamToken } from "../../schema/infra/stream-token.js";
import type { FuzzContext } from "./context.js";
import { formFields, type FormRequest } from "./form.js";
import { graphqlArbitrary, type GqlInput } from "./graphql.door.js";
import { mediaSocketDoor } from "./media.door.js";
import { callStatusDoor, inboundCallDoor } from "./webhooks.door.js";

const SECRET = "generator-test-stream-secret";
const id = (n: number) => n.toString(16).padStart(24, "0");
const ctx: FuzzContext = {
  webUrl: "http://127.0.0.1:1",
  publicBaseUrl: "http://127.0.0.1:1",
  authToken: "generator-test-auth-token",
  mediaUrl: "ws://127.0.0.1:2",
  mediaPublicUrl: "wss://media.example.com",
  adminKey: "generator-test-admin-key-000000",
  revokedKey: "c247_revoked",
  accounts: [0, 1].map((i) => ({
    accountId: id(i + 1),
    agentId: id(i + 3),
    phoneNumberId: id(i + 5),
    number: `+1555000000${i}`,
    forwardingNumber: `+1555111111${i}`,
    key: `c247_key${i}`,
    apiKeyId: id(i + 7),
  })),
  calls: [0, 1].map((i) => {
    const callId = id(i + 9);
    const callSid = `CA${String(i).repeat(32)}`;
    const token = signStreamToken(SECRET, {
      callId,
      callSid,
      accountId: id(i + 1),
      agentId: id(i + 3),
      ratePerMinuteMicros: 150_000,
      expiresAtSec: 4_000_000_000,
    });
    return {
      callId,
      callSid,
      accountSid: `AC${"2".repeat(32)}`,
      account: i,
      token,
      customParameters: { callId, agentId: id(i + 3), token },
    };
  }),
  // Routed to accounts or agents that refuse calls: not among `accounts`, so never routable here.
  refusing: [
    { number: "+15552220000", why: "no balance" },
    { number: "+15552220001", why: "account suspended" },
  ],
};
const RUNS = 1_500;
/** Credentials each door accepts; /call_status refuses account keys (FORBIDDEN). */
const GOOD_WEBHOOK_CREDENTIALS = {
  inbound: new Set(["good-signature", "admin-key", "own-account-key"]),
  status: new Set(["good-signature", "admin-key"]),
};
const keys = new Set([ctx.adminKey, ...ctx.accounts.map((a) => a.key)]);
const bearerOf = (h: Record<string, string>) => /^Bearer\s+(\S+)\s*$/i.exec(h.authorization ?? "")?.[1] ?? null;

/** Why the web process must refuse this webhook before it changes anything, or null when it might accept it. */
function webhookRefusal(r: FormRequest, door: "inbound" | "status"): string | null {
  if (r.method !== "POST") return "method";
  try {
    assertFormContentType(r.headers["content-type"]);
  } catch {
    return "content type";
  }
  if (Buffer.byteLength(r.body) > 32 * 1024) return "size";
  let body, query;
  try {
    body = parseForm(r.body);
    query = parseForm(r.path.split("?")[1] ?? "");
  } catch {
    return "form";
  }
  const key = bearerOf(r.headers);
  const signature = r.headers["x-twilio-signature"];
  const authenticated = r.headers.authorization
    ? key !== null && keys.has(key)
    : !!signature && twilio.validateRequest(ctx.authToken, signature, ctx.publicBaseUrl + r.path, formFields(r.body));
  if (!authenticated) return "credential";
  const scope = ctx.accounts.findIndex((a) => a.key === key);
  if (door === "status" && scope >= 0) return "account key";
  try {
    if (door === "status") {
      const p = parseCallStatusParams(body);
      return ctx.calls.some((c) => c.callSid === p.callSid) ? null : "unknown call";
    }
    const p = parseInboundParams(body, query);
    const routable = ctx.accounts.some(
      (a, i) =>
        (scope < 0 || scope === i) &&
        (a.agentId === p.agentId || (p.agentId === null && (a.number === p.to || a.forwardingNumber === p.forwardedFrom))),
    );
    return routable ? null : "routes nowhere";
  } catch {
    return "params";
  }
}

const schema = buildSchema(readFileSync(new URL("../../../schema/schema.graphql", import.meta.url), "utf8"));

/** Why graphql-js (or, for the listed cases, the resolvers) must refuse the operation, or null. */
function graphqlRefusal(input: GqlInput): string | null {
  if (input.method !== "POST" || input.headers["content-type"] !== "application/json") return "transport";
  if (Buffer.byteLength(input.body!) > 256 * 1024) return "size";
  let payload: { query?: unknown; variables?: unknown; operationName?: string };
  try {
    payload = JSON.parse(input.body!) as typeof payload;
  } catch {
    return "not JSON";
  }
  const key = bearerOf(input.headers);
  if (key === null || !keys.has(key)) return "credential";
  if (Array.isArray(payload) || typeof payload.query !== "string") return "payload";
  if (payload.variables !== undefined && (typeof payload.variables !== "object" || Array.isArray(payload.variables))) return "variables";
  let doc: DocumentNode;
  try {
    doc = parse(payload.query);
  } catch {
    return "syntax";
  }
  if (validate(schema, doc).length) return "validation";
  const op = getOperationAST(doc, payload.operationName);
  if (!op) return "operation";
  const coerced = getVariableValues(schema, op.variableDefinitions ?? [], (payload.variables ?? {}) as Record<string, unknown>);
  if (coerced.errors) return "variables";
  // Left to the resolvers, and only for these defects: an id that is not the caller's, or an admin-only mutation.
  const idArg = /(?:^|; )(\w+) not an id of the caller's/.exec(input.defect)?.[1];
  if (idArg) {
    const account = ctx.accounts.find((a) => a.key === key);
    const own = (account ? [account] : ctx.accounts).flatMap((a) => [a.accountId, a.agentId, a.phoneNumberId, a.apiKeyId]);
    const value = String((payload.variables as Record<string, unknown>)[idArg]);
    return own.includes(value) ? null : "id";
  }
  const documented = /documented limit ([\w.]+): (.*?)(?: \(x\d+ under aliases\))?$/.exec(input.defect);
  if (documented)
    return violatesLimit(payload.variables as Record<string, unknown>, documented[1]!.split("."), documented[2]!)
      ? "documented limit"
      : null;
  if (
    /admin-only/.test(input.defect) &&
    /^Admin keys only/.test(schema.getMutationType()!.getFields()[input.field]!.description ?? "") &&
    key !== ctx.adminKey
  )
    return "admin only";
  return null;
}

/** Every value at `path`, through the lists on the way (input.intents.reply: each intent's reply). */
function valuesAt(root: unknown, path: string[]): unknown[] {
  if (path.length === 0) return [root];
  if (Array.isArray(root)) return root.flatMap((r) => valuesAt(r, path));
  if (root === null || typeof root !== "object") return [];
  return valuesAt((root as Record<string, unknown>)[path[0]!], path.slice(1));
}

/** The value at `path` breaks the limit the label names (checked here, not trusted). */
function violatesLimit(variables: Record<string, unknown>, path: string[], what: string): boolean {
  const values = valuesAt(variables, path);
  // A list of scalars is judged by its items, except for its own length.
  const items = values.flat();
  const n = (re: RegExp) => Number(re.exec(what)![1]!.replace(/,/g, ""));
  if (/more than [\d,]+ items/.test(what)) return values.some((v) => Array.isArray(v) && v.length > n(/more than ([\d,]+)/));
  if (/more than [\d,]+ characters/.test(what))
    return items.some((v) => typeof v === "string" && v.trim().length > n(/more than ([\d,]+)/));
  if (/blank/.test(what)) return items.some((v) => typeof v === "string" && v.trim() === "");
  if (/not E\.164/.test(what)) return items.some((v) => typeof v === "string" && !/^\+[1-9]\d{1,14}$/.test(v.trim()));
  if (/not a USD amount/.test(what))
    return items.some((v) => typeof v === "string" && (!/^\d{1,13}(\.\d{1,6})?$/.test(v.trim()) || Number(v) === 0));
  const range = /outside ([\d,]+) to ([\d,]+) seconds/.exec(what);
  if (range)
    return items.some((v) => typeof v === "number" && (v < Number(range[1]!.replace(/,/g, "")) || v > Number(range[2]!.replace(/,/g, ""))));
  return false;
}

describe("fuzz suite inputs", () => {
  for (const [name, door, kind] of [
    ["/inbound_call", inboundCallDoor(ctx), "inbound"],
    ["/call_status", callStatusDoor(ctx), "status"],
  ] as const) {
    it(`when ${name} requests are generated, then each is refused by its credential or, with a good one, by its own content`, () => {
      const seen = { credentials: new Set<string>(), defects: new Set<string>(), retries: 0, goodCredentials: 0 };
      for (const input of fc.sample(door.arbitrary, { seed: 7, numRuns: RUNS })) {
        // Raw bytes carry no credential at all.
        if ("kind" in input) continue;
        const r = input;
        seen.credentials.add(r.credential);
        seen.defects.add(r.defect);
        const why = webhookRefusal(r, kind);
        // A repeat of a seeded (ended) call's webhook may be answered, from that call's admission.
        if (r.retryOf) {
          seen.retries++;
          expect(ctx.calls.map((c) => c.callId)).to.include(r.retryOf);
          expect(r.body).to.include(`CallSid=${ctx.calls.find((c) => c.callId === r.retryOf)!.callSid}`);
          continue;
        }
        expect(why, `${r.credential} / ${r.defect}: ${door.describe(r)}`).to.not.equal(null);
        const good = GOOD_WEBHOOK_CREDENTIALS[kind].has(r.credential);
        if (good) seen.goodCredentials++;
        expect(good && why === "credential", `${r.credential} is a good credential, refused as one`).to.equal(false);
      }
      expect(seen.credentials.size).to.be.at.least(12);
      expect(seen.defects.size).to.be.at.least(12);
      // Both branches above were taken: inputs with a good credential, and repeats of seeded calls.
      expect(seen.goodCredentials, "inputs with a good credential").to.be.at.least(RUNS / 20);
      expect(seen.retries, "repeats of a seeded call's webhook").to.be.above(0);
    });
  }

  it("when GraphQL mutations are generated, then graphql-js refuses each, or it names a defect only the resolvers can see", () => {
    const seen = new Set<string>();
    for (const input of fc.sample(graphqlArbitrary(ctx), { seed: 7, numRuns: RUNS })) {
      const why = graphqlRefusal(input);
      seen.add(why ?? "none");
      expect(why, `${input.credential} / ${input.defect}: ${input.body?.slice(0, 300)}`).to.not.equal(null);
    }
    expect([...seen]).to.include.members([
      "transport",
      "credential",
      "syntax",
      "validation",
      "variables",
      "id",
      "admin only",
      "documented limit",
    ]);
  });

  it("when media streams are generated, then every start that verifies carries the token of a seeded (ended) call", () => {
    let starts = 0;
    let verified = 0;
    for (const input of fc.sample(mediaSocketDoor(ctx, 2).arbitrary, { seed: 7, numRuns: RUNS })) {
      if (input.kind !== "socket") continue;
      for (const frame of input.frames) {
        if (typeof frame !== "string") continue;
        const parsed = parseTwilioMessage(frame);
        if (!parsed.ok || parsed.event.kind !== "start") continue;
        starts++;
        const token = parsed.event.customParameters.token ?? "";
        const check = verifyStreamToken(SECRET, token, input.path.slice(1), 0);
        if (!check.ok) continue;
        verified++;
        expect(ctx.calls.map((c) => c.token)).to.include(token);
      }
    }
    expect(starts).to.be.greaterThan(RUNS / 2);
    expect(verified, "starts whose token verifies").to.be.above(0);
  });
});

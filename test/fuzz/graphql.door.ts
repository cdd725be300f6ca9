// The GraphQL mutations door. Mutations come from the committed SDL (schema/schema.graphql), so
// new ones are fuzzed without changes here. A request with a good key always carries a defect
// that makes it invalid by construction (see docs/fuzz.md): a variable or literal graphql-js
// cannot coerce, a missing or unknown argument, a malformed, unknown or other account's id where
// an id is required, an admin-only mutation with an account key, a broken document or transport.
import { readFileSync } from "node:fs";
import fc from "fast-check";
import { buildSchema } from "graphql";
import type { FuzzContext } from "./context.js";
import { errorCode, short, type Door, type Outcome } from "./door.js";
import { argValues, invalidOperation, operation, type Cred, type Field, type Operation } from "./graphql.operations.js";
import type { IdPool } from "./graphql.values.js";
import { clientAddress, deepJsonText, headerSafe, hostileString } from "./hostile.js";

export interface GqlInput {
  method: "POST" | "GET";
  /** "/graphql", with the operation in the query string for GET. */
  path: string;
  headers: Record<string, string>;
  body: string | null;
  field: string;
  credential: string;
  defect: string;
}

const SDL = new URL("../../../schema/schema.graphql", import.meta.url);

/** The mutations of the committed schema. */
export function mutationFields(): Field[] {
  const schema = buildSchema(readFileSync(SDL, "utf8"));
  return Object.values(schema.getMutationType()?.getFields() ?? {});
}

function credentials(ctx: FuzzContext): fc.Arbitrary<Cred> {
  const bearer = (k: string) => ({ authorization: `Bearer ${k}` });
  const bad = (label: string, headers: Record<string, string>): Cred => ({ label, good: false, account: null, headers });
  return fc.oneof(
    fc.constant(bad("none", {})),
    hostileString({ maxHuge: 600 }).map((s) => bad("garbage-key", bearer(headerSafe(s) || "x"))),
    fc.constant(bad("revoked-key", bearer(ctx.revokedKey))),
    fc
      .constantFrom(ctx.adminKey.slice(1), `${ctx.adminKey} `, `${ctx.adminKey}0`)
      .filter((k) => k.trim() !== ctx.adminKey)
      .map((k) => bad("altered-admin-key", bearer(k))),
    fc
      .constantFrom<Record<string, string>>(
        { "x-api-key": ctx.adminKey },
        { authorization: `Basic ${Buffer.from(`admin:${ctx.adminKey}`).toString("base64")}` },
      )
      .map((h) => bad("key-in-the-wrong-place", h)),
    // Good keys weigh more: their requests get past authentication to graphql-js and the resolvers.
    ...ctx.accounts.map((a, i) => ({
      weight: 3,
      arbitrary: fc.constant<Cred>({ label: `account-key-${i}`, good: true, account: i, headers: bearer(a.key) }),
    })),
    { weight: 3, arbitrary: fc.constant<Cred>({ label: "admin-key", good: true, account: null, headers: bearer(ctx.adminKey) }) },
  );
}

/** Transport-level defects: the operation never reaches execution. */
const transports = [
  "json",
  "get",
  "text-plain",
  "batched",
  "not-json",
  "query-not-string",
  "variables-string",
  "too-large",
  "deep-variables",
] as const;
type Transport = (typeof transports)[number];
/** Most requests are well-formed JSON, so they reach graphql-js and the resolvers. */
const transportArb = fc.oneof(
  { weight: 24, arbitrary: fc.constant<Transport>("json") },
  { weight: 8, arbitrary: fc.constantFrom(...transports.slice(1)) },
);

interface Wire {
  headers: Record<string, string>;
  /** Characters of padding for too-large. */
  pad: number;
  /** Deep JSON text and the variables to give it, for deep-variables. */
  deep: string;
  argNames: string[];
}

function request(op: Operation, transport: Transport, w: Wire): Pick<GqlInput, "method" | "path" | "headers" | "body"> {
  const headers = w.headers;
  const json = { "content-type": "application/json", ...headers };
  const payload = { query: op.query, variables: op.variables, ...(op.operationName ? { operationName: op.operationName } : {}) };
  switch (transport) {
    case "get":
      return {
        method: "GET",
        path: `/graphql?${new URLSearchParams({ query: op.query, variables: JSON.stringify(op.variables) }).toString()}`,
        headers: { ...headers, "apollo-require-preflight": "1" },
        body: null,
      };
    case "text-plain":
      return { method: "POST", path: "/graphql", headers: { ...headers, "content-type": "text/plain" }, body: JSON.stringify(payload) };
    case "batched":
      return { method: "POST", path: "/graphql", headers: json, body: JSON.stringify([payload, payload]) };
    case "not-json":
      return { method: "POST", path: "/graphql", headers: json, body: JSON.stringify(payload).slice(0, -1) };
    case "query-not-string":
      return { method: "POST", path: "/graphql", headers: json, body: JSON.stringify({ ...payload, query: { $gt: "" } }) };
    case "variables-string":
      return {
        method: "POST",
        path: "/graphql",
        headers: json,
        body: JSON.stringify({ ...payload, variables: JSON.stringify(op.variables) }),
      };
    case "deep-variables": {
      // Every argument's variable nested deeper than any type: written as text, JSON.stringify would overflow.
      const vars = w.argNames.map((k) => `${JSON.stringify(k)}:${w.deep}`);
      return {
        method: "POST",
        path: "/graphql",
        headers: json,
        body: `{"query":${JSON.stringify(op.query)},"variables":{${vars.join(",")}}}`,
      };
    }
    case "too-large":
      return {
        method: "POST",
        path: "/graphql",
        headers: json,
        body: JSON.stringify({ ...payload, extensions: { pad: "p".repeat(w.pad) } }),
      };
    default:
      return { method: "POST", path: "/graphql", headers: json, body: JSON.stringify(payload) };
  }
}

const transportDefect = (t: Transport) => (t === "json" ? null : `transport ${t}`);

export function graphqlArbitrary(ctx: FuzzContext, fields: Field[] = mutationFields()): fc.Arbitrary<GqlInput> {
  const pool: IdPool = {
    known: [...ctx.accounts.flatMap((a) => [a.accountId, a.agentId, a.phoneNumberId, a.apiKeyId]), ...ctx.calls.map((c) => c.callId)],
  };
  return fc
    .record({
      field: fc.constantFrom(...fields),
      cred: credentials(ctx),
      transport: transportArb,
      xff: clientAddress,
      pad: fc.integer({ min: 270_000, max: 400_000 }),
      deep: deepJsonText,
    })
    .chain(({ field, cred, transport: wanted, xff, pad, deep }) => {
      const args = [...field.args];
      // Deep variables spoil a mutation only when it has arguments to give them to.
      const transport: Transport = wanted === "deep-variables" && args.length === 0 ? "json" : wanted;
      // Bad credentials may send anything, even a well-formed mutation; good ones always carry a defect.
      const op = cred.good
        ? transportDefect(transport)
          ? argValues(args, pool).map((vals) => operation(field, args, vals, { defect: "" }))
          : invalidOperation(ctx, field, cred, pool)
        : fc.oneof(
            argValues(args, pool).map((vals) => operation(field, args, vals, { defect: "-" })),
            invalidOperation(ctx, field, cred, pool),
          );
      return op.map((o) => ({
        ...request(o, transport, { headers: { ...cred.headers, "x-forwarded-for": xff }, pad, deep, argNames: args.map((a) => a.name) }),
        field: field.name,
        credential: cred.label,
        defect: [transportDefect(transport), o.defect].filter(Boolean).join("; ") || "-",
      }));
    });
}

export async function sendGraphql(ctx: FuzzContext, input: GqlInput): Promise<Outcome> {
  try {
    const res = await fetch(ctx.webUrl + input.path, {
      method: input.method,
      headers: input.headers,
      body: input.body ?? undefined,
      signal: AbortSignal.timeout(15_000),
    });
    const text = await res.text();
    const code = errorCode(text);
    if (res.status >= 500) return { verdict: "server-error", detail: `${res.status} ${code}` };
    if (res.status >= 400) return { verdict: "refused", detail: `${res.status} ${code}`.trim() };
    let data: Record<string, unknown> | null | undefined;
    try {
      data = (JSON.parse(text) as { data?: Record<string, unknown> | null }).data;
    } catch {
      return { verdict: "accepted", detail: `${res.status} not JSON` };
    }
    // Any field with data (aliases included) means a mutation ran.
    if (data && Object.values(data).some((v) => v != null))
      return { verdict: "accepted", detail: `${res.status} ${input.field} answered data` };
    return code ? { verdict: "ignored", detail: `${res.status} ${code}` } : { verdict: "accepted", detail: `${res.status} without errors` };
  } catch (err) {
    return { verdict: "transport-error", detail: (err as Error).message };
  }
}

export function graphqlDoor(ctx: FuzzContext): Door<GqlInput> {
  return {
    name: "GraphQL mutations",
    arbitrary: graphqlArbitrary(ctx),
    send: (input) => sendGraphql(ctx, input),
    describe: (i) => `${i.method} ${i.field} [${i.credential}; defect: ${i.defect}] ${short(i.body ?? i.path, 400)}`,
  };
}

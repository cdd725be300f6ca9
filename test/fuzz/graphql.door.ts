// The GraphQL mutations door. Mutations come from the committed SDL (schema/schema.graphql), so
// new ones are fuzzed without changes here. A request with a good key always carries a defect
// that makes it invalid by construction (see docs/fuzz.md): a variable or literal graphql-js
// cannot coerce, a missing or unknown argument, a malformed, unknown or other account's id where
// an id is required, an admin-only mutation with an account key, a broken document or transport.
import { readFileSync } from "node:fs";
import fc from "fast-check";
import { buildSchema, getNamedType, isLeafType, isNonNullType, type GraphQLArgument, type GraphQLField } from "graphql";
import type { FuzzContext } from "./context.js";
import { errorCode, short, type Door, type Outcome } from "./door.js";
import { outsideLimits } from "./graphql.limits.js";
import { wellTyped, defective, defectable, idValue, literal, type IdPool } from "./graphql.values.js";
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

// eslint-disable-next-line @typescript-eslint/no-explicit-any
type Field = GraphQLField<any, any>;
type Cred = { label: string; good: boolean; account: number | null; headers: Record<string, string> };

const SDL = new URL("../../../schema/schema.graphql", import.meta.url);

/** The mutations of the committed schema. */
export function mutationFields(): Field[] {
  const schema = buildSchema(readFileSync(SDL, "utf8"));
  return Object.values(schema.getMutationType()?.getFields() ?? {});
}

const adminOnly = (f: Field) => /^Admin keys only/.test(f.description ?? "");
const required = (a: GraphQLArgument) => isNonNullType(a.type) && a.defaultValue === undefined;
const requiredId = (a: GraphQLArgument) => isNonNullType(a.type) && getNamedType(a.type).name === "ID";
const selection = (f: Field) => (isLeafType(getNamedType(f.type)) ? "" : " { __typename }");

function credentials(ctx: FuzzContext): fc.Arbitrary<Cred> {
  const bearer = (k: string) => ({ authorization: `Bearer ${k}` });
  const bad = (label: string, headers: Record<string, string>): Cred => ({ label, good: false, account: null, headers });
  return fc.oneof(
    fc.constant(bad("none", {})),
    hostileString({ maxHuge: 600 }).map((s) => bad("garbage-key", bearer(headerSafe(s) || "x"))),
    fc.constant(bad("revoked-key", bearer(ctx.revokedKey))),
    fc.constantFrom(ctx.adminKey.slice(1), `${ctx.adminKey} `, `${ctx.adminKey}0`).filter((k) => k.trim() !== ctx.adminKey).map((k) => bad("altered-admin-key", bearer(k))),
    fc.constantFrom<Record<string, string>>({ "x-api-key": ctx.adminKey }, { authorization: `Basic ${Buffer.from(`admin:${ctx.adminKey}`).toString("base64")}` }).map((h) => bad("key-in-the-wrong-place", h)),
    // Good keys weigh more: their requests get past authentication to graphql-js and the resolvers.
    ...ctx.accounts.map((a, i) => ({ weight: 3, arbitrary: fc.constant<Cred>({ label: `account-key-${i}`, good: true, account: i, headers: bearer(a.key) }) })),
    { weight: 3, arbitrary: fc.constant<Cred>({ label: "admin-key", good: true, account: null, headers: bearer(ctx.adminKey) }) },
  );
}

interface Operation {
  query: string;
  variables: Record<string, unknown>;
  operationName?: string;
  defect: string;
}

function operation(f: Field, args: GraphQLArgument[], values: unknown[], opts: { inline?: Set<string>; omitValue?: string; defect: string }): Operation {
  const inline = opts.inline ?? new Set<string>();
  const asVariables = args.filter((a) => !inline.has(a.name));
  const decl = asVariables.length ? `(${asVariables.map((a) => `$${a.name}: ${String(a.type)}`).join(", ")})` : "";
  const call = args.length ? `(${args.map((a, i) => `${a.name}: ${inline.has(a.name) ? literal(values[i]) : `$${a.name}`}`).join(", ")})` : "";
  const variables: Record<string, unknown> = {};
  args.forEach((a, i) => {
    if (!inline.has(a.name) && a.name !== opts.omitValue && values[i] !== undefined) variables[a.name] = values[i];
  });
  return { query: `mutation Fuzz${decl} { ${f.name}${call}${selection(f)} }`, variables, defect: opts.defect };
}

/** Values for every argument; optional ones are sometimes left out (undefined). */
const argValues = (args: GraphQLArgument[], pool: IdPool) =>
  fc.tuple(...args.map((a) => (required(a) ? wellTyped(a.type, pool) : fc.option(wellTyped(a.type, pool), { nil: undefined }))));

/** Operations of `f` that graphql-js or the resolvers must refuse for the credential `cred`. */
function invalidOperation(ctx: FuzzContext, f: Field, cred: Cred, pool: IdPool): fc.Arbitrary<Operation> {
  const args = [...f.args];
  const kinds: fc.Arbitrary<Operation>[] = [argValues(args, pool).map((vals) => withUnknownArgument(f, operation(f, args, vals, { defect: "unknown argument evil_arg" })))];
  const broken = args.filter((a) => defectable(a.type));
  if (broken.length) {
    const withBad = (inline: boolean) =>
      fc.constantFrom(...broken).chain((bad) =>
        fc.tuple(argValues(args, pool), defective(bad.type, pool)).map(([vals, d]) => {
          const values = args.map((a, i) => (a === bad ? d.value : vals[i]));
          return operation(f, args, values, { inline: inline ? new Set(args.map((a) => a.name)) : undefined, defect: `${inline ? "literal" : "variable"} ${bad.name}: ${d.what}` });
        }),
      );
    kinds.push(withBad(false), withBad(false), withBad(true));
  }
  const req = args.filter(required);
  if (req.length) {
    kinds.push(
      fc.tuple(argValues(args, pool), fc.constantFrom(...req)).map(([vals, miss]) => operation(f, args, vals, { omitValue: miss.name, defect: `missing variable ${miss.name}` })),
      fc.tuple(argValues(args, pool), fc.constantFrom(...req)).map(([vals, miss]) => {
        const rest = args.filter((a) => a !== miss);
        return operation(f, rest, rest.map((a) => vals[args.indexOf(a)]), { defect: `missing argument ${miss.name}` });
      }),
    );
  }
  const ids = args.filter(requiredId);
  if (ids.length) {
    const others = cred.account === null ? [] : ctx.accounts.filter((_, i) => i !== cred.account).flatMap((a) => [a.accountId, a.agentId, a.phoneNumberId, a.apiKeyId]);
    const badId = fc.oneof(idValue({ known: [] }), ...(others.length ? [fc.constantFrom(...others)] : [])).filter((id) => !ownIds(ctx, cred).has(String(id)));
    kinds.push(
      fc.tuple(argValues(args, pool), fc.constantFrom(...ids), badId).map(([vals, which, id]) => operation(f, args, args.map((a, i) => (a === which ? id : vals[i])), { defect: `${which.name} not an id of the caller's` })),
    );
  }
  const limited = args.map((a) => ({ arg: a, spoil: outsideLimits(a, pool) })).filter((x) => x.spoil.length);
  if (limited.length) {
    const spoiled = fc.oneof(...limited.map(({ arg, spoil }) => fc.tuple(fc.constant(arg), fc.oneof(...spoil))));
    // Twice the weight: these are the inputs that reach the resolvers' own validation.
    const documented = fc.tuple(argValues(args, pool), spoiled).map(([vals, [which, bad]]) =>
      operation(f, args, args.map((a, i) => (a === which ? bad.value : vals[i])), { defect: `documented limit ${bad.what}` }),
    );
    kinds.push(documented, documented);
  }
  if (adminOnly(f) && cred.account !== null) kinds.push(argValues(args, pool).map((vals) => operation(f, args, vals, { defect: "admin-only mutation with an account key" })));
  // The same spoiled call many times over under aliases: each copy must be refused.
  const aliased = fc.tuple(fc.oneof(...kinds), fc.constantFrom(2, 10, 100, 400)).map(([op, n]) => aliasFlood(op, n));
  return fc.oneof({ weight: 9, arbitrary: fc.oneof(...kinds, brokenDocument(f, args, pool)) }, { weight: 1, arbitrary: aliased });
}

function aliasFlood(op: Operation, n: number): Operation {
  const query = op.query.replace(/\{ (.*) \}$/s, (_m, call: string) => `{ ${Array.from({ length: n }, (_, i) => `a${i}: ${call}`).join(" ")} }`);
  return { ...op, query, defect: `${op.defect} (x${n} under aliases)` };
}

function withUnknownArgument(f: Field, op: Operation): Operation {
  const call = f.args.length ? op.query.replace(`${f.name}(`, `${f.name}(evil_arg: 1, `) : op.query.replace(` ${f.name}`, ` ${f.name}(evil_arg: 1)`);
  return { ...op, query: call };
}

/** Every id an account key may legitimately act on (its own account's), or everything for admin. */
function ownIds(ctx: FuzzContext, cred: Cred): Set<string> {
  const mine = cred.account === null ? ctx.accounts : [ctx.accounts[cred.account]!];
  return new Set(mine.flatMap((a) => [a.accountId, a.agentId, a.phoneNumberId, a.apiKeyId]).concat(ctx.calls.map((c) => c.callId)));
}

/** Documents that do not parse or validate, built around a mutation. */
function brokenDocument(f: Field, args: GraphQLArgument[], pool: IdPool): fc.Arbitrary<Operation> {
  return fc.tuple(argValues(args, pool), fc.nat(), fc.constantFrom(0, 1, 2, 3, 4, 5, 6, 7, 8)).map(([vals, cut, kind]) => {
    const op = operation(f, args, vals, { defect: "" });
    const leaf = selection(f) === "";
    const docs: [string, string, string?][] = [
      [op.query.slice(0, cut % op.query.length), "truncated document"],
      [`mutation { ${"__typename ".repeat(6000)} }`, "more tokens than allowed"],
      [`${op.query}\n${op.query.replace("Fuzz", "Fuzz2")}`, "two operations, no operationName"],
      [op.query, "unknown operationName", "Nope"],
      [op.query.replace(/^mutation/, "query"), "mutation field in a query"],
      [leaf ? op.query.replace(/ \}$/, " { id } }") : op.query.replace(" { __typename }", ""), "wrong selection"],
      [op.query.replace(` ${f.name}`, ` ${f.name}_evil`), "unknown field"],
      [`fragment A on Mutation { ...B } fragment B on Mutation { ...A } ${op.query.replace(/\{ (\w)/, "{ ...A $1")}`, "fragment cycle"],
      [op.query.replace("Fuzz", "Ｆｕｚｚ"), "not a GraphQL name"],
    ];
    const [query, defect, operationName] = docs[kind]!;
    return { query, variables: op.variables, defect, ...(operationName ? { operationName } : {}) };
  });
}

/** Transport-level defects: the operation never reaches execution. */
const transports = ["json", "get", "text-plain", "batched", "not-json", "query-not-string", "variables-string", "too-large", "deep-variables"] as const;
type Transport = (typeof transports)[number];
/** Most requests are well-formed JSON, so they reach graphql-js and the resolvers. */
const transportArb = fc.oneof({ weight: 24, arbitrary: fc.constant<Transport>("json") }, { weight: 8, arbitrary: fc.constantFrom(...transports.slice(1)) });

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
      return { method: "GET", path: `/graphql?${new URLSearchParams({ query: op.query, variables: JSON.stringify(op.variables) })}`, headers: { ...headers, "apollo-require-preflight": "1" }, body: null };
    case "text-plain":
      return { method: "POST", path: "/graphql", headers: { ...headers, "content-type": "text/plain" }, body: JSON.stringify(payload) };
    case "batched":
      return { method: "POST", path: "/graphql", headers: json, body: JSON.stringify([payload, payload]) };
    case "not-json":
      return { method: "POST", path: "/graphql", headers: json, body: JSON.stringify(payload).slice(0, -1) };
    case "query-not-string":
      return { method: "POST", path: "/graphql", headers: json, body: JSON.stringify({ ...payload, query: { $gt: "" } }) };
    case "variables-string":
      return { method: "POST", path: "/graphql", headers: json, body: JSON.stringify({ ...payload, variables: JSON.stringify(op.variables) }) };
    case "deep-variables": {
      // Every argument's variable nested deeper than any type: written as text, JSON.stringify would overflow.
      const vars = w.argNames.map((k) => `${JSON.stringify(k)}:${w.deep}`);
      return { method: "POST", path: "/graphql", headers: json, body: `{"query":${JSON.stringify(op.query)},"variables":{${vars.join(",")}}}` };
    }
    case "too-large":
      return { method: "POST", path: "/graphql", headers: json, body: JSON.stringify({ ...payload, extensions: { pad: "p".repeat(w.pad) } }) };
    default:
      return { method: "POST", path: "/graphql", headers: json, body: JSON.stringify(payload) };
  }
}

const transportDefect = (t: Transport) => (t === "json" ? null : `transport ${t}`);

export function graphqlArbitrary(ctx: FuzzContext, fields: Field[] = mutationFields()): fc.Arbitrary<GqlInput> {
  const pool: IdPool = { known: [...ctx.accounts.flatMap((a) => [a.accountId, a.agentId, a.phoneNumberId, a.apiKeyId]), ...ctx.calls.map((c) => c.callId)] };
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
        : fc.oneof(argValues(args, pool).map((vals) => operation(field, args, vals, { defect: "-" })), invalidOperation(ctx, field, cred, pool));
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
    const res = await fetch(ctx.webUrl + input.path, { method: input.method, headers: input.headers, body: input.body ?? undefined, signal: AbortSignal.timeout(15_000) });
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
    if (data && Object.values(data).some((v) => v != null)) return { verdict: "accepted", detail: `${res.status} ${input.field} answered data` };
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

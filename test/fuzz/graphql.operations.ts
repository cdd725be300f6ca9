// Mutation operations that must be refused, built from the schema: well-typed but hostile values
// with one defect that graphql-js (coercion, validation, parsing) or the resolvers (ids that are
// not the caller's, admin-only mutations, documented limits) refuse before anything is written.
import fc from "fast-check";
import { getNamedType, isLeafType, isNonNullType, type GraphQLArgument, type GraphQLField } from "graphql";
import type { FuzzContext } from "./context.js";
import { outsideLimits } from "./graphql.limits.js";
import { defectable, defective, idValue, literal, wellTyped, type IdPool } from "./graphql.values.js";

export type Field = GraphQLField<any, any>;
/** Who sends it; `account` is the seeded account of an account key, null otherwise. */
export type Cred = { label: string; good: boolean; account: number | null; headers: Record<string, string> };

const adminOnly = (f: Field) => /^Admin keys only/.test(f.description ?? "");
const required = (a: GraphQLArgument) => isNonNullType(a.type) && a.defaultValue === undefined;
const requiredId = (a: GraphQLArgument) => isNonNullType(a.type) && getNamedType(a.type).name === "ID";
const selection = (f: Field) => (isLeafType(getNamedType(f.type)) ? "" : " { __typename }");

export interface Operation {
  query: string;
  variables: Record<string, unknown>;
  operationName?: string;
  defect: string;
}

export function operation(
  f: Field,
  args: GraphQLArgument[],
  values: unknown[],
  opts: { inline?: Set<string>; omitValue?: string; defect: string },
): Operation {
  const inline = opts.inline ?? new Set<string>();
  const asVariables = args.filter((a) => !inline.has(a.name));
  const decl = asVariables.length ? `(${asVariables.map((a) => `$${a.name}: ${String(a.type)}`).join(", ")})` : "";
  const call = args.length
    ? `(${args.map((a, i) => `${a.name}: ${inline.has(a.name) ? literal(values[i]) : `$${a.name}`}`).join(", ")})`
    : "";
  const variables: Record<string, unknown> = {};
  args.forEach((a, i) => {
    if (!inline.has(a.name) && a.name !== opts.omitValue && values[i] !== undefined) variables[a.name] = values[i];
  });
  return { query: `mutation Fuzz${decl} { ${f.name}${call}${selection(f)} }`, variables, defect: opts.defect };
}

/** Values for every argument; optional ones are sometimes left out (undefined). */
export const argValues = (args: GraphQLArgument[], pool: IdPool) =>
  fc.tuple(...args.map((a) => (required(a) ? wellTyped(a.type, pool) : fc.option(wellTyped(a.type, pool), { nil: undefined }))));

/** Operations of `f` that graphql-js or the resolvers must refuse for the credential `cred`. */
export function invalidOperation(ctx: FuzzContext, f: Field, cred: Cred, pool: IdPool): fc.Arbitrary<Operation> {
  const args = [...f.args];
  const kinds: fc.Arbitrary<Operation>[] = [
    argValues(args, pool).map((vals) => withUnknownArgument(f, operation(f, args, vals, { defect: "unknown argument evil_arg" }))),
  ];
  const broken = args.filter((a) => defectable(a.type));
  if (broken.length) {
    const withBad = (inline: boolean) =>
      fc.constantFrom(...broken).chain((bad) =>
        fc.tuple(argValues(args, pool), defective(bad.type, pool)).map(([vals, d]) => {
          const values = args.map((a, i) => (a === bad ? d.value : vals[i]));
          return operation(f, args, values, {
            inline: inline ? new Set(args.map((a) => a.name)) : undefined,
            defect: `${inline ? "literal" : "variable"} ${bad.name}: ${d.what}`,
          });
        }),
      );
    kinds.push(withBad(false), withBad(false), withBad(true));
  }
  const req = args.filter(required);
  if (req.length) {
    kinds.push(
      fc
        .tuple(argValues(args, pool), fc.constantFrom(...req))
        .map(([vals, miss]) => operation(f, args, vals, { omitValue: miss.name, defect: `missing variable ${miss.name}` })),
      fc.tuple(argValues(args, pool), fc.constantFrom(...req)).map(([vals, miss]) => {
        const rest = args.filter((a) => a !== miss);
        return operation(
          f,
          rest,
          rest.map((a) => vals[args.indexOf(a)]),
          { defect: `missing argument ${miss.name}` },
        );
      }),
    );
  }
  const ids = args.filter(requiredId);
  if (ids.length) {
    const others =
      cred.account === null
        ? []
        : ctx.accounts.filter((_, i) => i !== cred.account).flatMap((a) => [a.accountId, a.agentId, a.phoneNumberId, a.apiKeyId]);
    const badId = fc
      .oneof(idValue({ known: [] }), ...(others.length ? [fc.constantFrom(...others)] : []))
      .filter((id) => !ownIds(ctx, cred).has(String(id)));
    kinds.push(
      fc.tuple(argValues(args, pool), fc.constantFrom(...ids), badId).map(([vals, which, id]) =>
        operation(
          f,
          args,
          args.map((a, i) => (a === which ? id : vals[i])),
          { defect: `${which.name} not an id of the caller's` },
        ),
      ),
    );
  }
  const limited = args.map((a) => ({ arg: a, spoil: outsideLimits(a, pool) })).filter((x) => x.spoil.length);
  if (limited.length) {
    const spoiled = fc.oneof(...limited.map(({ arg, spoil }) => fc.tuple(fc.constant(arg), fc.oneof(...spoil))));
    // Twice the weight: these are the inputs that reach the resolvers' own validation.
    const documented = fc.tuple(argValues(args, pool), spoiled).map(([vals, [which, bad]]) =>
      operation(
        f,
        args,
        args.map((a, i) => (a === which ? bad.value : vals[i])),
        { defect: `documented limit ${bad.what}` },
      ),
    );
    kinds.push(documented, documented);
  }
  if (adminOnly(f) && cred.account !== null)
    kinds.push(argValues(args, pool).map((vals) => operation(f, args, vals, { defect: "admin-only mutation with an account key" })));
  // The same spoiled call many times over under aliases: each copy must be refused.
  const aliased = fc.tuple(fc.oneof(...kinds), fc.constantFrom(2, 10, 100, 400)).map(([op, n]) => aliasFlood(op, n));
  return fc.oneof({ weight: 9, arbitrary: fc.oneof(...kinds, brokenDocument(f, args, pool)) }, { weight: 1, arbitrary: aliased });
}

function aliasFlood(op: Operation, n: number): Operation {
  const query = op.query.replace(
    /\{ (.*) \}$/s,
    (_m, call: string) => `{ ${Array.from({ length: n }, (_, i) => `a${i}: ${call}`).join(" ")} }`,
  );
  return { ...op, query, defect: `${op.defect} (x${n} under aliases)` };
}

function withUnknownArgument(f: Field, op: Operation): Operation {
  const call = f.args.length
    ? op.query.replace(`${f.name}(`, `${f.name}(evil_arg: 1, `)
    : op.query.replace(` ${f.name}`, ` ${f.name}(evil_arg: 1)`);
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

// Values for GraphQL input types, read from the schema: well-typed but hostile ones (huge and odd
// text, edge integers, ids of all sorts), and defective ones that graphql-js cannot coerce to the
// type (wrong JSON type, operator objects, null for non-null, unknown or missing fields), which
// are refused before any resolver runs.
import fc from "fast-check";
import { isEnumType, isInputObjectType, isListType, isNonNullType, isScalarType, type GraphQLInputType } from "graphql";
import { hostileString, operatorObject } from "./hostile.js";

/** Ids a hostile client may try: malformed ones, fresh ones, and the seeded data's. */
export interface IdPool {
  known: string[];
}

const INT_EDGES = [0, -1, 1, 2 ** 31 - 1, -(2 ** 31), 10, 14_400, 3600];
const objectIdArb = fc.array(fc.integer({ min: 0, max: 255 }), { minLength: 12, maxLength: 12 }).map((b) => Buffer.from(b).toString("hex"));

/** Malformed ids, fresh (unknown) ids, and ids that exist. */
export function idValue(pool: IdPool): fc.Arbitrary<string | number> {
  return fc.oneof(
    hostileString({ maxHuge: 200 }),
    objectIdArb,
    ...(pool.known.length ? [fc.constantFrom(...pool.known)] : []),
    fc.integer(),
  );
}

/** A value that coerces to `type`; `depth` bounds nested input objects. */
export function wellTyped(type: GraphQLInputType, pool: IdPool, depth = 0): fc.Arbitrary<unknown> {
  if (isNonNullType(type)) return wellTypedNamed(type.ofType, pool, depth);
  if (depth > 4) return fc.constant(null);
  return fc.oneof({ weight: 1, arbitrary: fc.constant(null) }, { weight: 4, arbitrary: wellTypedNamed(type, pool, depth) });
}

function wellTypedNamed(type: GraphQLInputType, pool: IdPool, depth: number): fc.Arbitrary<unknown> {
  if (isNonNullType(type)) return wellTypedNamed(type.ofType, pool, depth);
  if (isListType(type)) return fc.array(wellTyped(type.ofType, pool, depth + 1), { maxLength: 4 });
  if (isEnumType(type)) return fc.constantFrom(...type.getValues().map((v) => v.name));
  if (isInputObjectType(type)) {
    const fields = Object.values(type.getFields());
    const required = fields.filter((f) => isNonNullType(f.type) && f.defaultValue === undefined);
    const optional = fields.filter((f) => !required.includes(f));
    return fc
      .tuple(
        fc.tuple(...required.map((f) => wellTyped(f.type, pool, depth + 1))),
        fc.tuple(...optional.map((f) => fc.option(wellTyped(f.type, pool, depth + 1), { nil: undefined }))),
      )
      .map(([req, opt]) => {
        const out: Record<string, unknown> = {};
        required.forEach((f, i) => (out[f.name] = req[i]));
        optional.forEach((f, i) => opt[i] !== undefined && (out[f.name] = opt[i]));
        return out;
      });
  }
  switch (type.name) {
    case "String":
      return hostileString({ maxHuge: 20_001 });
    case "ID":
      return idValue(pool);
    case "Int":
      return fc.oneof(fc.constantFrom(...INT_EDGES), fc.integer({ min: -(2 ** 31), max: 2 ** 31 - 1 }));
    case "Float":
      return fc.double({ noNaN: true, noDefaultInfinity: true });
    case "Boolean":
      return fc.boolean();
    case "DateTimeISO":
      return fc.date({ noInvalidDate: true, min: new Date("1970-01-01"), max: new Date("2100-01-01") }).map((d) => d.toISOString());
    default:
      // A scalar the suite does not know: a string is the likeliest to fit.
      return fc.string();
  }
}

/** The smallest plain value of `type` (required fields only), distinct per `i`. */
export function minimalValue(type: GraphQLInputType, i: number): unknown {
  if (isNonNullType(type)) return minimalValue(type.ofType, i);
  if (isListType(type)) return [minimalValue(type.ofType, i)];
  if (isEnumType(type)) return type.getValues()[0]!.name;
  if (isInputObjectType(type)) {
    const out: Record<string, unknown> = {};
    for (const f of Object.values(type.getFields()))
      if (isNonNullType(f.type) && f.defaultValue === undefined) out[f.name] = minimalValue(f.type, i);
    return out;
  }
  switch (type.name) {
    case "Int":
    case "Float":
      return 1;
    case "Boolean":
      return false;
    case "ID":
      return i.toString(16).padStart(24, "0");
    default:
      return `w${i}`;
  }
}

/** Whether a value of this type can be made defective (custom scalars may accept anything). */
export function defectable(type: GraphQLInputType): boolean {
  if (isNonNullType(type)) return true;
  if (isListType(type)) return defectable(type.ofType);
  if (isScalarType(type)) return KNOWN_SCALARS.includes(type.name);
  return true;
}

const KNOWN_SCALARS = ["String", "ID", "Int", "Float", "Boolean", "DateTimeISO"];

/** A value graphql-js refuses for `type`, with a label saying what is wrong with it. */
export function defective(type: GraphQLInputType, pool: IdPool, depth = 0): fc.Arbitrary<{ value: unknown; what: string }> {
  const v = (what: string) => (value: unknown) => ({ value, what });
  if (isNonNullType(type)) {
    return fc.oneof(fc.constant({ value: null, what: "null for a non-null type" }), defective(type.ofType, pool, depth));
  }
  if (isListType(type)) {
    return fc.oneof(
      defective(type.ofType, pool, depth + 1).map(({ value, what }) => ({ value: [value], what: `list item: ${what}` })),
      defective(type.ofType, pool, depth + 1),
    );
  }
  if (isEnumType(type)) {
    const names = new Set(type.getValues().map((x) => x.name));
    return fc.oneof(
      fc
        .oneof(hostileString({ maxHuge: 100 }), fc.constantFrom(...[...names].map((n) => n.toLowerCase())))
        .filter((s) => !names.has(s))
        .map(v("unknown enum value")),
      fc.oneof(fc.integer(), operatorObject).map(v("enum of the wrong JSON type")),
    );
  }
  if (isInputObjectType(type)) {
    const fields = Object.values(type.getFields());
    const required = fields.filter((f) => isNonNullType(f.type) && f.defaultValue === undefined);
    const broken = fields.filter((f) => defectable(f.type));
    const options: fc.Arbitrary<{ value: unknown; what: string }>[] = [
      fc.oneof(hostileString({ maxHuge: 100 }), fc.integer(), fc.constant(true)).map(v(`${type.name} of the wrong JSON type`)),
      fc
        .tuple(wellTyped(type, pool, depth), operatorObject)
        .map(([base, op]) => ({ value: { ...(base as object), ...op }, what: "operator fields in an input object" })),
      fc
        .tuple(wellTyped(type, pool, depth), fc.constantFrom("__proto__x", "$where", "admin", "accountId_"))
        .map(([base, k]) => ({ value: { ...(base as object), [k]: 1 }, what: `unknown field ${k}` })),
    ];
    if (required.length) {
      options.push(
        fc.tuple(wellTyped(type, pool, depth), fc.constantFrom(...required)).map(([base, f]) => {
          const copy = { ...(base as Record<string, unknown>) };
          delete copy[f.name];
          return { value: copy, what: `missing ${type.name}.${f.name}` };
        }),
      );
    }
    if (broken.length && depth < 4) {
      options.push(
        fc.constantFrom(...broken).chain((f) =>
          fc.tuple(wellTyped(type, pool, depth), defective(f.type, pool, depth + 1)).map(([base, bad]) => ({
            value: { ...(base as object), [f.name]: bad.value },
            what: `${type.name}.${f.name}: ${bad.what}`,
          })),
        ),
      );
    }
    return fc.oneof(...options);
  }
  switch (type.name) {
    case "String":
      return fc
        .oneof(operatorObject, fc.integer(), fc.boolean(), fc.constant([{}]), fc.double({ noNaN: true, noDefaultInfinity: true }))
        .map(v("String of the wrong JSON type"));
    case "ID":
      return fc
        .oneof(operatorObject, fc.boolean(), fc.constantFrom(1.5, -0.5, 0.1), fc.constant([{ $gt: "" }]))
        .map(v("ID of the wrong JSON type"));
    case "Int":
      return fc
        .oneof(fc.constantFrom("1", "", 1.5, 2 ** 31, -(2 ** 31) - 1, 2 ** 53, 1e300), fc.boolean(), operatorObject)
        .map(v("Int out of range or of the wrong type"));
    case "Float":
      return fc.oneof(fc.constantFrom("1.5", "NaN", ""), fc.boolean(), operatorObject).map(v("Float of the wrong type"));
    case "Boolean":
      return fc.oneof(fc.constantFrom<unknown>("true", 1, 0, "false"), operatorObject).map(v("Boolean of the wrong type"));
    default:
      return fc.oneof(operatorObject, fc.constant("not a date"), fc.constant([1, 2])).map(v(`${type.name} that does not parse`));
  }
}

/** A GraphQL literal for a JSON value; object keys become names (graphql refuses what is not). */
export function literal(value: unknown): string {
  if (value === null || value === undefined) return "null";
  if (typeof value === "string") return JSON.stringify(value);
  if (typeof value === "number" || typeof value === "boolean") return String(value);
  if (Array.isArray(value)) return `[${value.map(literal).join(", ")}]`;
  const entries = Object.entries(value as Record<string, unknown>).map(
    ([k, x]) => `${k.replace(/[^_0-9A-Za-z]/g, "_").replace(/^(\d)/, "_$1") || "_"}: ${literal(x)}`,
  );
  return `{${entries.join(", ")}}`;
}

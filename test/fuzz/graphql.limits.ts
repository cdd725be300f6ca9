// Values of the right GraphQL type that the schema's own descriptions rule out: more characters
// than "up to N characters", seconds outside "A to B seconds", numbers that are not E.164, money
// that is not a USD decimal string, longer lists than "at most N". They reach the resolvers, which
// must refuse them. New fields documented the same way are covered without changes here.
import fc from "fast-check";
import { GraphQLNonNull, getNullableType, isInputObjectType, isListType, type GraphQLInputType } from "graphql";
import { minimalValue, wellTyped, type IdPool } from "./graphql.values.js";
import { UNICODE_EDGES } from "./hostile.js";

export interface Documented {
  name: string;
  description?: string | null | undefined;
  type: GraphQLInputType;
}

export type Spoiled = { value: unknown; what: string };

const num = (s: string) => Number(s.replace(/,/g, ""));
const E164 = /^\+[1-9]\d{1,14}$/;
const USD = /^\d{1,13}(?:\.\d{1,6})?$/;

const NOT_E164 = [
  "14155550100",
  "+0123456",
  "+1 415 555 0100",
  "+1-415-555-0100",
  "+1234567890123456",
  "+",
  "＋14155550100",
  "+١٤١٥٥٥٥٠١٠٠",
  "tel:+14155550100",
  "+1415555\u200B0100",
  ...UNICODE_EDGES,
].filter((s) => !E164.test(s.trim()));
const NOT_USD = [
  "-1",
  "-0.01",
  "1e3",
  "0x10",
  "1,000",
  "NaN",
  "Infinity",
  "",
  " ",
  "1.0000001",
  "99999999999999",
  "١٢",
  "１２",
  "+5",
  ".5",
  "5.",
  "$5",
  "5 USD",
  '{"$gt":""}',
].filter((s) => !USD.test(s.trim()));

/** What the description rules out for a scalar (or a list of scalars), or null. */
function scalarLimits(f: Documented): fc.Arbitrary<Spoiled>[] {
  const d = f.description ?? "";
  const type = getNullableType(f.type);
  const list = isListType(type);
  const named = list ? getNullableType(type.ofType) : type;
  if (isInputObjectType(named) || isListType(named)) return [];
  const out: fc.Arbitrary<Spoiled>[] = [];
  const item =
    (what: string) =>
    (v: unknown): Spoiled => ({ value: list ? ["ok", v] : v, what: `${f.name}: ${what}` });
  const chars = /(?:(\d[\d,]*) to |up to |at most )(\d[\d,]*) characters/i.exec(d);
  if (chars && named.name === "String") {
    const max = num(chars[2]!);
    const min = chars[1] ? num(chars[1]) : 0;
    out.push(fc.integer({ min: 1, max: 500 }).map((extra) => item(`more than ${max} characters`)("a".repeat(max + extra))));
    if (min >= 1 && !list) out.push(fc.constantFrom("", "   ", "\u3000").map(item("blank, under the minimum")));
  }
  const seconds = /(\d[\d,]*) to (\d[\d,]*) seconds/i.exec(d);
  if (seconds && named.name === "Int") {
    const max = num(seconds[2]!);
    out.push(
      fc.oneof(fc.integer({ min: max + 1, max: 2 ** 31 - 1 }), fc.integer({ min: -(2 ** 31), max: -1 })).map(item(`outside ${seconds[0]}`)),
    );
  }
  if (/E\.164/.test(d) && named.name === "String") out.push(fc.constantFrom(...NOT_E164).map(item("not E.164")));
  if (/USD decimal string/.test(d) && named.name === "String") {
    const positive = /more than 0/.test(d) ? ["0", "0.000000", "00"] : [];
    out.push(fc.constantFrom(...NOT_USD, ...positive).map(item("not a USD amount")));
  }
  return out;
}

/** Lists longer than the description's "at most N" / "up to N" (the items themselves well-typed). */
function countLimits(f: Documented): fc.Arbitrary<Spoiled>[] {
  const type = getNullableType(f.type);
  if (!isListType(type)) return [];
  const m = /(?:at most|up to|1 to) (\d[\d,]*)(?! characters| seconds)(?:[;.,]| phrases| numbers|$)/i.exec(f.description ?? "");
  if (!m) return [];
  const max = num(m[1]!);
  const itemType = type.ofType;
  const e164 = /E\.164/.test(f.description ?? "");
  // Small, distinct, valid-looking items, so the only fault is their number.
  const value = Array.from({ length: max + 1 }, (_, i) => (e164 ? `+1415555${String(i).padStart(4, "0")}` : minimalValue(itemType, i)));
  return [fc.constant({ value, what: `${f.name}: more than ${max} items` })];
}

/** Values `f` may not take by its description: the field itself, or one field inside it. */
export function outsideLimits(f: Documented, pool: IdPool, depth = 0): fc.Arbitrary<Spoiled>[] {
  const own = [...scalarLimits(f), ...countLimits(f)];
  const type = getNullableType(f.type);
  const list = isListType(type);
  const named = list ? getNullableType(type.ofType) : type;
  if (!isInputObjectType(named) || depth > 2) return own;
  const inner = Object.values(named.getFields()).flatMap((field) =>
    outsideLimits(field, pool, depth + 1).map((bad) =>
      fc.tuple(wellTyped(new GraphQLNonNull(named), pool, depth + 1), bad).map(([base, b]) => {
        const value = { ...(base as Record<string, unknown>), [field.name]: b.value };
        return { value: list ? [value] : value, what: `${f.name}.${b.what}` };
      }),
    ),
  );
  return [...own, ...inner];
}

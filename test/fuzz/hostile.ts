// Hostile values shared by every door of the fuzz suite: text that is too long, malformed or
// ambiguous in Unicode, text that looks like code or query operators, JSON values of the wrong
// type, operator objects and deeply nested values.
import fc from "fast-check";

/** Unicode that parsers, normalizers and databases tend to get wrong. */
export const UNICODE_EDGES = [
  "\u0000",
  "\u202Eevil", // right-to-left override
  "a\u200Bb", // zero-width space
  "\uFEFFbom",
  "e\u0301", // combining accent
  "👩‍👩‍👧‍👦",
  "\uD800", // lone high surrogate
  "\uDFFF", // lone low surrogate
  "１２３", // fullwidth digits
  "٣٤", // Arabic-Indic digits
  "ﬁ", // ligature that NFKC turns into "fi"
  "İı",
  "\u0085", // next line
  "\u2028\u2029", // line and paragraph separators
  "\uFFFD",
  "\uFFFE\uFFFF", // non-characters
  "\u{10FFFF}",
  "Z̴̡̧̛̗̦̰̫͈̲̬̜̭͕͓̄̔̂̓̉͛͗̚͠a̷̧̢̛̮̰̮̹̱̲̮̎̀̈́̈̓͗̂̀̚ĺ̸̡̛̪̞̪̼̲̯̱̫̫̀̏̎̀̅̕͝g̵̡̨̧̛̱̬̣̤̫͕̣̓͌͑̃̈́̉̑̓̾̚o̶",
  "\t\r\n",
  "\u0001\u001F\u007F",
];

/** Text that means something to a database, a template, a shell or a parser. */
export const INJECTIONS = [
  '{"$gt":""}',
  '{"$ne":null}',
  "$where",
  "'; DROP TABLE calls; --",
  "<Response><Say>pwned</Say></Response>",
  "]]><x>",
  "&amp;&lt;",
  "%00",
  "%ZZ",
  "../../etc/passwd",
  "__proto__",
  "constructor",
  "prototype",
  "toString",
  "hasOwnProperty",
  "NaN",
  "Infinity",
  "-0",
  "1e309",
  "0x1F",
  "null",
  "undefined",
  "true",
  "[object Object]",
  "${7*7}",
  "{{7*7}}",
  "c247:{call:000000000000000000000000}:admission",
];

/** Lengths around the limits the code enforces (field caps, body caps), and far beyond them. */
const SIZES = [63, 64, 65, 100, 101, 200, 201, 500, 1000, 1001, 1024, 1025, 4096, 20_000, 20_001, 33_000, 70_000];

/** One character repeated to a length at or beyond a limit. */
export const hugeString = fc
  .tuple(fc.constantFrom("a", "9", "é", "💥", " ", "%", "\u200B"), fc.constantFrom(...SIZES))
  .map(([c, n]) => c.repeat(n));

/** Any hostile text; `maxHuge` bounds the huge ones (a body cap may matter to the caller). */
export function hostileString(opts: { maxHuge?: number } = {}): fc.Arbitrary<string> {
  const max = opts.maxHuge ?? 70_000;
  return fc.oneof(
    fc.constantFrom(...UNICODE_EDGES),
    fc.constantFrom(...INJECTIONS),
    fc.string({ unit: "binary", maxLength: 40 }),
    fc.string({ unit: "binary-ascii", maxLength: 40 }),
    fc.string({ unit: "grapheme", maxLength: 20 }),
    fc.constantFrom("", " ", "   "),
    hugeString.filter((s) => s.length <= max),
    fc.tuple(fc.constantFrom(...INJECTIONS), fc.constantFrom(...UNICODE_EDGES)).map(([a, b]) => a + b),
  );
}

/** Query operator objects and prototype tricks, as a JSON client can send them anywhere. */
export const operatorObject: fc.Arbitrary<Record<string, unknown>> = fc.oneof(
  fc.constant({ $gt: "" }),
  fc.constant({ $ne: null }),
  fc.constant({ $in: ["a", "b"] }),
  fc.constant({ $regex: ".*" }),
  fc.constant({ $where: "sleep(1000)" }),
  fc.constant({ $expr: { $eq: [1, 1] } }),
  fc.constant(JSON.parse('{"__proto__":{"admin":true}}') as Record<string, unknown>),
  fc.constant({ constructor: { prototype: { admin: true } } }),
  fc.dictionary(fc.constantFrom("$gt", "$lt", "$ne", "$exists", "$or"), fc.jsonValue({ maxDepth: 2 }), { minKeys: 1, maxKeys: 3 }),
);

/** Arrays or objects nested up to 1,000 deep (deeper ones only as text: see deepJsonText). */
export const deepValue: fc.Arbitrary<unknown> = fc.tuple(fc.constantFrom(10, 100, 1000), fc.boolean()).map(([depth, asArray]) => {
  let v: unknown = "x";
  for (let i = 0; i < depth; i++) v = asArray ? [v] : { a: v };
  return v;
});

/** JSON text nested far deeper than JSON.stringify can write (it would overflow the stack). */
export const deepJsonText: fc.Arbitrary<string> = fc
  .tuple(fc.constantFrom(5_000, 20_000, 30_000), fc.boolean())
  .map(([depth, asArray]) => (asArray ? `${"[".repeat(depth)}${"]".repeat(depth)}` : `${'{"a":'.repeat(depth)}1${"}".repeat(depth)}`));

/** Any JSON value of a hostile sort: wrong types, operators, deep nesting, huge or odd text. */
export const hostileJson: fc.Arbitrary<unknown> = fc.oneof(
  operatorObject,
  deepValue,
  hostileString({ maxHuge: 20_001 }),
  fc.constantFrom(null, true, false, 0, -1, 1.5, 2 ** 31, -(2 ** 31) - 1, 2 ** 53 + 1, 1e308, -0),
  fc.array(fc.jsonValue({ maxDepth: 2 }), { maxLength: 5 }),
  fc.jsonValue({ maxDepth: 3 }),
);

/** A client address for X-Forwarded-For: mostly distinct addresses, sometimes a hostile header. */
export const clientAddress: fc.Arbitrary<string> = fc.oneof(
  { weight: 8, arbitrary: fc.ipV4() },
  { weight: 1, arbitrary: fc.ipV6() },
  {
    weight: 1,
    arbitrary: fc.oneof(
      hostileString({ maxHuge: 4096 }).map(headerSafe),
      fc.array(fc.ipV4(), { minLength: 2, maxLength: 50 }).map((a) => a.join(", ")),
    ),
  },
);

/** Header values must be ISO-8859-1 without CR/LF for fetch to send them at all. */
export function headerSafe(value: string): string {
  return value.replace(/[^\x20-\x7E\x80-\xFF\t]/g, "?");
}

/**
 * The recognition grammar of an agent, built from its intent and end-call phrases. Pure: the
 * recognizer writes these texts to files for PocketSphinx.
 */

/** Words of a normalized phrase. */
export const phraseWords = (phrase: string): string[] => phrase.split(" ").filter(Boolean);

/** A JSGF grammar that accepts exactly one of `phrases` per utterance. */
export function buildJsgf(phrases: readonly string[]): string {
  if (phrases.length === 0) throw new RangeError("a grammar needs at least one phrase");
  const alternatives = phrases.map((p) => `( ${phraseWords(p).join(" ")} )`).join("\n  | ");
  return `#JSGF V1.0;\ngrammar call;\npublic <phrase> =\n    ${alternatives};\n`;
}

/**
 * Picks the dictionary lines for `words` from a CMU-format dictionary (`word PH ON ES`, variants
 * as `word(2) ...`), and reports the words it has no pronunciation for.
 */
export function pickPronunciations(dictionary: string, words: ReadonlySet<string>): { lines: string[]; missing: string[] } {
  const lines: string[] = [];
  const found = new Set<string>();
  for (const line of dictionary.split("\n")) {
    const space = line.indexOf(" ");
    if (space <= 0) continue;
    const head = line.slice(0, space);
    const word = head.replace(/\(\d+\)$/, "");
    if (words.has(word)) {
      lines.push(line.trimEnd());
      found.add(word);
    }
  }
  return { lines, missing: [...words].filter((w) => !found.has(w)).sort() };
}

export interface RecognizedWord {
  word: string;
  startMs: number;
  endMs: number;
}

const WORD_LINE = /^(\S+) (\d+\.\d+) (\d+\.\d+) (-?\d+(?:\.\d+)?)$/;

/**
 * Parses `pocketsphinx_continuous -time yes` output: a hypothesis line per utterance followed by
 * `word start end confidence` lines. Fillers (<sil>, [NOISE], <s>) are dropped, variants
 * (`want(2)`) folded.
 */
export function parseTimedOutput(output: string): RecognizedWord[] {
  const words: RecognizedWord[] = [];
  for (const raw of output.split("\n")) {
    const m = WORD_LINE.exec(raw.trim());
    if (!m) continue;
    const word = m[1]!.replace(/\(\d+\)$/, "");
    if (word.startsWith("<") || word.startsWith("[") || word.startsWith("+")) continue;
    // Times are frame starts at 100 frames a second; the last frame lasts 10 ms.
    words.push({ word, startMs: Math.round(Number(m[2]) * 1000), endMs: Math.round(Number(m[3]) * 1000) + 10 });
  }
  return words;
}

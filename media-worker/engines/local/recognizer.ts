import { createHash, randomBytes } from "node:crypto";
import { mkdir, readFile, rename, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { runPipeline } from "../../lib/processes.js";
import type { LocalEngineConfig } from "../engine-config.js";
import { buildJsgf, parseTimedOutput, phraseWords, pickPronunciations, type RecognizedWord } from "./grammar.js";

/** An agent's grammar on disk: the phrases PocketSphinx can recognise for it. */
export interface Grammar {
  /** Phrases in the grammar (those whose words all have a pronunciation). */
  phrases: string[];
  /** Phrases left out, with the words the dictionary lacks. */
  skipped: { phrase: string; missing: string[] }[];
  jsgfPath: string | null;
  dictPath: string | null;
}

export interface Recognition {
  text: string;
  words: RecognizedWord[];
  /** Milliseconds covered by recognized words (not fillers). */
  wordsMs: number;
}

/**
 * Speech recognition with PocketSphinx's US English model, one short process per caller turn
 * (about 20 ms with a grammar-sized dictionary). Grammar mode accepts only the agent's phrases;
 * free mode uses the general language model, for the LLM's input.
 */
export class PocketSphinx {
  private readonly grammars = new Map<string, Promise<Grammar>>();
  private readonly dir = path.join(tmpdir(), "call24x7-asr");

  constructor(private readonly cfg: LocalEngineConfig) {}

  /** The grammar for `phrases`, written once per distinct set and shared by all calls. */
  grammar(phrases: readonly string[]): Promise<Grammar> {
    const unique = [...new Set(phrases)].sort();
    const key = createHash("sha256")
      .update(`${this.cfg.modelDir}\n${unique.join("\n")}`)
      .digest("hex")
      .slice(0, 32);
    let grammar = this.grammars.get(key);
    if (!grammar) {
      grammar = this.build(unique, key);
      this.grammars.set(key, grammar);
      grammar.catch(() => this.grammars.delete(key));
    }
    return grammar;
  }

  /** Recognizes 16 kHz 16-bit PCM against a grammar, or freely with the general model. */
  async recognize(pcm16k: Buffer, mode: Grammar | "free", signal?: AbortSignal): Promise<Recognition> {
    const model = path.join(this.cfg.modelDir, "en-us");
    const args =
      mode === "free"
        ? ["-lm", path.join(this.cfg.modelDir, "en-us.lm.bin"), "-dict", path.join(this.cfg.modelDir, "cmudict-en-us.dict")]
        : ["-jsgf", mode.jsgfPath!, "-dict", mode.dictPath!];
    if (mode !== "free" && !mode.jsgfPath) return { text: "", words: [], wordsMs: 0 };
    // A file, not stdin: PocketSphinx opens its input by name, and /dev/stdin cannot be opened
    // when stdin is the socket Node gives a child.
    await mkdir(this.dir, { recursive: true });
    const input = path.join(this.dir, `turn-${process.pid}-${randomBytes(6).toString("hex")}.raw`);
    let out: Buffer;
    try {
      await writeFile(input, pcm16k);
      out = await runPipeline(
        [{ command: this.cfg.pocketsphinxBin, args: ["-hmm", model, ...args, "-time", "yes", "-infile", input, "-logfn", "/dev/null"] }],
        { signal, maxOutputBytes: 1024 * 1024 },
      );
    } finally {
      await rm(input, { force: true });
    }
    const words = parseTimedOutput(out.toString());
    return {
      text: words.map((w) => w.word).join(" "),
      words,
      wordsMs: words.reduce((ms, w) => ms + (w.endMs - w.startMs), 0),
    };
  }

  private async build(phrases: string[], key: string): Promise<Grammar> {
    const dictionary = await readFile(path.join(this.cfg.modelDir, "cmudict-en-us.dict"), "utf8");
    const words = new Set(phrases.flatMap(phraseWords));
    const { lines, missing } = pickPronunciations(dictionary, words);
    const lacking = new Set(missing);
    const skipped = phrases
      .map((phrase) => ({ phrase, missing: phraseWords(phrase).filter((w) => lacking.has(w)) }))
      .filter((s) => s.missing.length > 0);
    const usable = phrases.filter((p) => !phraseWords(p).some((w) => lacking.has(w)));
    if (usable.length === 0) return { phrases: [], skipped, jsgfPath: null, dictPath: null };
    const dir = path.join(this.dir, key);
    await mkdir(dir, { recursive: true });
    const jsgfPath = path.join(dir, "phrases.jsgf");
    const dictPath = path.join(dir, "phrases.dict");
    // Written under temporary names and renamed, so a concurrent worker never reads half a file.
    await writeAtomically(dictPath, `${lines.join("\n")}\n`);
    await writeAtomically(jsgfPath, buildJsgf(usable));
    return { phrases: usable, skipped, jsgfPath, dictPath };
  }
}

async function writeAtomically(file: string, text: string): Promise<void> {
  const temp = `${file}.${process.pid}.${Math.random().toString(36).slice(2)}`;
  await writeFile(temp, text);
  await rename(temp, file);
}

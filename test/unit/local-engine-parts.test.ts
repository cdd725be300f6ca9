import { expect } from "chai";
import { containsPhrase, findPhrase, matchIntent } from "../../media-worker/conversation/phrases.js";
import { buildJsgf, parseTimedOutput, pickPronunciations } from "../../media-worker/engines/local/grammar.js";
import { SentenceSplitter } from "../../media-worker/engines/local/sentences.js";
import { espeakVoice } from "../../media-worker/engines/local/speech.js";
import { missingVoiceTools, VoiceToolsMissingError } from "../../media-worker/engines/local/voice-tools.js";

describe("local engine parts", () => {
  it("when building a grammar, then it accepts exactly one of the phrases", () => {
    expect(buildJsgf(["opening hours", "book an appointment"])).to.equal(
      "#JSGF V1.0;\ngrammar call;\npublic <phrase> =\n    ( opening hours )\n  | ( book an appointment );\n",
    );
    expect(() => buildJsgf([])).to.throw(RangeError);
  });

  it("when picking pronunciations, then variants come along and unknown words are reported", () => {
    const dict = "book B UH K\nhours AW ER Z\nhours(2) AW R Z\nopening OW P AH N IH NG\nzebra Z IY B R AH\n";
    expect(pickPronunciations(dict, new Set(["hours", "opening", "zorblax"]))).to.deep.equal({
      lines: ["hours AW ER Z", "hours(2) AW R Z", "opening OW P AH N IH NG"],
      missing: ["zorblax"],
    });
  });

  it("when reading PocketSphinx's timed output, then fillers go and variants fold", () => {
    const out = "i want to book\n<sil> 0.180 0.280 1.000000\ni 0.290 0.400 1.000000\nwant(2) 0.410 0.770 0.99\n[NOISE] 0.780 0.800 1\n";
    expect(parseTimedOutput(out)).to.deep.equal([
      { word: "i", startMs: 290, endMs: 410 },
      { word: "want", startMs: 410, endMs: 780 },
    ]);
  });

  it("when matching phrases, then only whole words count and the longest intent phrase wins", () => {
    expect(containsPhrase("well goodbye then", "goodbye")).to.equal(true);
    expect(containsPhrase("goodbyes", "goodbye")).to.equal(false);
    expect(findPhrase("Bye bye!", ["goodbye", "bye bye"])).to.equal("bye bye");
    const intents = [
      { phrases: ["hours"], reply: "short", endCall: false },
      { phrases: ["opening hours"], reply: "long", endCall: false },
    ];
    expect(matchIntent("what are your opening hours", intents)?.intent.reply).to.equal("long");
    expect(matchIntent("nothing here", intents)).to.equal(null);
  });

  it("when text streams in, then sentences come out as soon as they end", () => {
    const s = new SentenceSplitter();
    expect(s.push("Hello there")).to.deep.equal([]);
    expect(s.push("! How are")).to.deep.equal(["Hello there!"]);
    expect(s.push(" you? I am")).to.deep.equal(["How are you?"]);
    expect(s.flush()).to.deep.equal(["I am"]);
    expect(new SentenceSplitter().push(`${"word ".repeat(60)}`)[0]!.length).to.be.at.most(160);
  });

  it("when choosing the espeak-ng voice, then the agent's own wins and OpenAI names fall back to the language", () => {
    expect(espeakVoice({ voice: "en-gb+f3", language: "en-US" })).to.equal("en-gb+f3");
    expect(espeakVoice({ voice: "alloy", language: "en-US" })).to.equal("en-us");
    expect(espeakVoice({ voice: "ash", language: "de-DE" })).to.equal("de-de");
    expect(espeakVoice({ voice: "", language: "fr" })).to.equal("fr");
  });

  it("when a tool is missing, then the error names it and how to install it", () => {
    const missing = missingVoiceTools({
      espeakBin: "/nonexistent/espeak-ng",
      soxBin: "sox",
      pocketsphinxBin: "pocketsphinx_continuous",
      modelDir: "/nonexistent/model",
    });
    expect(missing[0]).to.equal("/nonexistent/espeak-ng (Debian package espeak-ng)");
    expect(missing.some((m) => m.includes("pocketsphinx-en-us"))).to.equal(true);
    const err = new VoiceToolsMissingError(missing);
    expect(err.message).to.match(/apt-get install espeak-ng sox pocketsphinx pocketsphinx-en-us/);
    expect(err.code).to.equal("VOICE_TOOLS_MISSING");
  });
});

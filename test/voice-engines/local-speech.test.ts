import { expect } from "chai";
import { FRAME_BYTES, FRAME_MS } from "../../media-worker/audio/mulaw.js";
import { mulawLevelDb } from "../../media-worker/audio/energy.js";
import { mulawTo16kPcm } from "../../media-worker/audio/upsample.js";
import { loadEngineConfig } from "../../media-worker/engines/engine-config.js";
import { PocketSphinx } from "../../media-worker/engines/local/recognizer.js";
import { EspeakSpeech } from "../../media-worker/engines/local/speech.js";
import { TurnDetector, DEFAULT_TURN_OPTIONS, type TurnEvent } from "../../media-worker/engines/local/turn-detector.js";
import { liveChildProcesses } from "../../media-worker/lib/processes.js";
import { callerSpeech, silenceMs } from "../helpers/caller-audio.js";

const config = loadEngineConfig({}).local;

/** The caller's turn as the engine sees it: frames through the turn detector. */
function turnOf(audio: Buffer): Extract<TurnEvent, { kind: "turn-end" }> {
  const stream = Buffer.concat([silenceMs(400), audio, silenceMs(800)]);
  const detector = new TurnDetector(DEFAULT_TURN_OPTIONS);
  for (let at = 0; at < stream.length; at += FRAME_BYTES) {
    const event = detector.push(stream.subarray(at, at + FRAME_BYTES), (at / FRAME_BYTES) * FRAME_MS);
    if (event?.kind === "turn-end") return event;
  }
  throw new Error("no turn found");
}

describe("local engine speech and recognition (espeak-ng, sox, PocketSphinx)", function () {
  this.timeout(20_000);
  const phrases = ["i want to book an appointment", "what are your opening hours", "talk to a human", "goodbye"];
  const asr = new PocketSphinx(config);

  it("when rendering text, then it is 8 kHz mu-law in whole 20 ms frames, audible, and cached", async () => {
    const speech = new EspeakSpeech(config);
    const audio = await speech.render("We are open from nine to five.", "en-us", { cache: true });
    expect(audio.length % FRAME_BYTES).to.equal(0);
    expect(audio.length / 8).to.be.within(1_200, 3_500); // milliseconds of speech
    expect(mulawLevelDb(audio)).to.be.above(-35);
    const again = speech.render("We are open from nine to five.", "en-us", { cache: true });
    expect(speech.cachedPhrases).to.equal(1);
    expect(await again).to.equal(audio);
  });

  it("when a render is aborted, then its processes are killed", async () => {
    const speech = new EspeakSpeech(config);
    const abort = new AbortController();
    const rendering = speech.render("This sentence will never be heard. ".repeat(40), "en-us", { cache: false, signal: abort.signal });
    abort.abort();
    let error: unknown = null;
    await rendering.catch((err: unknown) => (error = err));
    expect(error).to.be.instanceOf(Error);
    expect(liveChildProcesses()).to.equal(0);
  });

  for (const phrase of phrases) {
    it(`when a caller says "${phrase}" on a telephone line, then the grammar recognises it covering the speech`, async () => {
      const turn = turnOf(callerSpeech(phrase));
      const grammar = await asr.grammar(phrases);
      const result = await asr.recognize(mulawTo16kPcm(turn.audio), grammar);
      expect(result.text).to.equal(phrase);
      expect(result.wordsMs / turn.speechMs).to.be.at.least(0.5);
    });
  }

  for (const sentence of ["the weather is nice today", "how much does it cost", "yes please"]) {
    it(`when a caller says "${sentence}", which is no phrase of the agent's, then the words cover too little of the speech to count`, async () => {
      const turn = turnOf(callerSpeech(sentence));
      const result = await asr.recognize(mulawTo16kPcm(turn.audio), await asr.grammar(phrases));
      expect(result.wordsMs / turn.speechMs).to.be.below(0.5);
    });
  }

  it("when phrases have words the dictionary lacks, then they are left out and reported", async () => {
    const grammar = await asr.grammar(["opening hours", "call zorblaxian"]);
    expect(grammar.phrases).to.deep.equal(["opening hours"]);
    expect(grammar.skipped).to.deep.equal([{ phrase: "call zorblaxian", missing: ["zorblaxian"] }]);
  });
});

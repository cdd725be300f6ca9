import { expect } from "chai";
import { FRAME_BYTES, FRAME_MS, MULAW_SILENCE } from "../../media-worker/audio/mulaw.js";
import { renderTones } from "../../media-worker/audio/tone.js";
import { TurnDetector, type TurnEvent } from "../../media-worker/engines/local/turn-detector.js";

const silence = () => Buffer.alloc(FRAME_BYTES, MULAW_SILENCE);
const tone = renderTones([{ hz: 300, ms: FRAME_MS }]);

/** Feeds `pattern` (s = silence, t = tone; one letter a 20 ms frame) and collects events with their frame index. */
function feed(detector: TurnDetector, pattern: string, startIndex = 0): { at: number; event: TurnEvent }[] {
  const events: { at: number; event: TurnEvent }[] = [];
  [...pattern].forEach((c, i) => {
    const at = startIndex + i;
    const event = detector.push(c === "t" ? tone : silence(), at * FRAME_MS);
    if (event) events.push({ at, event });
  });
  return events;
}

const options = { startMs: 100, endMs: 200, maxTurnMs: 2_000, preRollMs: 60, marginDb: 12, minSpeechDb: -45 };

describe("turn detector", () => {
  it("when the caller speaks for long enough, then a turn opens after startMs, dated from the first speech frame", () => {
    const events = feed(new TurnDetector(options), "ssssstttttt");
    expect(events).to.have.length(1);
    expect(events[0]!.at).to.equal(9); // 5 frames = 100 ms of speech
    expect(events[0]!.event).to.deep.equal({ kind: "turn-start", startMs: 5 * FRAME_MS });
  });

  it("when speech is shorter than startMs, then no turn opens (a click is not barge-in)", () => {
    expect(feed(new TurnDetector(options), "sssttttsssttsss")).to.deep.equal([]);
  });

  it("when the caller stops, then the turn closes after endMs of silence with its audio and pre-roll", () => {
    const events = feed(new TurnDetector(options), "sssssttttttttttssssssssss");
    const end = events[1]!;
    expect(end.at).to.equal(5 + 10 + 10 - 1); // 10 speech frames, then 10 silent frames (200 ms)
    if (end.event.kind !== "turn-end") throw new Error("expected turn-end");
    expect(end.event.startMs).to.equal(100);
    expect(end.event.speechMs).to.equal(200);
    expect(end.event.preRollMs).to.equal(60);
    // pre-roll (3 frames) + speech (10) + closing silence (10)
    expect(end.event.audio.length).to.equal(23 * FRAME_BYTES);
  });

  it("when a pause is shorter than endMs, then the turn goes on", () => {
    const events = feed(new TurnDetector(options), "ttttttssssttttttssssssssss");
    expect(events.map((e) => e.event.kind)).to.deep.equal(["turn-start", "turn-end"]);
    const end = events[1]!.event;
    if (end.kind !== "turn-end") throw new Error("expected turn-end");
    expect(end.speechMs).to.equal(16 * FRAME_MS);
  });

  it("when speech goes on past maxTurnMs, then the turn is closed and the next one opens", () => {
    const events = feed(new TurnDetector({ ...options, maxTurnMs: 400 }), "t".repeat(40));
    expect(events.map((e) => e.event.kind)).to.deep.equal(["turn-start", "turn-end", "turn-start", "turn-end"]);
  });

  it("when the line is noisy, then the floor rises and the same noise does not open turns", () => {
    const detector = new TurnDetector(options);
    const noise = renderTones([{ hz: 200, ms: FRAME_MS }]).map((b) => b | 0x70); // quiet hum
    for (let i = 0; i < 100; i++) expect(detector.push(Buffer.from(noise), i * FRAME_MS)).to.equal(null);
    expect(feed(detector, "tttttt", 100)[0]?.event.kind).to.equal("turn-start");
  });
});

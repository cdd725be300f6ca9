import { expect } from "chai";
import { MAX_PAYLOAD_CHARS, parseTwilioMessage } from "../../media-worker/protocol/inbound.js";
import { clearMessage, markMessage, mediaMessage, mediaPrefix } from "../../media-worker/protocol/outbound.js";
import {
  connectedMessage,
  dtmfMessage,
  inboundMediaMessage,
  markReturnMessage,
  parseServerMessage,
  startMessage,
  stopMessage,
} from "../../media-worker/protocol/twilio-side.js";

const AC = `AC${"a".repeat(32)}`;
const CA = `CA${"b".repeat(32)}`;
const MZ = `MZ${"c".repeat(32)}`;
const FRAME = Buffer.alloc(160, 0xff).toString("base64");

describe("Media Streams protocol", () => {
  describe("when parsing what Twilio sends", () => {
    it("then connected, start, media, dtmf, mark and stop come out as plain values", () => {
      expect(parseTwilioMessage(connectedMessage())).to.deep.equal({
        ok: true,
        event: { kind: "connected", protocol: "Call", version: "1.0.0" },
      });
      const start = parseTwilioMessage(
        startMessage(1, { streamSid: MZ, accountSid: AC, callSid: CA, customParameters: { callId: "x", token: "t" } }),
      );
      expect(start).to.deep.equal({
        ok: true,
        event: {
          kind: "start",
          streamSid: MZ,
          accountSid: AC,
          callSid: CA,
          tracks: ["inbound"],
          customParameters: { callId: "x", token: "t" },
          mediaFormat: { encoding: "audio/x-mulaw", sampleRate: 8000, channels: 1 },
        },
      });
      expect(parseTwilioMessage(inboundMediaMessage(2, MZ, 1, 20, FRAME))).to.deep.equal({
        ok: true,
        event: { kind: "media", track: "inbound", chunk: 1, timestampMs: 20, payload: FRAME },
      });
      expect(parseTwilioMessage(dtmfMessage(3, MZ, "#"))).to.deep.equal({ ok: true, event: { kind: "dtmf", digit: "#" } });
      expect(parseTwilioMessage(markReturnMessage(4, MZ, "greeting"))).to.deep.equal({
        ok: true,
        event: { kind: "mark", name: "greeting" },
      });
      expect(parseTwilioMessage(stopMessage(5, MZ, AC, CA))).to.deep.equal({ ok: true, event: { kind: "stop" } });
    });

    it("then Twilio's exact documented start message is accepted", () => {
      const doc = `{"event":"start","sequenceNumber":"1","start":{"accountSid":"${AC}","streamSid":"${MZ}","callSid":"${CA}","tracks":["inbound"],"mediaFormat":{"encoding":"audio/x-mulaw","sampleRate":8000,"channels":1},"customParameters":{"FirstName":"Jane"}},"streamSid":"${MZ}"}`;
      const parsed = parseTwilioMessage(doc);
      expect(parsed.ok && parsed.event.kind === "start" && parsed.event.customParameters).to.deep.equal({ FirstName: "Jane" });
    });

    for (const [label, raw, problem] of [
      ["text that is not JSON", "hello", "not-json"],
      ["a JSON array", "[1,2]", "not-an-object"],
      ["JSON null", "null", "not-an-object"],
      ["an unknown event", '{"event":"dance"}', "unknown-event"],
      ["no event at all", '{"media":{}}', "unknown-event"],
      ["media without a payload", '{"event":"media","media":{}}', "invalid-field"],
      ["media whose payload is a number", '{"event":"media","media":{"payload":5}}', "invalid-field"],
      ["media with bad base64", '{"event":"media","media":{"payload":"@@@@"}}', "bad-base64"],
      ["media with base64 of a bad length", '{"event":"media","media":{"payload":"abc"}}', "bad-base64"],
      ["media with an oversized payload", `{"event":"media","media":{"payload":"${"A".repeat(MAX_PAYLOAD_CHARS + 4)}"}}`, "invalid-field"],
      ["media with a negative timestamp", `{"event":"media","media":{"payload":"${FRAME}","timestamp":"-5"}}`, "invalid-field"],
      [
        "a start without mediaFormat",
        `{"event":"start","start":{"streamSid":"${MZ}","accountSid":"${AC}","callSid":"${CA}"}}`,
        "invalid-field",
      ],
      [
        "a start with a bad CallSid",
        `{"event":"start","start":{"streamSid":"${MZ}","accountSid":"${AC}","callSid":"CA x","mediaFormat":{"encoding":"audio/x-mulaw","sampleRate":8000,"channels":1}}}`,
        "invalid-field",
      ],
      ["a dtmf that is not a digit", '{"event":"dtmf","dtmf":{"digit":"xyz"}}', "invalid-field"],
      ["a mark without a name", '{"event":"mark","mark":{}}', "invalid-field"],
    ] as const) {
      it(`then ${label} is a "${problem}" problem, not an exception`, () => {
        const result = parseTwilioMessage(raw);
        expect(result.ok).to.equal(false);
        expect(!result.ok && result.problem).to.equal(problem);
      });
    }

    it("then customParameters cannot smuggle in prototype keys", () => {
      const raw = `{"event":"start","start":{"streamSid":"${MZ}","accountSid":"${AC}","callSid":"${CA}","mediaFormat":{"encoding":"audio/x-mulaw","sampleRate":8000,"channels":1},"customParameters":{"__proto__":"x","callId":"y"}}}`;
      const parsed = parseTwilioMessage(raw);
      if (!parsed.ok || parsed.event.kind !== "start") expect.fail(`not read as a start: ${JSON.stringify(parsed)}`);
      expect(parsed.event.customParameters.callId).to.equal("y");
      expect(Object.getPrototypeOf(parsed.event.customParameters)).to.equal(null);
    });
  });

  describe("when writing to Twilio", () => {
    it("then media, mark and clear are the JSON Twilio documents", () => {
      expect(JSON.parse(mediaMessage(mediaPrefix(MZ), FRAME))).to.deep.equal({ event: "media", streamSid: MZ, media: { payload: FRAME } });
      expect(JSON.parse(markMessage(MZ, "goodbye"))).to.deep.equal({ event: "mark", streamSid: MZ, mark: { name: "goodbye" } });
      expect(JSON.parse(clearMessage(MZ))).to.deep.equal({ event: "clear", streamSid: MZ });
    });

    it("then Twilio's side reads them back, and flags anything else", () => {
      expect(parseServerMessage(mediaMessage(mediaPrefix(MZ), FRAME))).to.deep.equal({ kind: "media", payload: FRAME });
      expect(parseServerMessage(markMessage(MZ, "m"))).to.deep.equal({ kind: "mark", name: "m" });
      expect(parseServerMessage(clearMessage(MZ))).to.deep.equal({ kind: "clear" });
      expect(parseServerMessage('{"event":"media"}').kind).to.equal("invalid");
      expect(parseServerMessage("nope").kind).to.equal("invalid");
    });
  });
});

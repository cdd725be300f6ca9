import { expect } from "chai";
import { decodeMulaw, encodeMulaw, linearToMulaw, mulawToLinear } from "../../media-worker/audio/mulaw.js";
import { GREETING_TONES, goodbyeTones, renderTones, toFramePayloads } from "../../media-worker/audio/tone.js";
import { mulawToWav, readWav, wavToMulaw } from "../../media-worker/audio/wav.js";
import { parseStreamTwiml } from "../../media-worker/simulator/twiml.js";
import { streamTwiml } from "../../api/voice/twiml.js";

describe("audio and TwiML helpers", () => {
  describe("when encoding mu-law", () => {
    it("then the G.711 reference points hold", () => {
      expect(linearToMulaw(0)).to.equal(0xff);
      expect(linearToMulaw(32_767)).to.equal(0x80);
      expect(linearToMulaw(-32_768)).to.equal(0x00);
      expect(mulawToLinear(0xff)).to.equal(0);
      expect(mulawToLinear(0x80)).to.equal(32_124);
      expect(mulawToLinear(0x00)).to.equal(-32_124);
    });

    it("then every byte decodes and re-encodes to itself (except the two zeros)", () => {
      for (let b = 0; b < 256; b++) {
        if (b === 0x7f) continue; // -0 encodes as +0
        expect(linearToMulaw(mulawToLinear(b)), `byte ${b}`).to.equal(b);
      }
    });

    it("then a round trip stays within mu-law's quantization error", () => {
      const samples = Int16Array.from({ length: 2000 }, (_, i) => Math.round(Math.sin(i / 7) * 20_000));
      const back = decodeMulaw(encodeMulaw(samples));
      for (let i = 0; i < samples.length; i++) {
        expect(Math.abs(back[i]! - samples[i]!)).to.be.at.most(Math.max(8, Math.abs(samples[i]!) / 16));
      }
    });
  });

  describe("when generating tones", () => {
    it("then audio is cut into 20 ms frames of 160 bytes, the last padded with silence", () => {
      const audio = renderTones([{ hz: 440, ms: 50 }]);
      expect(audio.length).to.equal(480);
      const frames = toFramePayloads(audio);
      expect(frames).to.have.length(3);
      for (const f of frames) expect(Buffer.from(f, "base64")).to.have.length(160);
      expect(
        Buffer.from(frames[2]!, "base64")
          .subarray(80)
          .every((b) => b === 0xff),
      ).to.equal(true);
    });

    it("then the greeting is audible and the goodbye fits in its length", () => {
      const greeting = renderTones(GREETING_TONES);
      expect(greeting.some((b) => b !== 0xff)).to.equal(true);
      expect(renderTones(goodbyeTones(1_000)).length).to.be.at.most(8_000);
      expect(goodbyeTones(0)).to.deep.equal([]);
    });
  });

  describe("when reading and writing WAV files", () => {
    it("then received mu-law is written as 16-bit PCM and reads back to the same mu-law", () => {
      const mulaw = renderTones([{ hz: 300, ms: 100 }]);
      const wav = mulawToWav(mulaw);
      expect(readWav(wav)).to.include({ format: "pcm16", sampleRate: 8000, channels: 1 });
      expect(wavToMulaw(wav).equals(mulaw)).to.equal(true);
    });

    it("then a stereo mu-law file yields its first channel", () => {
      const header = Buffer.alloc(44);
      header.write("RIFF", 0, "ascii");
      header.writeUInt32LE(36 + 4, 4);
      header.write("WAVEfmt ", 8, "ascii");
      header.writeUInt32LE(16, 16);
      header.writeUInt16LE(7, 20);
      header.writeUInt16LE(2, 22);
      header.writeUInt32LE(8000, 24);
      header.writeUInt32LE(16000, 28);
      header.writeUInt16LE(2, 32);
      header.writeUInt16LE(8, 34);
      header.write("data", 36, "ascii");
      header.writeUInt32LE(4, 40);
      const file = Buffer.concat([header, Buffer.from([1, 2, 3, 4])]);
      expect([...wavToMulaw(file)]).to.deep.equal([1, 3]);
    });

    it("then files that are not 8 kHz, or not WAV at all, are refused with a hint", () => {
      const wav = mulawToWav(Buffer.alloc(10, 0xff));
      wav.writeUInt32LE(16_000, 24);
      expect(() => wavToMulaw(wav)).to.throw(/16000 Hz, need 8000 Hz.*ffmpeg/);
      expect(() => wavToMulaw(Buffer.from("not a wav file at all"))).to.throw(/RIFF/);
    });
  });

  describe("when the simulator reads TwiML", () => {
    it("then it finds the stream URL and every parameter, unescaped", () => {
      const xml = streamTwiml({
        mediaPublicUrl: "wss://media.example.com",
        callId: "abc123",
        agentId: "agent-1",
        externalCallId: `crm&<"quoted">'42'`,
        token: "v1.1.x",
      });
      expect(parseStreamTwiml(xml)).to.deep.equal({
        url: "wss://media.example.com/abc123",
        params: { callId: "abc123", agentId: "agent-1", externalCallId: `crm&<"quoted">'42'`, token: "v1.1.x" },
      });
    });

    it("then TwiML without <Connect><Stream> is an error", () => {
      expect(() => parseStreamTwiml("<Response><Say>Hi</Say></Response>")).to.throw(/Connect/);
    });
  });
});

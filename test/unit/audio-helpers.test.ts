import { expect } from "chai";
import { SILENCE_DB, mulawLevelDb } from "../../media-worker/audio/energy.js";
import { linearToMulaw, mulawToLinear } from "../../media-worker/audio/mulaw.js";
import { mulawTo16kPcm } from "../../media-worker/audio/upsample.js";

describe("audio helpers", () => {
  it("when upsampling mu-law, then each sample is followed by a zero at twice the rate", () => {
    const mulaw = Buffer.from([linearToMulaw(1000), linearToMulaw(-2000)]);
    const pcm = mulawTo16kPcm(mulaw);
    expect(pcm.length).to.equal(8);
    expect([pcm.readInt16LE(0), pcm.readInt16LE(2), pcm.readInt16LE(4), pcm.readInt16LE(6)]).to.deep.equal([
      mulawToLinear(mulaw[0]!),
      0,
      mulawToLinear(mulaw[1]!),
      0,
    ]);
  });

  it("when measuring levels, then silence is the floor and a full-scale square wave is about 0 dBFS", () => {
    expect(mulawLevelDb(Buffer.alloc(160, 0xff))).to.equal(SILENCE_DB);
    const square = Buffer.from(Array.from({ length: 160 }, (_, i) => linearToMulaw(i % 2 ? 32_000 : -32_000)));
    expect(mulawLevelDb(square)).to.be.within(-0.5, 0);
    const quieter = Buffer.from(Array.from({ length: 160 }, (_, i) => linearToMulaw(i % 2 ? 3_200 : -3_200)));
    expect(mulawLevelDb(quieter)).to.be.within(-20.5, -19.5);
  });
});

import { expect } from "chai";
import { formatUsd, parseUsd } from "../../schema/billing/money.js";
import { billedSeconds, costMicros } from "../../schema/billing/rating.js";

describe("money", () => {
  it("when parsing decimal strings, then they become exact micro-dollars", () => {
    expect(parseUsd("12.3456")).to.equal(12_345_600);
    expect(parseUsd("0.000001")).to.equal(1);
    expect(parseUsd("5")).to.equal(5_000_000);
    expect(parseUsd("0.15")).to.equal(150_000);
    expect(parseUsd(" 1.10 ")).to.equal(1_100_000);
  });

  for (const bad of ["-1", "1.0000001", "1e3", "0x10", "", ".5", "1.", "1,50", "NaN", "Infinity", "1 000", "１"]) {
    it(`when parsing "${bad}", then it is refused naming the field`, () => {
      expect(() => parseUsd(bad, "amountUsd")).to.throw(/amountUsd/);
    });
  }

  it("when an amount is above the maximum, then it is refused", () => {
    expect(parseUsd("1000000")).to.equal(1_000_000_000_000);
    expect(() => parseUsd("1000000.000001")).to.throw(/must not exceed/);
  });

  it("when formatting, then six decimals are always shown and the sign is kept", () => {
    expect(formatUsd(12_345_600)).to.equal("12.345600");
    expect(formatUsd(0)).to.equal("0.000000");
    expect(formatUsd(1)).to.equal("0.000001");
    expect(formatUsd(-2_500)).to.equal("-0.002500");
    expect(() => formatUsd(1.5)).to.throw(RangeError);
  });

  it("when formatting a parsed amount, then it round-trips", () => {
    for (const s of ["0.000000", "1.500000", "999999.999999"]) expect(formatUsd(parseUsd(s))).to.equal(s);
  });
});

describe("rating", () => {
  it("when a call was connected, then seconds round up to the next whole second", () => {
    expect(billedSeconds(61_200)).to.equal(62);
    expect(billedSeconds(60_000)).to.equal(60);
    expect(billedSeconds(1)).to.equal(1);
  });

  it("when a call never connected, then it bills nothing", () => {
    expect(billedSeconds(0)).to.equal(0);
    expect(billedSeconds(-5)).to.equal(0);
    expect(billedSeconds(Number.NaN)).to.equal(0);
  });

  it("when costing at $0.15/min, then each second costs 2,500 micro-dollars", () => {
    expect(costMicros(1, 150_000)).to.equal(2_500);
    expect(costMicros(62, 150_000)).to.equal(155_000);
    expect(costMicros(60, 150_000)).to.equal(150_000);
  });

  it("when the rate does not divide by 60, then the cost rounds up to the micro-dollar", () => {
    expect(costMicros(1, 100_000)).to.equal(1_667);
    expect(costMicros(3, 100_000)).to.equal(5_000);
  });
});

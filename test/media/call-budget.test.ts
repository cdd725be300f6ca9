import { expect } from "chai";
import { SAFETY_MS, coveredMs, maxCallMs, nextBudgetStep } from "../../media-worker/session/call-budget.js";

describe("call budget", () => {
  const base = { goodbyeMs: 2_000, extendLeadMs: 1_000 };

  it("when the reservation runs out before the maximum, then it extends early enough for a goodbye to fit", () => {
    const step = nextBudgetStep({ ...base, coveredMs: 60_000, maxMs: 600_000 });
    const deadline = 60_000 - 2_000 - SAFETY_MS;
    expect(step).to.deep.equal({ kind: "extend", atMs: deadline - 1_000, deadlineMs: deadline });
  });

  it("when the maximum comes first, then the goodbye starts so the call ends at the maximum", () => {
    expect(nextBudgetStep({ ...base, coveredMs: 120_000, maxMs: 90_000 })).to.deep.equal({
      kind: "goodbye",
      atMs: 90_000 - 2_000 - SAFETY_MS,
      reason: "max-duration",
    });
  });

  it("when nothing is reserved, then it extends at once", () => {
    expect(nextBudgetStep({ ...base, coveredMs: 0, maxMs: 600_000 })).to.deep.equal({ kind: "extend", atMs: 0, deadlineMs: 0 });
  });

  it("when the rate is zero, then only the maximum limits the call", () => {
    expect(coveredMs(0, 0)).to.equal(Number.POSITIVE_INFINITY);
    expect(nextBudgetStep({ ...base, coveredMs: coveredMs(0, 0), maxMs: 10_000 })).to.deep.equal({
      kind: "goodbye",
      atMs: 8_000 - SAFETY_MS,
      reason: "max-duration",
    });
  });

  it("when money is held, then it covers whole milliseconds at the account's rate, rounded down", () => {
    expect(coveredMs(150_000, 150_000)).to.equal(60_000);
    expect(coveredMs(2_501, 150_000)).to.equal(1_000);
    expect(coveredMs(100_000, 7_000_000)).to.equal(857);
  });

  it("when the agent's maximum is above the platform's cap, then the cap wins", () => {
    expect(maxCallMs(600, 14_400)).to.equal(600_000);
    expect(maxCallMs(600, 2)).to.equal(2_000);
    expect(maxCallMs(null, 30)).to.equal(30_000);
  });
});

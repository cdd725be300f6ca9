import { expect } from "chai";
import { DEFAULT_ACCOUNT_LIMITS, effectiveLimits } from "../../schema/models/account-limits.js";

describe("account limits", () => {
  it("when an account has no limits stored, then the platform defaults apply: 20 keys, 200 agents, 100 numbers, 10 calls", () => {
    expect(DEFAULT_ACCOUNT_LIMITS).to.deep.equal({ maxApiKeys: 20, maxAgents: 200, maxPhoneNumbers: 100, maxConcurrentCalls: 10 });
    for (const stored of [undefined, null, {}]) expect(effectiveLimits(stored)).to.deep.equal(DEFAULT_ACCOUNT_LIMITS);
  });

  it("when some are set, then those count, 0 included, and unset or nonsensical ones fall back to the defaults", () => {
    expect(effectiveLimits({ maxAgents: 0, maxConcurrentCalls: 50, maxApiKeys: null })).to.deep.equal({
      ...DEFAULT_ACCOUNT_LIMITS,
      maxAgents: 0,
      maxConcurrentCalls: 50,
    });
    expect(effectiveLimits({ maxAgents: -1, maxPhoneNumbers: 1.5 })).to.deep.equal(DEFAULT_ACCOUNT_LIMITS);
  });
});

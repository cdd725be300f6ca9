import { expect } from "chai";
import { admitCall } from "../../media-worker/simulator/simulate-call.js";
import { OPEN_CALLS_KEY } from "../../schema/billing/open-calls.js";
import { CallModel } from "../../schema/models/call.model.js";
import { startTestApp, TEST_AUTH_TOKEN, type TestApp } from "../helpers/app.js";
import { FakeTwilioRest } from "../helpers/fake-twilio.js";
import { createFixture } from "../helpers/fixtures.js";
import { simulatorTarget, startTestMedia, waitForCallDocument, waitForClosedCall, type TestMedia } from "../helpers/media.js";

/** The Redis key the sweepers of all workers take before a sweep (media-worker/billing/sweeper.ts). */
const LOCK_KEY = "c247:sweeper:lock";
/** Sweeps happen only when a test calls sweep(). */
const SWEEP_INTERVAL_MS = 600_000;

describe("media worker: the sweeper's lock", function () {
  this.timeout(20_000);
  let t: TestApp;
  let twilioRest: FakeTwilioRest;
  let a: TestMedia;
  let b: TestMedia;

  before(async () => {
    twilioRest = await FakeTwilioRest.start(TEST_AUTH_TOKEN);
    t = await startTestApp();
    a = await startTestMedia(twilioRest.url, { SWEEP_INTERVAL_MS: String(SWEEP_INTERVAL_MS) });
    b = await startTestMedia(twilioRest.url, { SWEEP_INTERVAL_MS: String(SWEEP_INTERVAL_MS) });
  });
  after(async () => {
    await b.close();
    await a.close();
    await t.close();
    await twilioRest.close();
  });
  // A sweep here holds the lock for nearly SWEEP_INTERVAL_MS: free it for the other suites' sweepers.
  afterEach(async () => {
    await a.redis.del(LOCK_KEY);
  });

  /** A call that rang long ago and never streamed: the sweeper's to close, at no cost. */
  async function abandonedCall() {
    const fx = await createFixture({ balanceMicros: 5_000_000 });
    const call = await admitCall(simulatorTarget(t, a), { to: fx.number });
    await waitForCallDocument(call.callId);
    await CallModel.updateOne({ _id: call.callId }, { $set: { startedAt: new Date(Date.now() - 10 * 60_000) } });
    return call;
  }

  it("when another worker holds the lock, then a sweep looks at nothing; once the lock is free, a sweep closes the call and holds the lock for less than one interval", async () => {
    const call = await abandonedCall();
    const dueAt = await a.redis.zscore(OPEN_CALLS_KEY, call.callId);
    expect(dueAt).to.not.equal(null);
    await a.redis.set(LOCK_KEY, "another-worker", "PX", 60_000);

    expect(await a.server.sweeper.sweep()).to.equal(0);
    expect(await a.redis.get(LOCK_KEY)).to.equal("another-worker");
    // Not even looked at: still due at the same time, still ringing.
    expect(await a.redis.zscore(OPEN_CALLS_KEY, call.callId)).to.equal(dueAt);
    expect(await CallModel.findById(call.callId).lean()).to.include({ status: "ringing", endedAt: null });

    await a.redis.del(LOCK_KEY);
    expect(await a.server.sweeper.sweep()).to.be.at.least(1);
    const closed = await waitForClosedCall(call.callId);
    expect(closed).to.include({ status: "failed", endedReason: "not-connected", costMicros: 0 });
    const holder = await a.redis.get(LOCK_KEY);
    expect(holder).to.be.a("string").and.not.equal("another-worker");
    // A worker that dies mid-sweep blocks the others for one interval at most.
    expect(await a.redis.pttl(LOCK_KEY)).to.be.within(1, SWEEP_INTERVAL_MS);
  });

  it("when two workers sweep at the same moment, then only one of them sweeps", async () => {
    const call = await abandonedCall();
    const counts = await Promise.all([a.server.sweeper.sweep(), b.server.sweeper.sweep()]);
    expect(
      counts.filter((n) => n === 0),
      `closed per sweeper: ${counts.join(", ")}`,
    ).to.have.length(1);
    expect(Math.max(...counts)).to.be.at.least(1);
    expect(await waitForClosedCall(call.callId)).to.include({ endedReason: "not-connected" });
  });
});

import { expect } from "chai";
import { admitCall, openStream, postCallStatus, type AdmittedCall } from "../../media-worker/simulator/simulate-call.js";
import type { TwilioStreamClient } from "../../media-worker/simulator/stream-client.js";
import { CallLiveness } from "../../schema/billing/call-liveness.js";
import { ledger } from "../../schema/ledger/ledger.service.js";
import { closeOutJobId } from "../../schema/infra/queues.js";
import { CallModel } from "../../schema/models/call.model.js";
import { CallStatusReportModel } from "../../schema/models/call-status-report.model.js";
import { startTestApp, TEST_ADMIN_KEY, TEST_AUTH_TOKEN, type TestApp } from "../helpers/app.js";
import { FakeTwilioRest } from "../helpers/fake-twilio.js";
import { createFixture, type Fixture } from "../helpers/fixtures.js";
import {
  chargesFor,
  mediaEnv,
  reservations,
  simulatorTarget,
  startTestMedia,
  startWorkerProcess,
  streamingCall,
  waitFor,
  waitForCallDocument,
  waitForClosedCall,
  type TestMedia,
  type WorkerProcess,
} from "../helpers/media.js";

describe("media worker: recovery when a worker dies mid-call", function () {
  this.timeout(30_000);
  let t: TestApp;
  let twilioRest: FakeTwilioRest;
  /** Processes close-outs but never sweeps during a test: only what the test triggers happens. */
  let quiet: TestMedia;
  let fx: Fixture;
  let worker: WorkerProcess | null = null;
  let liveness: CallLiveness;

  before(async () => {
    twilioRest = await FakeTwilioRest.start(TEST_AUTH_TOKEN);
    t = await startTestApp();
    quiet = await startTestMedia(twilioRest.url, { SWEEP_INTERVAL_MS: "600000" });
    liveness = new CallLiveness(quiet.redis);
  });
  after(async () => {
    await quiet.close();
    await t.close();
    await twilioRest.close();
  });
  beforeEach(async () => {
    fx = await createFixture({ balanceMicros: 5_000_000 });
  });
  afterEach(async () => {
    if (worker && worker.child.exitCode === null && worker.child.signalCode === null) worker.child.kill("SIGKILL");
    await worker?.exited;
    worker = null;
  });

  /** A call streaming to a real worker process, at least one second in, as its heartbeat reports. */
  async function liveCallOnWorkerProcess(): Promise<{ call: AdmittedCall; client: TwilioStreamClient; stopAudio: () => void }> {
    worker = await startWorkerProcess(mediaEnv(twilioRest.url, { SWEEP_INTERVAL_MS: "600000" }));
    const live = await streamingCall(t, worker, fx.number);
    await waitFor(
      "one second of connected time in the heartbeat",
      async () => ((await liveness.progressMs(live.call.callId)) ?? 0) >= 1_000,
    );
    return live;
  }

  async function kill(client: TwilioStreamClient, stopAudio: () => void) {
    worker!.child.kill("SIGKILL");
    await worker!.exited;
    stopAudio();
    expect((await client.closed).code).to.equal(1006);
  }

  async function expectBilledOnce(call: AdmittedCall, seconds: number) {
    const closed = await waitForClosedCall(call.callId);
    expect(closed).to.include({ status: "failed", endedReason: "stream-lost", billedSeconds: seconds, costMicros: seconds * 2_500 });
    expect(closed.endedAt!.getTime() - closed.answeredAt!.getTime()).to.be.within((seconds - 1) * 1000 + 1, seconds * 1000);
    const charges = await chargesFor(call.callId);
    expect(charges).to.have.length(1);
    expect(charges[0]!.amountMicros).to.equal(-seconds * 2_500);
    expect(await reservations(quiet.redis).heldByCall(fx.accountId, call.callSid)).to.equal(0);
  }

  it("when the worker is SIGKILLed and Twilio then reports the call completed, then the callback closes it out with Twilio's duration, once", async () => {
    const { call, client, stopAudio } = await liveCallOnWorkerProcess();
    await kill(client, stopAudio);
    expect(await CallModel.findById(call.callId).lean()).to.include({ status: "in-progress" });
    await waitFor("the dead session's heartbeat to lapse", async () => !(await liveness.isLive(call.callId)));

    const res = await postCallStatus(simulatorTarget(t, quiet), call, "completed", 3);
    expect(res).to.deep.include({ status: 200 });
    expect(res.body).to.deep.include({ success: true, outcome: "closed-stream-lost" });
    await expectBilledOnce(call, 3);

    const again = await postCallStatus(simulatorTarget(t, quiet), call, "completed", 3);
    expect(again.body).to.deep.include({ outcome: "already-ended" });
    await new Promise((r) => setTimeout(r, 200));
    expect(await chargesFor(call.callId)).to.have.length(1);
  });

  it("when the worker is SIGKILLed and an account key reports the call completed, then it is FORBIDDEN and no bill moves; the admin key then closes it out with Twilio's duration, once", async () => {
    const { call, client, stopAudio } = await liveCallOnWorkerProcess();
    await kill(client, stopAudio);
    await waitFor("the dead session's heartbeat to lapse", async () => !(await liveness.isLive(call.callId)));
    const { key } = await t.app.apiKeys.create({ accountId: fx.accountId, scope: "account", name: "own" });
    const balanceBefore = await ledger.balance(fx.accountId);

    const refused = await postCallStatus({ ...simulatorTarget(t, quiet), apiKey: key }, call, "completed", 3_600);
    expect(refused).to.deep.include({ status: 403 });
    expect(refused.body).to.deep.include({ success: false, code: "FORBIDDEN" });
    await new Promise((r) => setTimeout(r, 300));
    expect(await CallModel.findById(call.callId).lean()).to.include({ status: "in-progress", endedAt: null });
    expect(await CallStatusReportModel.findById(call.callId).lean()).to.equal(null);
    expect(await quiet.queue.getJob(closeOutJobId(call.callId))).to.equal(undefined);
    expect(await chargesFor(call.callId)).to.have.length(0);
    expect(await ledger.balance(fx.accountId)).to.deep.equal(balanceBefore);

    const res = await postCallStatus({ ...simulatorTarget(t, quiet), apiKey: TEST_ADMIN_KEY }, call, "completed", 3);
    expect(res.body).to.deep.include({ success: true, outcome: "closed-stream-lost" });
    await expectBilledOnce(call, 3);
    expect((await ledger.balance(fx.accountId)).balanceMicros).to.equal(balanceBefore.balanceMicros - 3 * 2_500);
  });

  it("when the worker is SIGKILLed and nothing reports the end, then the sweeper closes the call with its last known duration, once", async () => {
    const { call, client, stopAudio } = await liveCallOnWorkerProcess();
    await kill(client, stopAudio);
    const lastKnownMs = (await liveness.progressMs(call.callId))!;
    const sweeping = await startTestMedia(twilioRest.url);
    try {
      await expectBilledOnce(call, Math.ceil(lastKnownMs / 1000));
      // Later sweeps and a late callback change nothing.
      await new Promise((r) => setTimeout(r, 400));
      expect((await postCallStatus(simulatorTarget(t, quiet), call, "completed", 30)).body).to.deep.include({ outcome: "already-ended" });
      expect(await chargesFor(call.callId)).to.have.length(1);
    } finally {
      await sweeping.close();
    }
  });

  it("when Twilio's callback arrives while the dead session still looks alive, then the sweeper closes the call with Twilio's duration", async () => {
    const { call, client, stopAudio } = await liveCallOnWorkerProcess();
    // Twilio may report the end before our heartbeat lapses: the figure is kept for the sweeper.
    const res = await postCallStatus(simulatorTarget(t, quiet), call, "completed", 4);
    expect(res.body).to.deep.include({ outcome: "live" });
    await kill(client, stopAudio);
    const sweeping = await startTestMedia(twilioRest.url);
    try {
      await expectBilledOnce(call, 4);
    } finally {
      await sweeping.close();
    }
  });

  it("when Twilio reports a call completed that never streamed, then it closes at no cost and no stream can attach later", async () => {
    const target = simulatorTarget(t, quiet);
    const call = await admitCall(target, { to: fx.number });
    const res = await postCallStatus(target, call, "completed", 4);
    expect(res.body).to.deep.include({ outcome: "closed-not-connected" });
    const closed = await waitForClosedCall(call.callId);
    expect(closed).to.include({ status: "failed", endedReason: "not-connected", billedSeconds: 0, costMicros: 0, answeredAt: null });
    expect(await chargesFor(call.callId)).to.have.length(0);
    expect(await reservations(quiet.redis).heldByCall(fx.accountId, call.callSid)).to.equal(0);
    const late = await openStream(target, call, { mediaUrl: quiet.mediaUrl });
    expect((await late.closed).code).to.equal(1008);
    expect(await CallModel.findById(call.callId).lean()).to.include({ status: "failed", answeredAt: null });
  });

  it("when a call is still ringing long after its stream token expired, then the sweeper closes it at no cost", async () => {
    const call = await admitCall(simulatorTarget(t, quiet), { to: fx.number });
    // The document is written just after the webhook answers; age it once it is there.
    await waitForCallDocument(call.callId);
    await CallModel.updateOne({ _id: call.callId }, { $set: { startedAt: new Date(Date.now() - 10 * 60_000) } });
    const sweeping = await startTestMedia(twilioRest.url);
    try {
      const closed = await waitForClosedCall(call.callId);
      expect(closed).to.include({ status: "failed", endedReason: "not-connected", costMicros: 0 });
      expect(await reservations(quiet.redis).heldByCall(fx.accountId, call.callSid)).to.equal(0);
    } finally {
      await sweeping.close();
    }
  });
});

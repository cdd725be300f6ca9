import { expect } from "chai";
import { Types } from "mongoose";
import { postCallStatus, type AdmittedCall } from "../../media-worker/simulator/simulate-call.js";
import { enqueueCloseOut } from "../../schema/billing/closeout-queue.js";
import { OpenCalls } from "../../schema/billing/open-calls.js";
import { closeOutJobId } from "../../schema/infra/queues.js";
import { CallModel } from "../../schema/models/call.model.js";
import { startTestApp, TEST_AUTH_TOKEN, type TestApp } from "../helpers/app.js";
import { FakeTwilioRest } from "../helpers/fake-twilio.js";
import { createFixture, uniqueCallSid, type Fixture } from "../helpers/fixtures.js";
import {
  chargesFor,
  mediaEnv,
  reservations,
  simulatorTarget,
  startTestMedia,
  startWorkerProcess,
  streamingCall,
  waitFor,
  waitForClosedCall,
  type TestMedia,
  type WorkerProcess,
} from "../helpers/media.js";

/** Far enough ahead that every record counts as stale, without waiting for it in the test. */
const LATER_MS = 60_000;

describe("reconciler: the database is the record of open calls", function () {
  this.timeout(30_000);
  let t: TestApp;
  let twilioRest: FakeTwilioRest;
  let quiet: TestMedia;
  let fx: Fixture;
  let worker: WorkerProcess | null = null;

  before(async () => {
    twilioRest = await FakeTwilioRest.start(TEST_AUTH_TOKEN);
    t = await startTestApp();
    quiet = await startTestMedia(twilioRest.url, { SWEEP_INTERVAL_MS: "600000", CLOSEOUT_ATTEMPTS: "2", CLOSEOUT_BACKOFF_MS: "20" });
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

  /** A call on a worker process that is then SIGKILLed, after which Redis loses everything it knew of the call. */
  async function callLostWithRedis(
    beforeKill?: (call: AdmittedCall) => Promise<void>,
  ): Promise<{ call: AdmittedCall; checkpointMs: number }> {
    worker = await startWorkerProcess(mediaEnv(twilioRest.url, { SWEEP_INTERVAL_MS: "600000" }));
    const { call, client, stopAudio } = await streamingCall(t, worker, fx.number);
    const stored = await waitFor("a checkpoint of at least 1.5 s", async () => {
      const c = await CallModel.findById(call.callId, { checkpointMs: 1 }).lean();
      return (c?.checkpointMs ?? 0) >= 1_500 ? c : null;
    });
    await beforeKill?.(call);
    worker.child.kill("SIGKILL");
    await worker.exited;
    stopAudio();
    await client.closed;
    const tag = `{call:${call.callId}}`;
    await quiet.redis.del(`c247:${tag}:state`, `c247:${tag}:hb`);
    await new OpenCalls(quiet.redis).forget(call.callId);
    return { call, checkpointMs: stored.checkpointMs! };
  }

  async function expectBilledOnce(call: AdmittedCall, seconds: number) {
    const closed = await waitForClosedCall(call.callId);
    expect(closed).to.include({ status: "failed", endedReason: "stream-lost", billedSeconds: seconds, costMicros: seconds * 2_500 });
    const charges = await chargesFor(call.callId);
    expect(charges).to.have.length(1);
    expect(await reservations(quiet.redis).heldByCall(fx.accountId, call.callSid)).to.equal(0);
  }

  it("when Redis lost an answered call and its worker died, then the reconciler bills Twilio's duration, once", async () => {
    const { call } = await callLostWithRedis();
    twilioRest.calls.set(call.callSid, { status: "completed", duration: 4 });
    const first = await quiet.server.reconciler.reconcile(Date.now() + LATER_MS);
    expect(first.closed).to.be.at.least(1);
    await expectBilledOnce(call, 4);
    expect(twilioRest.fetches).to.include(call.callSid);
    await quiet.server.reconciler.reconcile(Date.now() + LATER_MS);
    expect(await chargesFor(call.callId)).to.have.length(1);
  });

  it("when Twilio cannot say, then it bills the session's last checkpoint and never calls the answered call not-connected", async () => {
    const { call, checkpointMs } = await callLostWithRedis();
    await quiet.server.reconciler.reconcile(Date.now() + LATER_MS);
    await expectBilledOnce(call, Math.ceil(checkpointMs / 1000));
  });

  it("when a stored status callback is all that is left, then it bills that duration", async () => {
    const { call } = await callLostWithRedis(async (c) => {
      // Twilio reports the end while the session still looks alive: the figure goes to Redis and the database.
      const res = await postCallStatus(simulatorTarget(t, quiet), c, "completed", 5);
      expect(res.body).to.deep.include({ outcome: "live" });
    });
    await quiet.server.reconciler.reconcile(Date.now() + LATER_MS);
    await expectBilledOnce(call, 5);
  });

  it("when Twilio says the call is still in progress, then the reconciler leaves it open until Twilio says it ended", async () => {
    const { call } = await callLostWithRedis();
    twilioRest.calls.set(call.callSid, { status: "in-progress", duration: null });
    await quiet.server.reconciler.reconcile(Date.now() + LATER_MS);
    expect(await CallModel.findById(call.callId).lean()).to.include({ status: "in-progress", endedAt: null });
    twilioRest.calls.set(call.callSid, { status: "completed", duration: 3 });
    await quiet.server.reconciler.reconcile(Date.now() + LATER_MS);
    await expectBilledOnce(call, 3);
  });

  it("when a close-out exhausts its attempts, then it is counted on /healthz and the reconciler drives it until it succeeds", async () => {
    const health = async () =>
      (await (await fetch(quiet.mediaUrl.replace("ws:", "http:") + "/healthz")).json()) as { closeoutsFailed: number };
    const before = (await health()).closeoutsFailed;
    // Its record is not written yet (admitted while the database was away): every attempt fails.
    const callId = new Types.ObjectId();
    const answeredAt = new Date(Date.now() - 7_000);
    await enqueueCloseOut(
      quiet.queue,
      {
        callId: String(callId),
        status: "completed",
        endedReason: "caller-hangup",
        endedAt: new Date(answeredAt.getTime() + 6_000).toISOString(),
        connectedMs: 6_000,
        answeredAt: answeredAt.toISOString(),
        ratePerMinuteMicros: 150_000,
        source: "stream",
      },
      quiet.config.closeOut,
    );
    await waitFor("the close-out to fail for good", async () => (await quiet.queue.getJob(closeOutJobId(String(callId))))?.isFailed());
    await waitFor("/healthz to count it", async () => (await health()).closeoutsFailed === before + 1);

    const callSid = uniqueCallSid();
    await CallModel.create({
      _id: callId,
      callSid,
      accountId: fx.accountId,
      agentId: fx.agentId,
      to: fx.number,
      status: "in-progress",
      startedAt: answeredAt,
      answeredAt,
    });
    const pass = await quiet.server.reconciler.reconcile();
    expect(pass.retried).to.be.at.least(1);
    const closed = await waitForClosedCall(String(callId));
    expect(closed).to.include({ status: "completed", endedReason: "caller-hangup", billedSeconds: 6, costMicros: 15_000 });
    expect(await chargesFor(callId)).to.have.length(1);
    await waitFor("/healthz to stop counting it", async () => (await health()).closeoutsFailed === before);
  });

  it("when the account's rate changes during a call, then the call is charged at the rate it was admitted at", async () => {
    worker = await startWorkerProcess(mediaEnv(twilioRest.url, { SWEEP_INTERVAL_MS: "600000" }));
    const { call, client, stopAudio } = await streamingCall(t, worker, fx.number);
    await waitFor("the call to be answered", async () => (await CallModel.findById(call.callId).lean())?.answeredAt);
    const { AccountModel } = await import("../../schema/models/account.model.js");
    await AccountModel.updateOne({ _id: fx.accountId }, { $set: { ratePerMinuteMicros: 600_000 } });
    await new Promise((r) => setTimeout(r, 1_200));
    client.sendStop();
    stopAudio();
    const closed = await waitForClosedCall(call.callId);
    expect(closed.costMicros).to.equal(closed.billedSeconds * 2_500);
  });

  it("when a worker process meets an error nothing handled, then it closes out its calls with their real seconds and exits non-zero", async () => {
    worker = await startWorkerProcess(mediaEnv(twilioRest.url, { SWEEP_INTERVAL_MS: "600000" }), [
      "--import",
      "./dist/test/helpers/crash-on-signal.js",
    ]);
    const { call, stopAudio } = await streamingCall(t, worker, fx.number);
    await waitFor("the call to be answered", async () => (await CallModel.findById(call.callId).lean())?.answeredAt);
    await new Promise((r) => setTimeout(r, 1_500));
    const code = new Promise<number | null>((resolve) => worker!.child.once("exit", (c) => resolve(c)));
    worker.child.kill("SIGUSR2");
    expect(await code).to.equal(1);
    stopAudio();
    const closed = await waitForClosedCall(call.callId);
    expect(closed).to.include({ status: "failed", endedReason: "worker-error" });
    const connectedMs = closed.endedAt!.getTime() - closed.answeredAt!.getTime();
    expect(connectedMs).to.be.at.least(1_500);
    expect(closed.billedSeconds).to.equal(Math.ceil(connectedMs / 1000));
    expect(await chargesFor(call.callId)).to.have.length(1);
  });
});

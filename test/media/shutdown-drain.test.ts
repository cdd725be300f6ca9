// The SIGTERM drain (SHUTDOWN_DRAIN_MS, 0 in every other test): a real worker process is sent
// SIGTERM while a call streams to it.
import { expect } from "chai";
import { performance } from "node:perf_hooks";
import { TwilioStreamClient } from "../../media-worker/simulator/stream-client.js";
import { CallModel } from "../../schema/models/call.model.js";
import { startTestApp, TEST_AUTH_TOKEN, type TestApp } from "../helpers/app.js";
import { AppProcess } from "../helpers/app-process.js";
import { FakeTwilioRest } from "../helpers/fake-twilio.js";
import { createFixture } from "../helpers/fixtures.js";
import {
  chargesFor,
  mediaEnv,
  startTestMedia,
  streamingCall,
  TEST_ACCOUNT_SID,
  waitFor,
  waitForClosedCall,
  type TestMedia,
} from "../helpers/media.js";

describe("media worker process: SIGTERM lets live calls finish for SHUTDOWN_DRAIN_MS", function () {
  this.timeout(30_000);
  let t: TestApp;
  let twilioRest: FakeTwilioRest;
  /** Runs the close-outs the stopping worker queues (it never sweeps). */
  let closeOuts: TestMedia;
  let worker: AppProcess | null = null;
  /** The test's call, stopped after a failed test too (its frame timer would keep mocha from exiting). */
  let caller: { client: TwilioStreamClient; stopAudio: () => void } | null = null;

  before(async () => {
    twilioRest = await FakeTwilioRest.start(TEST_AUTH_TOKEN);
    t = await startTestApp();
    closeOuts = await startTestMedia(twilioRest.url, { SWEEP_INTERVAL_MS: "600000" });
  });
  after(async () => {
    await closeOuts.close();
    await t.close();
    await twilioRest.close();
  });
  afterEach(async () => {
    caller?.stopAudio();
    caller?.client.terminate();
    caller = null;
    await worker?.stop();
    worker = null;
  });

  /** A worker process with this drain, and a call streaming to it, in progress. */
  async function liveCall(drainMs: number) {
    const started = await AppProcess.start(
      "dist/media-worker/main.js",
      mediaEnv(twilioRest.url, { SHUTDOWN_DRAIN_MS: String(drainMs), SWEEP_INTERVAL_MS: "600000", LOG_LEVEL: "info" }),
      /"port":(\d+)[^\n]*"msg":"media worker listening"/,
    );
    worker = started.proc;
    const mediaUrl = `ws://127.0.0.1:${started.ready[1]}`;
    const fx = await createFixture({ balanceMicros: 5_000_000 });
    const live = await streamingCall(t, { mediaUrl }, fx.number);
    caller = live;
    await waitFor("the call in progress", () => CallModel.findOne({ _id: live.call.callId, status: "in-progress" }).lean());
    return { ...live, mediaUrl };
  }

  it("when a call is live at SIGTERM, then it goes on and new streams are refused until the caller hangs up; then the call is the caller's hang-up and the worker exits", async () => {
    const { call, client, stopAudio, mediaUrl } = await liveCall(60_000);
    worker!.kill("SIGTERM");
    await worker!.logged("worker shutting down");
    // No new streams while it drains.
    const refused = await TwilioStreamClient.connect({
      url: `${mediaUrl}/${"0".repeat(24)}`,
      callSid: "CA0",
      accountSid: TEST_ACCOUNT_SID,
      customParameters: {},
    }).then(
      () => null,
      (err: Error) => err,
    );
    expect(refused?.message).to.contain("HTTP 503");
    // The live call still talks: its audio is echoed.
    const echoed = client.received.length;
    await waitFor("echoed audio during the drain", () => client.received.length >= echoed + 10);
    expect(client.isOpen).to.equal(true);
    expect(worker!.running).to.equal(true);

    stopAudio();
    client.sendStop();
    expect((await client.closed).code).to.equal(1000);
    // Long before the 60 s drain is over: it ends with the last call.
    expect(await worker!.exited).to.deep.equal({ code: 0, signal: null });
    const closed = await waitForClosedCall(call.callId);
    expect(closed).to.include({ status: "completed", endedReason: "caller-hangup" });
    expect(closed.billedSeconds).to.equal(Math.ceil((closed.endedAt!.getTime() - closed.answeredAt!.getTime()) / 1000));
    expect(await chargesFor(call.callId)).to.have.length(1);
    expect(twilioRest.hangUpsFor(call.callSid)).to.have.length(0);
  });

  it("when a call outlasts SHUTDOWN_DRAIN_MS, then it is hung up as worker-shutdown once the drain is over, billed, and the worker exits", async () => {
    const DRAIN_MS = 1_500;
    const { call, client, stopAudio } = await liveCall(DRAIN_MS);
    const sigtermAt = performance.now();
    worker!.kill("SIGTERM");
    const close = await client.closed;
    // Timers fire late on a busy machine, never early (the drain's deadline is on Date.now(), whole ms).
    expect(performance.now() - sigtermAt).to.be.at.least(DRAIN_MS - 5);
    stopAudio();
    expect(close.code).to.equal(1000);
    expect(await worker!.exited).to.deep.equal({ code: 0, signal: null });
    const closed = await waitForClosedCall(call.callId);
    expect(closed).to.include({ status: "failed", endedReason: "worker-shutdown" });
    expect(closed.billedSeconds).to.equal(Math.ceil((closed.endedAt!.getTime() - closed.answeredAt!.getTime()) / 1000));
    expect(await chargesFor(call.callId)).to.have.length(1);
    await waitFor("the hang-up through Twilio", () => twilioRest.hangUpsFor(call.callSid).length === 1);
  });
});

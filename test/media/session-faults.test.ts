import { expect } from "chai";
import { admitCall, openStream, type AdmittedCall } from "../../media-worker/simulator/simulate-call.js";
import type { TwilioStreamClient } from "../../media-worker/simulator/stream-client.js";
import { CallLiveness, STREAM_OWNER_PREFIX } from "../../schema/billing/call-liveness.js";
import { closeOutJobId } from "../../schema/infra/queues.js";
import { CallModel } from "../../schema/models/call.model.js";
import { startTestApp, TEST_AUTH_TOKEN, type TestApp } from "../helpers/app.js";
import { FakeTwilioRest } from "../helpers/fake-twilio.js";
import { createFixture, type Fixture } from "../helpers/fixtures.js";
import { chargesFor, simulatorTarget, startTestMedia, waitFor, waitForClosedCall, type TestMedia } from "../helpers/media.js";
import { scriptedEngines, toneFrames, type EngineScript } from "../helpers/scripted-engine.js";

const SILENCE = toneFrames(20, 0)[0]!;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe("media worker: a call's faults stay its own and are not billed as the caller's", function () {
  this.timeout(30_000);
  let t: TestApp;
  let twilioRest: FakeTwilioRest;
  let fx: Fixture;
  let media: TestMedia | null = null;
  const talking: NodeJS.Timeout[] = [];

  before(async () => {
    twilioRest = await FakeTwilioRest.start(TEST_AUTH_TOKEN);
    t = await startTestApp();
  });
  after(async () => {
    await t.close();
    await twilioRest.close();
  });
  beforeEach(async () => {
    fx = await createFixture({ balanceMicros: 5_000_000 });
  });
  afterEach(async () => {
    talking.splice(0).forEach(clearInterval);
    await media?.close();
    media = null;
  });

  async function start(script: EngineScript | null, env: Record<string, string> = {}) {
    media = await startTestMedia(twilioRest.url, env, script ? { engines: scriptedEngines(script) } : {});
    return media;
  }

  /** A call streaming caller audio (silence frames, so the stream never looks idle). */
  async function liveCall(): Promise<{ call: AdmittedCall; client: TwilioStreamClient }> {
    const target = simulatorTarget(t, media!);
    const call = await admitCall(target, { to: fx.number });
    const client = await openStream(target, call, { mediaUrl: media!.mediaUrl });
    talking.push(setInterval(() => client.isOpen && client.sendMedia(SILENCE), 20));
    const liveness = new CallLiveness(media!.redis);
    await waitFor("the stream to own its call", async () => (await liveness.owner(call.callId))?.startsWith(STREAM_OWNER_PREFIX));
    return { call, client };
  }

  const stateKey = (callId: string) => `c247:{call:${callId}}:state`;

  it("when another process takes the call over, then the session is fenced: it stops, hangs up and bills nothing", async () => {
    // No sweeper here: the process that took the call over is the test, and it bills nothing.
    await start(null, { SWEEP_INTERVAL_MS: "600000" });
    const { call, client } = await liveCall();
    await media!.redis.hset(stateKey(call.callId), "owner", "sweeper");
    expect((await client.closed).code).to.equal(1000);
    await waitFor("the Twilio hang-up", () => twilioRest.hangUpsFor(call.callSid).length === 1);
    await sleep(300);
    expect(await media!.queue.getJob(closeOutJobId(call.callId))).to.equal(undefined);
    expect(await chargesFor(call.callId)).to.have.length(0);
    expect(await CallModel.findById(call.callId).lean()).to.include({ endedAt: null });
  });

  it("when Redis loses the call's state while the session lives, then the session takes its call back and talks on", async () => {
    await start(null);
    const { call, client } = await liveCall();
    await media!.redis.del(stateKey(call.callId));
    const liveness = new CallLiveness(media!.redis);
    await waitFor("the session to reclaim its call", async () => (await liveness.owner(call.callId))?.startsWith(STREAM_OWNER_PREFIX));
    expect(client.isOpen).to.equal(true);
    client.sendStop();
    const closed = await waitForClosedCall(call.callId);
    expect(closed).to.include({ status: "completed", endedReason: "caller-hangup" });
    expect(await chargesFor(call.callId)).to.have.length(1);
  });

  it("when the voice engine fails before the agent said anything, then the call costs nothing and says why", async () => {
    await start({ start: (ctx) => ctx.endCall("provider-error", { farewell: true }) });
    const { call, client } = await liveCall();
    await client.closed;
    const closed = await waitForClosedCall(call.callId);
    expect(closed).to.include({ status: "failed", endedReason: "provider-error", billedSeconds: 0, costMicros: 0 });
    expect(await chargesFor(call.callId)).to.have.length(0);
  });

  it("when the provider fails mid-call, then the seconds from the failure to the hang-up are not billed", async () => {
    await start(
      {
        start: (ctx) => {
          for (const frame of toneFrames(1_000)) ctx.sendAudio(frame);
          setTimeout(() => ctx.endCall("provider-disconnected", { farewell: true }), 1_200);
        },
      },
      { GOODBYE_MS: "2000" },
    );
    const { call, client } = await liveCall();
    await client.closed;
    const closed = await waitForClosedCall(call.callId);
    const connectedMs = closed.endedAt!.getTime() - closed.answeredAt!.getTime();
    // The goodbye tone ran after the failure: connected time includes it, the bill does not.
    expect(connectedMs).to.be.at.least(3_100);
    expect(closed).to.include({ status: "failed", endedReason: "provider-disconnected", billedSeconds: 2, costMicros: 5_000 });
  });

  it("when a spoken goodbye lasts longer than GOODBYE_MS, then the call hangs up after its mark came back, having played all of it", async () => {
    const goodbye = toneFrames(2_500, 300);
    await start(
      {
        sayGoodbye: async (ctx, marks) => {
          for (const frame of goodbye) ctx.sendAudio(frame);
          ctx.sendMark("bye");
          await marks("bye");
          return true;
        },
      },
      { MAX_CALL_SECONDS: "3", GOODBYE_MS: "1000" },
    );
    const { call, client } = await liveCall();
    await client.closed;
    expect(client.received).to.have.length(goodbye.length);
    expect(client.marksRequested).to.include("bye");
    const closed = await waitForClosedCall(call.callId);
    expect(closed).to.include({ status: "completed", endedReason: "max-duration" });
    // The goodbye began about 1.75 s in and played 2.5 s of audio.
    expect(closed.endedAt!.getTime() - closed.answeredAt!.getTime()).to.be.at.least(4_000);
    // The caller was released before the billing writes.
    expect(twilioRest.hangUpTimes.get(call.callSid)).to.be.at.most(closed.updatedAt.getTime());
  });

  it("when a goodbye's mark never comes back, then the call hangs up after its audio's length plus a margin", async () => {
    await start(
      {
        sayGoodbye: (ctx) => {
          for (const frame of toneFrames(500, 300)) ctx.sendAudio(frame);
          return new Promise<boolean>(() => undefined);
        },
      },
      { MAX_CALL_SECONDS: "3", GOODBYE_MS: "1000" },
    );
    const { call, client } = await liveCall();
    await client.closed;
    const closed = await waitForClosedCall(call.callId);
    expect(closed).to.include({ endedReason: "max-duration" });
    // Goodbye at about 1.75 s, hang-up GOODBYE_MS plus the margin later; never the idle timeout.
    expect(closed.endedAt!.getTime() - closed.answeredAt!.getTime()).to.be.within(3_000, 6_000);
  });

  it("when one call's engine throws, then only that call ends as a worker error and the other talks on", async () => {
    await start({
      onDtmf: (_ctx, digit) => {
        if (digit === "9") throw new Error("engine bug");
      },
    });
    const first = await liveCall();
    const second = await liveCall();
    first.client.sendDtmf("9");
    const closedFirst = await waitForClosedCall(first.call.callId);
    expect(closedFirst).to.include({ status: "failed", endedReason: "worker-error" });
    expect(second.client.isOpen).to.equal(true);
    second.client.sendStop();
    expect(await waitForClosedCall(second.call.callId)).to.include({ status: "completed", endedReason: "caller-hangup" });
  });
});

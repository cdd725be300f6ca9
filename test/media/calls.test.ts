import { expect } from "chai";
import { GREETING_TONES, renderTones, toFramePayloads } from "../../media-worker/audio/tone.js";
import { simulateCall, type SimulateCallOptions } from "../../media-worker/simulator/simulate-call.js";
import { CallModel } from "../../schema/models/call.model.js";
import { useMediaStack } from "../helpers/media-stack.js";
import { createFixture, type Fixture } from "../helpers/fixtures.js";
import { TEST_AUTH_TOKEN } from "../helpers/app.js";
import { chargesFor, reservations, simulatorTarget, startTestMedia, waitFor, waitForClosedCall } from "../helpers/media.js";

const FIVE_DOLLARS = 5_000_000;
/** 20 ms frames of a 300 Hz tone, different from the greeting. */
const CALLER_AUDIO = renderTones([
  { hz: 300, ms: 400 },
  { hz: 500, ms: 400 },
]);

describe("media worker: calls end to end", function () {
  this.timeout(20_000);
  let fx: Fixture;

  const stack = useMediaStack();
  beforeEach(async () => {
    fx = await createFixture({ balanceMicros: FIVE_DOLLARS });
  });

  const call = (extra: Partial<SimulateCallOptions> = {}) =>
    simulateCall({ ...simulatorTarget(stack.t, stack.media), to: fx.number, audio: CALLER_AUDIO, durationMs: 800, ...extra });

  it("when a caller talks, then the agent greets with tones and echoes every frame back untouched", async () => {
    const result = await call();
    const greeting = toFramePayloads(renderTones(GREETING_TONES));
    expect(result.client.received).to.deep.equal([...greeting, ...result.sent]);
    expect(result.client.marksRequested).to.include("greeting");
    expect(result.endedByServer).to.equal(false);
    expect(result.close.code).to.equal(1000);
  });

  it("when the call is live, then it is in progress with its stream, and after the hang-up it is completed and billed", async () => {
    let during: { status: string; streamSid?: string | null; answeredAt?: Date | null } | null = null;
    const result = await call({
      durationMs: 1_200,
      onStarted: async (_client, admitted) => {
        during = await waitFor("call in progress", () => CallModel.findOne({ _id: admitted.callId, status: "in-progress" }).lean());
      },
    });
    expect(during).to.include({ status: "in-progress", streamSid: result.client.streamSid });
    expect(during!.answeredAt).to.be.instanceOf(Date);

    const closed = await waitForClosedCall(result.callId);
    const connectedMs = closed.endedAt!.getTime() - closed.answeredAt!.getTime();
    expect(closed).to.include({ status: "completed", endedReason: "caller-hangup" });
    expect(connectedMs).to.be.greaterThan(1_100);
    expect(closed.billedSeconds).to.equal(Math.ceil(connectedMs / 1000));
    expect(closed.costMicros).to.equal(closed.billedSeconds * 2_500);

    const charges = await chargesFor(result.callId);
    expect(charges).to.have.length(1);
    expect(charges[0]!.amountMicros).to.equal(-closed.costMicros);
    expect(charges[0]!.reference).to.equal(`call:${result.callId}`);
    // The first minute held at admission is released once the charge is written.
    expect(await reservations(stack.media.redis).availableMicros(fx.accountId)).to.equal(FIVE_DOLLARS - closed.costMicros);
    expect(stack.twilioRest.hangUpsFor(result.callSid)).to.have.length(0);
  });

  it("when Twilio's status callback follows the stream's stop, then the call is still billed once", async () => {
    const result = await call({ durationMs: 600, statusCallback: false });
    const closed = await waitForClosedCall(result.callId);
    // Twilio reports a longer duration than the stream measured; the stream's figure stands.
    const { postCallStatus } = await import("../../media-worker/simulator/simulate-call.js");
    const res = await postCallStatus(simulatorTarget(stack.t, stack.media), result, "completed", 42);
    expect(res.status).to.equal(200);
    expect(res.body).to.deep.include({ success: true, outcome: "already-ended" });
    await new Promise((r) => setTimeout(r, 300));
    expect(await chargesFor(result.callId)).to.have.length(1);
    expect(await CallModel.findById(result.callId).lean()).to.include({
      billedSeconds: closed.billedSeconds,
      costMicros: closed.costMicros,
      endedReason: "caller-hangup",
    });
  });

  it("when the caller presses # on the echo agent, then the agent ends the call through Twilio's REST API", async () => {
    const result = await call({
      durationMs: 5_000,
      hangup: "none",
      onStarted: (client) => {
        setTimeout(() => client.sendDtmf("#"), 300);
      },
    });
    expect(result.endedByServer).to.equal(true);
    const closed = await waitForClosedCall(result.callId);
    expect(closed).to.include({ status: "completed", endedReason: "agent-ended" });
    expect(stack.twilioRest.hangUpsFor(result.callSid)).to.deep.equal([
      {
        accountSid: result.accountSid,
        callSid: result.callSid,
        fields: { Status: "completed" },
        user: stack.media.config.twilioAccountSid,
        password: TEST_AUTH_TOKEN,
      },
    ]);
    expect(await chargesFor(result.callId)).to.have.length(1);
  });

  it("when the socket closes without a stop, then the call fails as a stream error, is hung up and billed", async () => {
    const result = await call({ durationMs: 400, hangup: "close" });
    const closed = await waitForClosedCall(result.callId);
    expect(closed).to.include({ status: "failed", endedReason: "stream-error", billedSeconds: 1, costMicros: 2_500 });
    await waitFor("hang-up", () => stack.twilioRest.hangUpsFor(result.callSid).length === 1);
    expect(await chargesFor(result.callId)).to.have.length(1);
  });

  it("when the stream goes quiet without closing, then the worker ends the call as a stream error", async () => {
    const result = await call({ durationMs: 100, hangup: "none", statusCallback: false });
    expect(result.endedByServer).to.equal(true);
    const closed = await waitForClosedCall(result.callId);
    expect(closed).to.include({ status: "failed", endedReason: "stream-error" });
    expect(closed.endedAt!.getTime() - closed.answeredAt!.getTime()).to.be.at.least(stack.media.config.streamIdleTimeoutMs);
    expect(stack.twilioRest.hangUpsFor(result.callSid)).to.have.length(1);
  });

  it("when the worker shuts down during a call, then the call is hung up, billed and marked worker-shutdown", async () => {
    const other = await startTestMedia(stack.twilioRest.url);
    let stopped = Promise.resolve();
    const result = await call({
      ...simulatorTarget(stack.t, other),
      durationMs: 5_000,
      hangup: "none",
      statusCallback: false,
      onStarted: async (_c, admitted) => {
        await waitFor("call in progress", () => CallModel.findOne({ _id: admitted.callId, status: "in-progress" }).lean());
        stopped = other.close();
      },
    });
    await stopped;
    expect(result.close.code).to.equal(1000);
    const closed = await waitForClosedCall(result.callId);
    expect(closed).to.include({ status: "failed", endedReason: "worker-shutdown" });
    expect(stack.twilioRest.hangUpsFor(result.callSid)).to.have.length(1);
    expect(await chargesFor(result.callId)).to.have.length(1);
  });
});

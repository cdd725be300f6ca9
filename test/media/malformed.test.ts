import { expect } from "chai";
import { GREETING_TONES, renderTones, toFramePayloads } from "../../media-worker/audio/tone.js";
import { startMessage } from "../../media-worker/protocol/twilio-side.js";
import { admitCall, openStream, reachableStreamUrl, type AdmittedCall } from "../../media-worker/simulator/simulate-call.js";
import { TwilioStreamClient } from "../../media-worker/simulator/stream-client.js";
import { CallModel } from "../../schema/models/call.model.js";
import { TEST_AUTH_TOKEN } from "../helpers/app.js";
import { useMediaStack } from "../helpers/media-stack.js";
import { createFixture, type Fixture } from "../helpers/fixtures.js";
import { chargesFor, simulatorTarget, waitFor, waitForClosedCall } from "../helpers/media.js";

const GREETING = toFramePayloads(renderTones(GREETING_TONES));
const VALID = toFramePayloads(renderTones([{ hz: 300, ms: 100 }]));
const MORE = toFramePayloads(renderTones([{ hz: 500, ms: 100 }]));
const PRE_START = toFramePayloads(renderTones([{ hz: 1200, ms: 60 }]));

describe("media worker: malformed and out-of-order messages", function () {
  this.timeout(20_000);
  let fx: Fixture;

  const stack = useMediaStack({ MAX_MESSAGE_BYTES: "8192" });
  beforeEach(async () => {
    fx = await createFixture({ balanceMicros: 5_000_000 });
  });

  const admit = () => admitCall(simulatorTarget(stack.t, stack.media), { to: fx.number });
  const open = (call: AdmittedCall) => openStream(simulatorTarget(stack.t, stack.media), call, { mediaUrl: stack.media.mediaUrl });

  async function sendAndAwaitEcho(client: TwilioStreamClient, frames: string[]) {
    const before = client.received.length;
    for (const f of frames) client.sendMedia(f);
    await waitFor("echo", () => client.received.length >= before + frames.length);
  }

  /** A second, well-behaved call streaming while the first misbehaves. */
  async function bystander() {
    const call = await admit();
    const client = await open(call);
    await waitFor("bystander greeting", () => client.received.length >= GREETING.length);
    return { call, client };
  }

  async function finishBystander(b: { call: AdmittedCall; client: TwilioStreamClient }) {
    await sendAndAwaitEcho(b.client, MORE);
    b.client.sendStop();
    await b.client.closed;
    expect(await waitForClosedCall(b.call.callId)).to.include({ status: "completed", endedReason: "caller-hangup" });
  }

  it("when garbage arrives mid-call, then it is ignored, the call goes on and other calls are untouched", async () => {
    const other = await bystander();
    const call = await admit();
    const victim = await admitCall(simulatorTarget(stack.t, stack.media), { to: fx.number });
    const client = await open(call);
    await sendAndAwaitEcho(client, VALID);

    client.sendRaw("this is not json");
    client.sendRaw("[1,2,3]");
    client.sendRaw('{"event":"dance","moves":["twist"]}');
    client.sendRaw('{"event":"media","media":{"payload":"%%%not base64%%%"}}');
    client.sendRaw('{"event":"media","media":{}}');
    client.sendRaw('{"event":"dtmf","dtmf":{"digit":"not a digit"}}');
    client.sendRaw('{"event":"mark","mark":{"name":"nobody-asked"}}');
    client.sendRaw(Buffer.from([0xde, 0xad, 0xbe, 0xef]));
    // A second start, even one carrying another call's valid parameters, changes nothing.
    client.sendRaw(
      startMessage(99, { streamSid: "MZ2", accountSid: victim.accountSid, callSid: victim.callSid, customParameters: victim.twiml.params }),
    );

    await sendAndAwaitEcho(client, MORE);
    expect(client.received).to.deep.equal([...GREETING, ...VALID, ...MORE]);
    client.sendStop();
    expect((await client.closed).code).to.equal(1000);
    const closed = await waitForClosedCall(call.callId);
    expect(closed).to.include({ status: "completed", endedReason: "caller-hangup", streamSid: client.streamSid });
    expect(await chargesFor(call.callId)).to.have.length(1);
    expect(await CallModel.findById(victim.callId).lean()).to.include({ status: "ringing", answeredAt: null });
    await finishBystander(other);
  });

  it("when media arrives before start, then it is dropped and the stream still starts", async () => {
    const call = await admit();
    const client = await TwilioStreamClient.connect({
      url: reachableStreamUrl(call.twiml.url, stack.media.mediaUrl),
      signedUrl: call.twiml.url,
      authToken: TEST_AUTH_TOKEN,
      callSid: call.callSid,
      accountSid: call.accountSid,
      customParameters: call.twiml.params,
    });
    client.sendConnected();
    for (const f of PRE_START) client.sendMedia(f);
    client.sendStart();
    await sendAndAwaitEcho(client, VALID);
    expect(client.received).to.deep.equal([...GREETING, ...VALID]);
    client.sendStop();
    await client.closed;
    expect(await waitForClosedCall(call.callId)).to.include({ status: "completed" });
  });

  it("when a frame is larger than MAX_MESSAGE_BYTES, then only that call ends, as a stream error, hung up and billed", async () => {
    const other = await bystander();
    const call = await admit();
    const client = await open(call);
    await sendAndAwaitEcho(client, VALID);
    client.sendRaw(`{"event":"media","media":{"payload":"${"A".repeat(10_000)}"}}`);
    expect((await client.closed).code).to.equal(1009);
    const closed = await waitForClosedCall(call.callId);
    expect(closed).to.include({ status: "failed", endedReason: "stream-error", billedSeconds: 1 });
    await waitFor("hang-up", () => stack.twilioRest.hangUpsFor(call.callSid).length === 1);
    expect(await chargesFor(call.callId)).to.have.length(1);
    await finishBystander(other);
  });

  it("when stop arrives while the stream is still being authorized, then the call ends at once", async () => {
    const call = await admit();
    const client = await TwilioStreamClient.connect({
      url: reachableStreamUrl(call.twiml.url, stack.media.mediaUrl),
      signedUrl: call.twiml.url,
      authToken: TEST_AUTH_TOKEN,
      callSid: call.callSid,
      accountSid: call.accountSid,
      customParameters: call.twiml.params,
    });
    client.sendConnected();
    client.sendStart();
    client.sendStop();
    expect((await client.closed).code).to.equal(1000);
    expect(await waitForClosedCall(call.callId)).to.include({ status: "completed", endedReason: "caller-hangup", billedSeconds: 1 });
  });
});

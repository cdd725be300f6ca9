// Calls are answered through a database failover (issue 11): the process-wide database
// connection goes through a loopback proxy that the tests pause, as a frozen or failing-over
// server looks to a client (connections open, nothing answered).
import { performance } from "node:perf_hooks";
import { expect } from "chai";
import { renderTones, toFramePayloads } from "../../media-worker/audio/tone.js";
import { admitCall, openStream, type AdmittedCall } from "../../media-worker/simulator/simulate-call.js";
import { parseStreamTwiml } from "../../media-worker/simulator/twiml.js";
import { CallAdmissions } from "../../schema/billing/call-admissions.js";
import { connectDatabase, disconnectDatabase } from "../../schema/infra/db.js";
import { CallModel } from "../../schema/models/call.model.js";
import { testEnv } from "../helpers/env.js";
import { createFixture, type Fixture } from "../helpers/fixtures.js";
import { useMediaStack } from "../helpers/media-stack.js";
import { chargesFor, reservations, simulatorTarget, waitFor, waitForCallDocument, waitForClosedCall } from "../helpers/media.js";
import { TcpProxy } from "../helpers/tcp-proxy.js";
import { inboundCallFields, postForm } from "../helpers/twilio.js";

const TONE = toFramePayloads(renderTones([{ hz: 350, ms: 200 }]));
const ANSWER_WITHIN_MS = 2_000;

describe("POST /inbound_call while the database does not answer", function () {
  this.timeout(60_000);
  let proxy: TcpProxy;

  before(async () => {
    const target = new URL(testEnv().mongodbUri);
    proxy = await TcpProxy.start({ host: target.hostname, port: Number(target.port) });
    target.host = `127.0.0.1:${proxy.port}`;
    await disconnectDatabase();
    await connectDatabase(target.toString(), { monitorCommands: true });
  });
  const stack = useMediaStack();
  after(async () => {
    // Registered after the stack's hooks, so it runs after the stack has stopped.
    proxy.resume();
    await disconnectDatabase();
    await connectDatabase(testEnv().mongodbUri, { monitorCommands: true });
    await proxy.close();
  });
  afterEach(() => proxy.resume());

  let fx: Fixture;
  beforeEach(async () => {
    fx = await createFixture({ balanceMicros: 5_000_000 });
  });

  const target = () => simulatorTarget(stack.t, stack.media);
  /** One ordinary call while the database answers: the process now has the number's routing and a balance snapshot. */
  async function warmUp(number = fx.number) {
    const call = await admitCall(target(), { to: number });
    await waitForCallDocument(call.callId);
    return call;
  }
  async function timedPost(fields: Record<string, string>) {
    const t0 = performance.now();
    const res = await postForm(stack.t, "/inbound_call", fields);
    return { ...res, ms: performance.now() - t0 };
  }

  it("when a cached number is called, then TwiML comes back within 2 s, the hold is in Redis, a retry gets the same TwiML, the stream is accepted before its document exists, and the call is written once and billed once the database is back", async () => {
    await warmUp();
    proxy.pause();
    const fields = inboundCallFields(fx.number, { AccountSid: `AC${"ab".repeat(16)}` });
    const first = await timedPost(fields);
    expect(first.status, first.text).to.equal(200);
    expect(first.ms).to.be.below(ANSWER_WITHIN_MS);
    const twiml = parseStreamTwiml(first.text);
    const callId = twiml.params.callId!;
    expect(await reservations(stack.media.redis).heldByCall(fx.accountId, fields.CallSid)).to.equal(150_000);
    const admissions = new CallAdmissions(stack.media.redis);
    expect(await admissions.get(callId)).to.include({
      callSid: fields.CallSid,
      ratePerMinuteMicros: 150_000,
      twilioAccountSid: fields.AccountSid,
    });
    expect(await admissions.isPending(callId)).to.equal(true);

    const retry = await timedPost(fields);
    expect(retry.status).to.equal(200);
    expect(retry.ms).to.be.below(ANSWER_WITHIN_MS);
    expect(retry.text).to.equal(first.text);
    expect(await reservations(stack.media.redis).heldByCall(fx.accountId, fields.CallSid)).to.equal(150_000);

    // The database is still away: the worker takes the stream on the token and the admission record.
    const call: AdmittedCall = { callSid: fields.CallSid, accountSid: fields.AccountSid!, callId, twiml, answeredAt: Date.now() };
    const client = await openStream(target(), call, { mediaUrl: stack.media.mediaUrl });
    for (const p of TONE) client.sendMedia(p);
    await waitFor("echo while the database is away", () => client.received.length > TONE.length);

    proxy.resume();
    await waitFor("call written and in progress", () => CallModel.findOne({ _id: callId, status: "in-progress" }).lean(), 15_000);
    await new Promise((r) => setTimeout(r, 1_000));
    client.sendStop();
    await client.closed;
    const closed = await waitForClosedCall(callId, 15_000);
    expect(closed).to.include({
      endedReason: "caller-hangup",
      callSid: fields.CallSid,
      ratePerMinuteMicros: 150_000,
      twilioAccountSid: fields.AccountSid,
    });
    expect(closed.billedSeconds).to.be.within(1, 30);
    expect(await chargesFor(callId)).to.have.length(1);
    expect(await CallModel.countDocuments({ callSid: fields.CallSid })).to.equal(1);
    await waitFor("nothing left pending", async () => !(await admissions.isPending(callId)));
  });

  it("when a number nobody has routed yet is called, then it is refused with a retryable DATABASE_UNAVAILABLE within 2 s and nothing is held", async () => {
    proxy.pause();
    const fields = inboundCallFields(fx.number);
    const res = await timedPost(fields);
    expect(res.ms).to.be.below(ANSWER_WITHIN_MS);
    expect(res.status).to.equal(503);
    expect(JSON.parse(res.text)).to.deep.include({ success: false, code: "DATABASE_UNAVAILABLE" });
    expect(await reservations(stack.media.redis).heldByCall(fx.accountId, fields.CallSid)).to.equal(0);
  });

  it("when the balance snapshot is older than a released charge, then no call is admitted on it", async () => {
    await warmUp();
    // A call's charge landed after the snapshot and released its hold: what the snapshot shows is gone.
    await reservations(stack.media.redis).release(fx.accountId, "CAelsewhere", 1_000_000);
    proxy.pause();
    const res = await timedPost(inboundCallFields(fx.number));
    expect(res.ms).to.be.below(ANSWER_WITHIN_MS);
    expect(res.status).to.equal(503);
    expect(JSON.parse(res.text).code).to.equal("DATABASE_UNAVAILABLE");
  });

  it("when the snapshot shows the money is held by live calls, then the call is refused for its balance", async () => {
    const oneMinute = await createFixture({ balanceMicros: 150_000 });
    await warmUp(oneMinute.number);
    proxy.pause();
    const res = await timedPost(inboundCallFields(oneMinute.number));
    expect(res.ms).to.be.below(ANSWER_WITHIN_MS);
    expect(res.status).to.equal(402);
    expect(JSON.parse(res.text).code).to.equal("INSUFFICIENT_BALANCE");
  });
});

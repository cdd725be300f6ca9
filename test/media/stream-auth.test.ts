import net from "node:net";
import { expect } from "chai";
import { renderTones, toFramePayloads } from "../../media-worker/audio/tone.js";
import { TwilioStreamClient, type StreamClientOptions } from "../../media-worker/simulator/stream-client.js";
import { admitCall, openStream, randomSid, reachableStreamUrl, type AdmittedCall } from "../../media-worker/simulator/simulate-call.js";
import { CallLiveness } from "../../schema/billing/call-liveness.js";
import { CallAdmissions } from "../../schema/billing/call-admissions.js";
import { signStreamToken, verifyStreamToken, type StreamClaims } from "../../schema/infra/stream-token.js";
import { CallModel } from "../../schema/models/call.model.js";
import { TEST_AUTH_TOKEN } from "../helpers/app.js";
import { useMediaStack } from "../helpers/media-stack.js";
import { createFixture, type Fixture } from "../helpers/fixtures.js";
import { chargesFor, reservations, simulatorTarget, waitFor, waitForCallDocument, waitForClosedCall } from "../helpers/media.js";

const TONE = toFramePayloads(renderTones([{ hz: 350, ms: 200 }]));

describe("media worker: stream authentication", function () {
  this.timeout(20_000);
  let fx: Fixture;

  const stack = useMediaStack();
  beforeEach(async () => {
    fx = await createFixture({ balanceMicros: 5_000_000 });
  });

  /** Admitted, and its Call document written (that happens just after the webhook answers). */
  const admit = async () => {
    const call = await admitCall(simulatorTarget(stack.t, stack.media), { to: fx.number });
    await waitForCallDocument(call.callId);
    return call;
  };
  const claimsOf = (call: AdmittedCall): StreamClaims => {
    const check = verifyStreamToken(stack.media.config.streamTokenSecret, call.twiml.params.token!, call.callId, 0);
    if (!check.ok || !check.claims) throw new Error("the TwiML's token does not verify");
    return check.claims;
  };
  const resign = (call: AdmittedCall, over: Partial<StreamClaims>) =>
    signStreamToken(stack.media.config.streamTokenSecret, { ...claimsOf(call), ...over });

  /** Connects as Twilio would for `call`, with any part overridden. */
  async function connect(call: AdmittedCall, over: Partial<StreamClientOptions> = {}) {
    const client = await TwilioStreamClient.connect({
      url: reachableStreamUrl(call.twiml.url, stack.media.mediaUrl),
      signedUrl: call.twiml.url,
      authToken: TEST_AUTH_TOKEN,
      callSid: call.callSid,
      accountSid: call.accountSid,
      customParameters: call.twiml.params,
      ...over,
    });
    client.sendConnected();
    client.sendStart();
    for (const p of TONE) client.sendMedia(p);
    return client;
  }

  /** The stream was closed with 1008 and the call is exactly as /inbound_call left it. */
  async function expectRefusedAndUntouched(client: TwilioStreamClient, call: AdmittedCall) {
    const close = await client.closed;
    expect(close.code).to.equal(1008);
    expect(client.received).to.deep.equal([]);
    const stored = await CallModel.findById(call.callId).lean();
    expect(stored).to.include({ status: "ringing", answeredAt: null, endedAt: null, billedSeconds: 0 });
    expect(await chargesFor(call.callId)).to.have.length(0);
    expect(await reservations(stack.media.redis).heldByCall(fx.accountId, call.callSid)).to.equal(150_000);
    expect(await new CallLiveness(stack.media.redis).owner(call.callId)).to.equal(null);
    expect(stack.twilioRest.hangUpsFor(call.callSid)).to.have.length(0);
  }

  /** A refused attempt must not stop the genuine stream from working afterwards. */
  async function expectGenuineStreamWorks(call: AdmittedCall) {
    const client = await openStream(simulatorTarget(stack.t, stack.media), call, { mediaUrl: stack.media.mediaUrl });
    for (const p of TONE) client.sendMedia(p);
    await waitFor("echo", () => client.received.length > TONE.length);
    client.sendStop();
    await client.closed;
    expect((await waitForClosedCall(call.callId)).endedReason).to.equal("caller-hangup");
  }

  it("when the token's signature is wrong, then the stream is refused and nothing changes", async () => {
    const call = await admit();
    const token = call.twiml.params.token!;
    const forged = token.slice(0, -2) + (token.endsWith("AA") ? "BB" : "AA");
    await expectRefusedAndUntouched(await connect(call, { customParameters: { ...call.twiml.params, token: forged } }), call);
    await expectGenuineStreamWorks(call);
  });

  it("when the token is missing or not a token, then the stream is refused", async () => {
    const call = await admit();
    const { token: _omit, ...noToken } = call.twiml.params;
    await expectRefusedAndUntouched(await connect(call, { customParameters: noToken }), call);
    await expectRefusedAndUntouched(await connect(call, { customParameters: { ...call.twiml.params, token: "letmein" } }), call);
  });

  it("when the token has expired, then the stream is refused", async () => {
    const call = await admit();
    const expired = resign(call, { expiresAtSec: Math.floor(Date.now() / 1000) - 1 });
    await expectRefusedAndUntouched(await connect(call, { customParameters: { ...call.twiml.params, token: expired } }), call);
  });

  it("when the token belongs to another call, then the stream is refused", async () => {
    const call = await admit();
    const other = await admit();
    // Another call's complete parameters on this call's URL.
    await expectRefusedAndUntouched(await connect(call, { customParameters: other.twiml.params }), call);
    // This call's id with another call's token.
    await expectRefusedAndUntouched(
      await connect(call, { customParameters: { ...call.twiml.params, token: other.twiml.params.token! } }),
      call,
    );
    expect(await CallModel.findById(other.callId).lean()).to.include({ status: "ringing" });
  });

  it("when the start reports another CallSid, then the stream is refused", async () => {
    const call = await admit();
    await expectRefusedAndUntouched(await connect(call, { callSid: randomSid("CA") }), call);
  });

  it("when a validly signed token carries other facts than the call's admission, then the stream is refused", async () => {
    const call = await admit();
    // Signed with the real secret for another CallSid, as a leaked key would allow: still refused.
    const otherSid = resign(call, { callSid: randomSid("CA") });
    await expectRefusedAndUntouched(await connect(call, { customParameters: { ...call.twiml.params, token: otherSid } }), call);
    await expectGenuineStreamWorks(call);
  });

  it("when the call's document is not written yet, then the stream is accepted on its token and admission record, and billed", async () => {
    const call = await admit();
    // As if the database had been away since admission: no document, only the record in Redis.
    await CallModel.deleteOne({ _id: call.callId });
    expect(await new CallAdmissions(stack.media.redis).get(call.callId)).to.include({ callSid: call.callSid });
    const client = await openStream(simulatorTarget(stack.t, stack.media), call, { mediaUrl: stack.media.mediaUrl });
    for (const p of TONE) client.sendMedia(p);
    await waitFor("echo", () => client.received.length > TONE.length);
    // The session wrote the document from the admission record, then marked it in progress.
    const live = await waitFor("call in progress", () => CallModel.findOne({ _id: call.callId, status: "in-progress" }).lean());
    expect(live).to.include({ callSid: call.callSid, ratePerMinuteMicros: claimsOf(call).ratePerMinuteMicros });
    await new Promise((r) => setTimeout(r, 1_100));
    client.sendStop();
    await client.closed;
    const closed = await waitForClosedCall(call.callId);
    expect(closed.endedReason).to.equal("caller-hangup");
    expect(closed.billedSeconds).to.be.within(1, 3);
    expect(await chargesFor(call.callId)).to.have.length(1);
    expect(await CallModel.countDocuments({ callSid: call.callSid })).to.equal(1);
  });

  it("when Redis lost the admission record, then the stream is accepted from the database", async () => {
    const call = await admit();
    await stack.media.redis.del(`c247:{call:${call.callId}}:admission`);
    await expectGenuineStreamWorks(call);
  });

  it("when neither the admission record nor the document exists, then the stream is refused", async () => {
    const call = await admit();
    await stack.media.redis.del(`c247:{call:${call.callId}}:admission`);
    await CallModel.deleteOne({ _id: call.callId });
    const client = await connect(call);
    expect((await client.closed).code).to.equal(1008);
    expect(client.received).to.deep.equal([]);
    expect(await new CallLiveness(stack.media.redis).owner(call.callId)).to.equal(null);
  });

  it("when the upgrade's X-Twilio-Signature is missing or wrong, then the upgrade is refused with 403 and nothing changes", async () => {
    const call = await admit();
    const other = await admit();
    // Unsigned, signed with another token, signed for another URL (another call's stream URL).
    for (const over of [{ authToken: null }, { authToken: "not-the-auth-token-000000" }, { signedUrl: other.twiml.url }]) {
      const refused = await connect(call, over).then(
        () => null,
        (err: Error) => err.message,
      );
      expect(refused).to.equal("upgrade refused: HTTP 403");
    }
    const stored = await CallModel.findById(call.callId).lean();
    expect(stored).to.include({ status: "ringing", answeredAt: null, endedAt: null });
    expect(await new CallLiveness(stack.media.redis).owner(call.callId)).to.equal(null);
    await expectGenuineStreamWorks(call);
  });

  it("when a refused socket goes on sending, even a frame over MAX_MESSAGE_BYTES, then only it is closed and the worker goes on", async () => {
    const call = await admit();
    const port = Number(new URL(stack.media.mediaUrl).port);
    // Unsigned (the first) or not a call (the second): refused before the upgrade. The oversized
    // frame's header is in the same packet as the upgrade request, so it arrives with the refusal.
    for (const path of [new URL(call.twiml.url).pathname, "/not-a-call"]) {
      const sock = net.connect({ host: "127.0.0.1", port });
      let received = "";
      sock.on("data", (d: Buffer) => (received += d.toString("latin1")));
      const closed = new Promise((resolve) => sock.on("close", resolve));
      const length = Buffer.alloc(8);
      length.writeBigUInt64BE(BigInt(stack.media.config.maxMessageBytes + 1));
      sock.write(
        Buffer.concat([
          Buffer.from(
            `GET ${path} HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\r\n`,
          ),
          Buffer.from([0x81, 0xff]), // text frame, masked, 64-bit length
          length,
          Buffer.from([1, 2, 3, 4]), // mask
        ]),
      );
      await closed;
      expect(received).to.match(/^HTTP\/1\.1 40[34] /);
    }
    // And one that resets the connection as soon as it is refused.
    const reset = net.connect({ host: "127.0.0.1", port });
    reset.on("error", () => undefined);
    reset.write(
      `GET /not-a-call HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\r\n`,
    );
    await new Promise((resolve) => reset.once("data", resolve));
    reset.resetAndDestroy();
    await expectGenuineStreamWorks(call);
  });

  it("when a token is replayed after its stream started, then the replay is refused and the call goes on", async () => {
    const call = await admit();
    const genuine = await openStream(simulatorTarget(stack.t, stack.media), call, { mediaUrl: stack.media.mediaUrl });
    await waitFor("call in progress", () => CallModel.findOne({ _id: call.callId, status: "in-progress" }).lean());
    const replay = await connect(call);
    expect((await replay.closed).code).to.equal(1008);
    expect(replay.received).to.deep.equal([]);
    for (const p of TONE) genuine.sendMedia(p);
    await waitFor("echo on the genuine stream", () => genuine.received.length > TONE.length);
    genuine.sendStop();
    await genuine.closed;
    await waitForClosedCall(call.callId);
    // And once the call is over, the token opens nothing.
    const late = await connect(call);
    expect((await late.closed).code).to.equal(1008);
    expect(await chargesFor(call.callId)).to.have.length(1);
  });

  it("when the same token is presented by several sockets at once, then exactly one stream wins", async () => {
    const call = await admit();
    const clients = await Promise.all(Array.from({ length: 5 }, () => connect(call)));
    await waitFor("the losers to be refused", async () => {
      const closed = await Promise.all(clients.map((c) => Promise.race([c.closed, new Promise((r) => setTimeout(() => r(null), 10))])));
      return closed.filter(Boolean).length === 4;
    });
    const winners = clients.filter((c) => c.isOpen);
    expect(winners).to.have.length(1);
    winners[0]!.sendStop();
    await winners[0]!.closed;
    await waitForClosedCall(call.callId);
    expect(await chargesFor(call.callId)).to.have.length(1);
  });

  it("when the path is not a call, then the upgrade is refused with 404; when no start arrives in time, then the socket is closed as a policy violation", async () => {
    const call = await admit();
    const badPath = await TwilioStreamClient.connect({
      url: `${stack.media.mediaUrl}/not-a-call`,
      signedUrl: "wss://media.example.com/not-a-call",
      authToken: TEST_AUTH_TOKEN,
      callSid: call.callSid,
      accountSid: call.accountSid,
      customParameters: call.twiml.params,
    }).then(
      () => null,
      (err: Error) => err.message,
    );
    expect(badPath).to.equal("upgrade refused: HTTP 404");

    const silent = await TwilioStreamClient.connect({
      url: reachableStreamUrl(call.twiml.url, stack.media.mediaUrl),
      signedUrl: call.twiml.url,
      authToken: TEST_AUTH_TOKEN,
      callSid: call.callSid,
      accountSid: call.accountSid,
      customParameters: call.twiml.params,
    });
    silent.sendConnected();
    await expectRefusedAndUntouched(silent, call);
  });
});

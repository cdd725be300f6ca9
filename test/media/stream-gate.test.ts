import net from "node:net";
import { expect } from "chai";
import twilio from "twilio";
import { WebSocket } from "ws";
import { TwilioStreamClient } from "../../media-worker/simulator/stream-client.js";
import { admitCall, reachableStreamUrl, type AdmittedCall } from "../../media-worker/simulator/simulate-call.js";
import { clientAddress } from "../../media-worker/session/upgrade-gate.js";
import { CallLiveness } from "../../schema/billing/call-liveness.js";
import { DEV_STREAM_TOKEN_SECRET } from "../../schema/infra/stream-token.js";
import { CallModel } from "../../schema/models/call.model.js";
import { startTestApp, TEST_AUTH_TOKEN, type TestApp } from "../helpers/app.js";
import { FakeTwilioRest } from "../helpers/fake-twilio.js";
import { createFixture, type Fixture } from "../helpers/fixtures.js";
import { simulatorTarget, startTestMedia, waitFor, waitForCallDocument, waitForClosedCall, type TestMedia } from "../helpers/media.js";
import { TcpProxy } from "../helpers/tcp-proxy.js";
import { testEnv } from "../helpers/env.js";

/** What the server answered an upgrade with: 101 (open socket) or the HTTP status of its refusal. */
function upgradeStatus(url: string, headers: Record<string, string>): Promise<{ status: number; ws: WebSocket }> {
  const ws = new WebSocket(url, { headers, perMessageDeflate: false });
  ws.on("error", () => undefined);
  return new Promise((resolve) => {
    ws.once("open", () => resolve({ status: 101, ws }));
    ws.once("unexpected-response", (_req, res) => {
      res.resume();
      resolve({ status: res.statusCode ?? 0, ws });
    });
  });
}

const signed = (call: AdmittedCall, token = TEST_AUTH_TOKEN, url = call.twiml.url) => ({
  "x-twilio-signature": twilio.getExpectedTwilioSignature(token, url, {}),
});

describe("media worker: sockets before the stream starts", function () {
  this.timeout(30_000);
  let twilioRest: FakeTwilioRest;
  let t: TestApp;
  let fx: Fixture;

  before(async () => {
    twilioRest = await FakeTwilioRest.start(TEST_AUTH_TOKEN);
    t = await startTestApp();
  });
  after(async () => {
    await t?.close();
    await twilioRest?.close();
  });
  beforeEach(async () => {
    fx = await createFixture({ balanceMicros: 5_000_000 });
  });

  const admit = async (media: TestMedia) => {
    const call = await admitCall(simulatorTarget(t, media), { to: fx.number });
    await waitForCallDocument(call.callId);
    return call;
  };
  const streamUrl = (media: TestMedia, call: AdmittedCall) => reachableStreamUrl(call.twiml.url, media.mediaUrl);

  describe("when the worker runs in production", () => {
    let media: TestMedia;
    before(async () => {
      media = await startTestMedia(twilioRest.url, {
        NODE_ENV: "production",
        STREAM_TOKEN_SECRET: DEV_STREAM_TOKEN_SECRET,
        PUBLIC_BASE_URL: "https://voice.example.com",
      });
    });
    after(async () => {
      await media?.close();
    });

    it("then an upgrade with a missing, wrong or misdirected signature is answered 403 before it completes, and the call is untouched", async () => {
      const call = await admit(media);
      const other = await admit(media);
      for (const headers of [{}, signed(call, "not-the-auth-token-000000"), signed(call, TEST_AUTH_TOKEN, other.twiml.url)]) {
        const { status } = await upgradeStatus(streamUrl(media, call), headers);
        expect(status).to.equal(403);
      }
      expect(await CallModel.findById(call.callId).lean()).to.include({ status: "ringing", answeredAt: null });
      expect(await new CallLiveness(media.redis).owner(call.callId)).to.equal(null);
      // The genuine stream still opens.
      const { status, ws } = await upgradeStatus(streamUrl(media, call), signed(call));
      expect(status).to.equal(101);
      ws.close();
    });

    it("then a path that is not a call is answered 404 without an upgrade", async () => {
      const url = `${media.mediaUrl}/not-a-call`;
      const { status } = await upgradeStatus(url, {
        "x-twilio-signature": twilio.getExpectedTwilioSignature(TEST_AUTH_TOKEN, "wss://media.example.com/not-a-call", {}),
      });
      expect(status).to.equal(404);
    });
  });

  describe("when no TWILIO_AUTH_TOKEN is set outside production", () => {
    let media: TestMedia;
    before(async () => {
      media = await startTestMedia(twilioRest.url, { TWILIO_AUTH_TOKEN: "" });
    });
    after(async () => {
      await media?.close();
    });

    it("then unsigned upgrades are accepted, as the simulator needs", async () => {
      const call = await admit(media);
      const { status, ws } = await upgradeStatus(streamUrl(media, call), {});
      expect(status).to.equal(101);
      ws.close();
    });
  });

  describe("when one address holds MEDIA_MAX_PENDING_SOCKETS_PER_IP sockets without a stream", () => {
    let media: TestMedia;
    before(async () => {
      media = await startTestMedia(twilioRest.url, { MEDIA_MAX_PENDING_SOCKETS_PER_IP: "3", STREAM_START_TIMEOUT_MS: "20000" });
    });
    after(async () => {
      await media?.close();
    });

    it("then the next one is refused with 429, one is accepted again once one closes, and a live stream does not count", async () => {
      const call = await admit(media);
      const open = await Promise.all([0, 1, 2].map(() => upgradeStatus(streamUrl(media, call), signed(call))));
      expect(open.map((o) => o.status)).to.deep.equal([101, 101, 101]);
      expect((await upgradeStatus(streamUrl(media, call), signed(call))).status).to.equal(429);

      open[0]!.ws.close();
      const again = await waitFor("a socket to be accepted again", async () => {
        const attempt = await upgradeStatus(streamUrl(media, call), signed(call));
        return attempt.status === 101 ? attempt : null;
      });
      expect((await upgradeStatus(streamUrl(media, call), signed(call))).status).to.equal(429);

      // A stream that starts stops counting: its place is free for the next socket.
      again.ws.close();
      for (const o of open.slice(1)) o.ws.close();
      const live = await waitFor("a place for the genuine stream", async () =>
        TwilioStreamClient.connect({
          url: streamUrl(media, call),
          signedUrl: call.twiml.url,
          authToken: TEST_AUTH_TOKEN,
          callSid: call.callSid,
          accountSid: call.accountSid,
          customParameters: call.twiml.params,
        }).catch(() => null),
      );
      live.sendConnected();
      live.sendStart();
      await waitFor("call in progress", () => CallModel.findOne({ _id: call.callId, status: "in-progress" }).lean());
      const pendings = await Promise.all([0, 1, 2].map(() => upgradeStatus(streamUrl(media, call), signed(call))));
      expect(pendings.map((o) => o.status)).to.deep.equal([101, 101, 101]);
      for (const o of pendings) o.ws.close();
      live.sendStop();
      await live.closed;
      await waitForClosedCall(call.callId);
    });

    it("then behind a trusted proxy the address counted is the last X-Forwarded-For hop, else the peer's", () => {
      const socket = { remoteAddress: "10.0.0.1" } as net.Socket;
      const req = (xff?: string) => ({ headers: xff ? { "x-forwarded-for": xff } : {}, socket });
      expect(clientAddress(req("198.51.100.7, 203.0.113.5"), true)).to.equal("203.0.113.5");
      // Without trust, or without the header, the peer counts.
      expect(clientAddress(req("198.51.100.7, 203.0.113.5"), false)).to.equal("10.0.0.1");
      expect(clientAddress(req(), true)).to.equal("10.0.0.1");
    });
  });

  describe("when a socket does not get its stream going within STREAM_START_TIMEOUT_MS", () => {
    let media: TestMedia;
    let proxy: TcpProxy;
    before(async () => {
      // The worker reaches Redis through a proxy the test can freeze; no command times out on its own.
      const redis = new URL(testEnv().redisUrl);
      proxy = await TcpProxy.start({ host: redis.hostname, port: Number(redis.port) });
      media = await startTestMedia(twilioRest.url, {
        REDIS_URL: `redis://127.0.0.1:${proxy.port}`,
        REDIS_COMMAND_TIMEOUT_MS: "60000",
        STREAM_START_TIMEOUT_MS: "1000",
        MEDIA_MAX_PENDING_SOCKETS_PER_IP: "1",
      });
    });
    after(async () => {
      proxy?.resume();
      await media?.close();
      await proxy?.close();
    });

    /** Connects once the one pending place is free (the previous socket's close may still be on its way). */
    const connect = (call: AdmittedCall) =>
      waitFor("a free place", () =>
        TwilioStreamClient.connect({
          url: streamUrl(media, call),
          signedUrl: call.twiml.url,
          authToken: TEST_AUTH_TOKEN,
          callSid: call.callSid,
          accountSid: call.accountSid,
          customParameters: call.twiml.params,
        }).catch(() => null),
      );

    it("then a socket that never sends start is closed (1008 start-timeout) and frees its place", async () => {
      const call = await admit(media);
      const silent = await connect(call);
      silent.sendConnected();
      expect(await silent.closed).to.deep.equal({ code: 1008, reason: "start-timeout" });
      const next = await connect(call);
      next.sendStop();
      await next.closed;
    });

    it("then a socket whose start is still being authorized (Redis frozen) is closed too, and the call is ended once the authorization completes", async () => {
      const call = await admit(media);
      const client = await connect(call);
      proxy.pause();
      client.sendConnected();
      client.sendStart();
      expect(await client.closed).to.deep.equal({ code: 1008, reason: "start-timeout" });
      expect(await CallModel.findById(call.callId).lean()).to.include({ status: "ringing" });
      proxy.resume();
      // The authorization went on and claimed the call: with its socket gone, it is ended and closed out.
      const closed = await waitForClosedCall(call.callId);
      expect(closed.endedReason).to.equal("stream-error");
      expect(closed.billedSeconds).to.be.at.most(1);
    });

    it("then a connection that never finishes its upgrade request is cut off as well", async () => {
      const port = Number(new URL(media.mediaUrl).port);
      for (const partial of ["", "GET /0123456789abcdef01234567 HTTP/1.1\r\nHost: media.example.com\r\n"]) {
        const socket = net.connect(port, "127.0.0.1");
        socket.on("error", () => undefined);
        socket.on("data", () => undefined);
        await new Promise<void>((resolve) => socket.once("connect", () => resolve()));
        if (partial) socket.write(partial);
        const closed = new Promise<boolean>((resolve) => socket.once("close", () => resolve(true)));
        expect(await Promise.race([closed, new Promise((r) => setTimeout(() => r(false), 10_000))]), JSON.stringify(partial)).to.equal(
          true,
        );
      }
    });
  });
});

import { expect } from "chai";
import { Types } from "mongoose";
import { AccountModel } from "../../schema/models/account.model.js";
import { AgentModel } from "../../schema/models/agent.model.js";
import { CallModel } from "../../schema/models/call.model.js";
import { PhoneNumberModel } from "../../schema/models/phone-number.model.js";
import { verifyStreamToken } from "../../schema/infra/stream-token.js";
import { OpenCalls } from "../../schema/billing/open-calls.js";
import { startTestApp, type TestApp } from "../helpers/app.js";
import { createFixture, uniqueNumber, type Fixture } from "../helpers/fixtures.js";
import { waitFor } from "../helpers/media.js";
import { inboundCallFields, parseStreamTwiml, postForm, storedCall } from "../helpers/twilio.js";

const FIVE_DOLLARS = 5_000_000;

describe("POST /inbound_call", () => {
  let t: TestApp;
  let fx: Fixture;

  before(async () => {
    t = await startTestApp();
  });
  after(async () => {
    await t.close();
  });
  beforeEach(async () => {
    fx = await createFixture({ balanceMicros: FIVE_DOLLARS });
  });

  const fields = (extra: Record<string, string> = {}) => inboundCallFields(fx.number, { CallerCity: "SAN FRANCISCO", ...extra });

  describe("when the call is admitted", () => {
    it("then it answers TwiML that streams to the media worker with signed parameters", async () => {
      const body = fields({ external_call_id: "crm-42" });
      const res = await postForm(t, "/inbound_call", body);
      expect(res.status).to.equal(200);
      expect(res.contentType).to.match(/^text\/xml/);
      const stream = parseStreamTwiml(res.text);
      const call = await storedCall(body.CallSid);
      const callId = String(call._id);
      expect(stream.url).to.equal(`wss://media.example.com/${callId}`);
      expect(stream.params.callId).to.equal(callId);
      expect(stream.params.agentId).to.equal(String(fx.agentId));
      expect(stream.params.externalCallId).to.equal("crm-42");
      // The token carries the call's facts, so a worker can take the stream before the document exists.
      const check = verifyStreamToken(t.config.streamTokenSecret, stream.params.token!, callId, Date.now() / 1000);
      expect(check).to.deep.equal({
        ok: true,
        claims: {
          callId,
          callSid: body.CallSid,
          accountId: String(fx.accountId),
          agentId: String(fx.agentId),
          ratePerMinuteMicros: 150_000,
          expiresAtSec: Math.floor(call.startedAt.getTime() / 1000) + t.config.streamTokenTtlSeconds,
        },
      });
      expect(verifyStreamToken(t.config.streamTokenSecret, stream.params.token!, "other", Date.now() / 1000).ok).to.equal(false);
    });

    it("then it records a ringing Call with what Twilio sent and the sweeper watches it", async () => {
      const body = fields({ ForwardedFrom: "+14155550199" });
      const res = await postForm(t, "/inbound_call", body);
      expect(res.status).to.equal(200);
      const call = await storedCall(body.CallSid);
      expect(call).to.include({ status: "ringing", from: "+14155550100", to: fx.number, forwardedFrom: "+14155550199" });
      // Fixed at admission: the account's rate then, and the Twilio account the call came through.
      expect(call).to.include({ ratePerMinuteMicros: 150_000, twilioAccountSid: body.AccountSid });
      expect(String(call.accountId)).to.equal(String(fx.accountId));
      expect(await new OpenCalls(t.redis).isWatched(String(call._id))).to.equal(true);
    });

    it("then it holds the first minute of the account's balance for the call", async () => {
      const before = await t.app.reservations.availableMicros(fx.accountId);
      const res = await postForm(t, "/inbound_call", fields());
      expect(res.status).to.equal(200);
      expect(await t.app.reservations.availableMicros(fx.accountId)).to.equal(before - 150_000);
    });

    it("then caller IDs are stored exactly as Twilio sent them", async () => {
      for (const from of ["anonymous", "+266696687", "client:alice", "sip:bob@example.com;transport=tls", ""]) {
        const body = fields({ From: from });
        const res = await postForm(t, "/inbound_call", body);
        expect(res.status, from).to.equal(200);
        expect((await storedCall(body.CallSid)).from).to.equal(from);
      }
    });
  });

  describe("when resolving the agent", () => {
    async function otherAgent(accountId = fx.accountId) {
      return AgentModel.create({ accountId, name: "Other" });
    }
    async function agentOf(body: Record<string, string>, query = "") {
      const res = await postForm(t, `/inbound_call${query}`, body);
      expect(res.status, res.text).to.equal(200);
      return parseStreamTwiml(res.text).params.agentId;
    }

    it("then the query agent_id wins over the body, the forwarding number and the called number", async () => {
      const q = await otherAgent();
      const b = await otherAgent();
      const id = await agentOf(fields({ agent_id: String(b._id), ForwardedFrom: fx.forwardingNumber }), `?agent_id=${String(q._id)}`);
      expect(id).to.equal(String(q._id));
    });

    it("then the body agent_id wins over the forwarding and the called number", async () => {
      const b = await otherAgent();
      expect(await agentOf(fields({ agent_id: String(b._id), ForwardedFrom: fx.forwardingNumber }))).to.equal(String(b._id));
    });

    it("then on a shared number ForwardedFrom picks the forwarding account's active inbound agent over the called number", async () => {
      await PhoneNumberModel.updateOne({ e164: fx.number }, { $set: { shared: true } });
      const other = await createFixture({ balanceMicros: FIVE_DOLLARS });
      const id = await agentOf(fields({ ForwardedFrom: other.forwardingNumber }));
      expect(id).to.equal(String(other.agentId));
    });

    it("then an unknown ForwardedFrom falls through to the called number", async () => {
      expect(await agentOf(fields({ ForwardedFrom: uniqueNumber() }))).to.equal(String(fx.agentId));
    });

    it("then the called number's assigned agent answers when nothing else matches", async () => {
      expect(await agentOf(fields())).to.equal(String(fx.agentId));
    });

    for (const [label, make] of [
      ["does not exist", async () => String(new Types.ObjectId())],
      ["is not an id at all", async () => "agent-123"],
      ["is inactive", async () => String((await AgentModel.create({ accountId: fx.accountId, name: "Off", status: "inactive" }))._id)],
    ] as const) {
      it(`then an explicit agent_id that ${label} is AGENT_NOT_FOUND and does not fall through`, async () => {
        const body = fields({ agent_id: await make(), ForwardedFrom: fx.forwardingNumber });
        const res = await postForm(t, "/inbound_call", body);
        expect(res.status).to.equal(404);
        expect(JSON.parse(res.text)).to.deep.include({ success: false, code: "AGENT_NOT_FOUND" });
        expect(await CallModel.countDocuments({ callSid: body.CallSid })).to.equal(0);
      });
    }

    it("then a called number with no agent is AGENT_NOT_FOUND", async () => {
      const body = fields({ To: uniqueNumber() });
      const res = await postForm(t, "/inbound_call", body);
      expect(res.status).to.equal(404);
      expect(JSON.parse(res.text).code).to.equal("AGENT_NOT_FOUND");
    });

    it("then an unassigned number or an inactive agent on the number is AGENT_NOT_FOUND", async () => {
      const number = uniqueNumber();
      const off = await AgentModel.create({ accountId: fx.accountId, name: "Off", status: "inactive" });
      await PhoneNumberModel.create({ e164: number, accountId: fx.accountId, agentId: off._id });
      const res = await postForm(t, "/inbound_call", fields({ To: number }));
      expect(res.status).to.equal(404);
    });
  });

  describe("when checking the balance", () => {
    it("then exactly one minute of balance is enough and one micro-dollar less is INSUFFICIENT_BALANCE", async () => {
      const exact = await createFixture({ balanceMicros: 150_000 });
      const res = await postForm(t, "/inbound_call", fields({ To: exact.number }));
      expect(res.status).to.equal(200);

      const short = await createFixture({ balanceMicros: 149_999 });
      const body = fields({ To: short.number });
      const refused = await postForm(t, "/inbound_call", body);
      expect(refused.status).to.equal(402);
      expect(refused.contentType).to.match(/^application\/json/);
      expect(JSON.parse(refused.text)).to.deep.equal({
        success: false,
        error: "Insufficient balance to accept the call",
        code: "INSUFFICIENT_BALANCE",
      });
      expect(await CallModel.countDocuments({ callSid: body.CallSid })).to.equal(0);
    });

    it("then the threshold follows the account's own rate", async () => {
      const cheap = await createFixture({ balanceMicros: 60_000, ratePerMinuteMicros: 60_000 });
      expect((await postForm(t, "/inbound_call", fields({ To: cheap.number }))).status).to.equal(200);
      expect((await postForm(t, "/inbound_call", fields({ To: cheap.number }))).status).to.equal(402);
    });

    it("then a burst of calls cannot all pass on the same money", async () => {
      const twoMinutes = await createFixture({ balanceMicros: 300_000 });
      const results = await Promise.all(Array.from({ length: 8 }, () => postForm(t, "/inbound_call", fields({ To: twoMinutes.number }))));
      const statuses = results.map((r) => r.status).sort();
      expect(statuses.filter((s) => s === 200)).to.have.length(2);
      expect(statuses.filter((s) => s === 402)).to.have.length(6);
      await waitFor("both calls written", async () => (await CallModel.countDocuments({ accountId: twoMinutes.accountId })) === 2);
    });

    it("then a suspended account's calls are refused", async () => {
      await AccountModel.updateOne({ _id: fx.accountId }, { $set: { status: "suspended" } });
      const res = await postForm(t, "/inbound_call", fields());
      expect(res.status).to.equal(403);
      expect(JSON.parse(res.text).code).to.equal("ACCOUNT_SUSPENDED");
    });
  });

  describe("when Twilio retries", () => {
    it("then the same CallSid returns the same TwiML and creates nothing new", async () => {
      const body = fields();
      const first = await postForm(t, "/inbound_call", body);
      const available = await t.app.reservations.availableMicros(fx.accountId);
      const second = await postForm(t, "/inbound_call", body);
      expect(second.status).to.equal(200);
      expect(second.text).to.equal(first.text);
      await storedCall(body.CallSid);
      expect(await CallModel.countDocuments({ callSid: body.CallSid })).to.equal(1);
      expect(await t.app.reservations.availableMicros(fx.accountId)).to.equal(available);
    });

    it("then a retry after the call has ended gets the same TwiML and holds no money", async () => {
      const body = fields();
      const first = await postForm(t, "/inbound_call", body);
      await storedCall(body.CallSid);
      await CallModel.updateOne({ callSid: body.CallSid }, { $set: { status: "completed", endedAt: new Date() } });
      await t.app.reservations.release(fx.accountId, body.CallSid);
      const retry = await postForm(t, "/inbound_call", body);
      expect(retry.status).to.equal(200);
      expect(retry.text).to.equal(first.text);
      expect(await t.app.reservations.reservedMicros(fx.accountId)).to.equal(0);
    });

    it("then a retry is answered even if the agent was deactivated since", async () => {
      const body = fields();
      const first = await postForm(t, "/inbound_call", body);
      await AgentModel.updateOne({ _id: fx.agentId }, { $set: { status: "inactive" } });
      const retry = await postForm(t, "/inbound_call", body);
      expect(retry.status).to.equal(200);
      expect(retry.text).to.equal(first.text);
    });

    it("then concurrent first deliveries still create one Call and hold one minute", async () => {
      const body = fields();
      const results = await Promise.all(Array.from({ length: 6 }, () => postForm(t, "/inbound_call", body)));
      for (const r of results) expect(r.status).to.equal(200);
      const ids = new Set(results.map((r) => parseStreamTwiml(r.text).params.callId));
      expect(ids.size).to.equal(1);
      await storedCall(body.CallSid);
      expect(await CallModel.countDocuments({ callSid: body.CallSid })).to.equal(1);
      expect(await t.app.reservations.reservedMicros(fx.accountId)).to.equal(150_000);
    });

    it("then concurrent duplicates on a balance for one call all get that call", async () => {
      const oneMinute = await createFixture({ balanceMicros: 150_000 });
      const body = fields({ To: oneMinute.number });
      const results = await Promise.all(Array.from({ length: 5 }, () => postForm(t, "/inbound_call", body)));
      expect(results.map((r) => r.status)).to.deep.equal([200, 200, 200, 200, 200]);
      await storedCall(body.CallSid);
      expect(await CallModel.countDocuments({ callSid: body.CallSid })).to.equal(1);
    });
  });
});

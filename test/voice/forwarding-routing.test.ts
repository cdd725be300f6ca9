// Issue 12, point 3: ForwardedFrom never takes another account's number's calls. It counts only
// for a verified forwarding number, and only when the dialled number is a shared platform number
// or belongs to the account that verified it.
import { expect } from "chai";
import { Types } from "mongoose";
import { AccountModel } from "../../schema/models/account.model.js";
import { AgentModel } from "../../schema/models/agent.model.js";
import { CallModel } from "../../schema/models/call.model.js";
import { ForwardingNumberModel } from "../../schema/models/forwarding-number.model.js";
import { PhoneNumberModel } from "../../schema/models/phone-number.model.js";
import { TEST_ADMIN_KEY, startTestApp, type TestApp } from "../helpers/app.js";
import { createFixture, uniqueNumber, type Fixture } from "../helpers/fixtures.js";
import { createAccount, createAgent, gqlError, gqlOk, type ApiAccount } from "../helpers/graphql.js";
import { inboundCallFields, parseStreamTwiml, postForm, storedCall } from "../helpers/twilio.js";

const FIVE_DOLLARS = 5_000_000;
const FIRST_MINUTE = 150_000;

describe("Inbound calls forwarded from a number", () => {
  let t: TestApp;

  before(async () => {
    t = await startTestApp();
  });
  after(async () => {
    await t.close();
  });

  /** Posts a Twilio-signed inbound call; the answering agent's id, or the error code. */
  async function answer(to: string, extra: Record<string, string> = {}, query = "") {
    const body = inboundCallFields(to, extra);
    const res = await postForm(t, `/inbound_call${query}`, body);
    if (res.status !== 200) return { callSid: body.CallSid, status: res.status, agentId: null, code: JSON.parse(res.text).code as string };
    return { callSid: body.CallSid, status: res.status, agentId: parseStreamTwiml(res.text).params.agentId ?? null, code: null };
  }

  describe("when account B lists a stranger's office line and the stranger forwards it to account C's number (the issue)", () => {
    let b: ApiAccount;
    let c: ApiAccount;
    let agentOfB: string;
    let agentOfC: string;
    let numberOfC: string;
    let strangerLine: string;

    beforeEach(async () => {
      [b, c] = [await createAccount(t, { phoneNumbers: [] }), await createAccount(t, { phoneNumbers: [] })];
      for (const account of [b, c]) {
        await gqlOk(t, `mutation ($id: ID!) { creditBalance(accountId: $id, amountUsd: "5.00", reference: "start") { balanceUsd } }`, {
          id: account.id,
        });
      }
      agentOfB = await createAgent(t, b.key, { name: "B's agent" });
      agentOfC = await createAgent(t, c.key, { name: "C's agent" });
      await gqlOk(t, `mutation ($a: ID) { setActiveInboundAgent(agentId: $a) { id } }`, { a: agentOfB }, { key: b.key });
      await gqlOk(t, `mutation ($a: ID) { setActiveInboundAgent(agentId: $a) { id } }`, { a: agentOfC }, { key: c.key });
      numberOfC = uniqueNumber();
      await gqlOk(
        t,
        `mutation ($e: String!, $a: ID, $acc: ID) { createPhoneNumber(input: { e164: $e, agentId: $a, accountId: $acc }) { id } }`,
        { e: numberOfC, a: agentOfC, acc: c.id },
        { key: TEST_ADMIN_KEY },
      );
      strangerLine = uniqueNumber();
    });

    it("then B cannot list the line with updateAccount (FORBIDDEN), and nothing is written", async () => {
      const error = await gqlError(
        t,
        "FORBIDDEN",
        `mutation ($n: [String!]) { updateAccount(input: { phoneNumbers: $n }) { id } }`,
        { n: [strangerLine] },
        { key: b.key },
      );
      expect(error.message).to.include("startForwardingNumberVerification");
      expect(await ForwardingNumberModel.countDocuments({ e164: strangerLine })).to.equal(0);
    });

    it("then a call forwarded from it is answered by C's agent and held on C's balance, even with the line in B's old list", async () => {
      // Written the way updateAccount wrote forwarding numbers before this change.
      await AccountModel.updateOne({ _id: b.id }, { $set: { phoneNumbers: [strangerLine] } });
      const [bBefore, cBefore] = await Promise.all([b, c].map((x) => t.app.reservations.availableMicros(new Types.ObjectId(x.id))));
      const call = await answer(numberOfC, { ForwardedFrom: strangerLine });
      expect(call).to.deep.include({ status: 200, agentId: agentOfC });
      const stored = await storedCall(call.callSid);
      expect(String(stored.accountId)).to.equal(c.id);
      expect(stored.forwardedFrom).to.equal(strangerLine);
      const [bAfter, cAfter] = await Promise.all([b, c].map((x) => t.app.reservations.availableMicros(new Types.ObjectId(x.id))));
      expect(cAfter).to.equal(cBefore! - FIRST_MINUTE);
      expect(bAfter).to.equal(bBefore);
    });

    it("then even a line verified by B does not take calls forwarded to C's own number", async () => {
      await gqlOk(t, `mutation ($a: ID!, $e: String!) { setForwardingNumberVerified(accountId: $a, e164: $e) { id } }`, {
        a: b.id,
        e: strangerLine,
      });
      const call = await answer(numberOfC, { ForwardedFrom: strangerLine });
      expect(call).to.deep.include({ status: 200, agentId: agentOfC });
      expect(String((await storedCall(call.callSid)).accountId)).to.equal(c.id);
    });
  });

  describe("when the dialled number is a shared platform number", () => {
    let platform: Fixture;
    let customer: Fixture;
    let sharedNumber: string;

    beforeEach(async () => {
      platform = await createFixture({ balanceMicros: FIVE_DOLLARS });
      customer = await createFixture({ balanceMicros: FIVE_DOLLARS });
      sharedNumber = uniqueNumber();
      await PhoneNumberModel.create({ e164: sharedNumber, accountId: platform.accountId, agentId: platform.agentId, shared: true });
    });

    it("then a verified ForwardedFrom picks the verifying account's active inbound agent, billed to it", async () => {
      const call = await answer(sharedNumber, { ForwardedFrom: customer.forwardingNumber });
      expect(call).to.deep.include({ status: 200, agentId: String(customer.agentId) });
      expect(String((await storedCall(call.callSid)).accountId)).to.equal(String(customer.accountId));
    });

    it("then an unverified forwarding number routes nothing: the number's own agent answers, or nobody", async () => {
      const legacy = uniqueNumber();
      await AccountModel.updateOne({ _id: customer.accountId }, { $set: { phoneNumbers: [legacy] } });
      expect(await answer(sharedNumber, { ForwardedFrom: legacy })).to.deep.include({ status: 200, agentId: String(platform.agentId) });
      await PhoneNumberModel.updateOne({ e164: sharedNumber }, { $set: { agentId: null } });
      expect(await answer(sharedNumber, { ForwardedFrom: legacy })).to.deep.include({ status: 404, code: "AGENT_NOT_FOUND" });
    });

    it("then the seed's order stands: query agent_id, body agent_id, ForwardedFrom, then To", async () => {
      const [q, b] = await Promise.all(["Query", "Body"].map((name) => AgentModel.create({ accountId: platform.accountId, name })));
      const forwarded = { ForwardedFrom: customer.forwardingNumber };
      expect((await answer(sharedNumber, { ...forwarded, agent_id: String(b!._id) }, `?agent_id=${String(q!._id)}`)).agentId).to.equal(
        String(q!._id),
      );
      expect((await answer(sharedNumber, { ...forwarded, agent_id: String(b!._id) })).agentId).to.equal(String(b!._id));
      expect((await answer(sharedNumber, forwarded)).agentId).to.equal(String(customer.agentId));
      expect((await answer(sharedNumber)).agentId).to.equal(String(platform.agentId));
    });

    it("then verifying or removing a forwarding number applies to the very next call (routing writes are announced)", async () => {
      const line = uniqueNumber();
      expect((await answer(sharedNumber, { ForwardedFrom: line })).agentId).to.equal(String(platform.agentId));
      await gqlOk(t, `mutation ($a: ID!, $e: String!) { setForwardingNumberVerified(accountId: $a, e164: $e) { id } }`, {
        a: String(customer.accountId),
        e: line,
      });
      expect((await answer(sharedNumber, { ForwardedFrom: line })).agentId).to.equal(String(customer.agentId));
      await gqlOk(t, `mutation ($a: ID, $e: String!) { removeForwardingNumber(accountId: $a, e164: $e) }`, {
        a: String(customer.accountId),
        e: line,
      });
      expect((await answer(sharedNumber, { ForwardedFrom: line })).agentId).to.equal(String(platform.agentId));
    });

    it("then a number stops being shared with the next call", async () => {
      expect((await answer(sharedNumber, { ForwardedFrom: customer.forwardingNumber })).agentId).to.equal(String(customer.agentId));
      await gqlOk(t, `mutation ($id: ID!) { updatePhoneNumber(id: $id, input: { shared: false }) { shared } }`, {
        id: String((await PhoneNumberModel.findOne({ e164: sharedNumber }).lean())!._id),
      });
      expect((await answer(sharedNumber, { ForwardedFrom: customer.forwardingNumber })).agentId).to.equal(String(platform.agentId));
    });
  });

  describe("when the dialled number belongs to the account that verified the forwarding number", () => {
    it("then ForwardedFrom picks the account's active inbound agent over the number's agent", async () => {
      const fx = await createFixture({ balanceMicros: FIVE_DOLLARS });
      const nightShift = await AgentModel.create({ accountId: fx.accountId, name: "Night shift" });
      await AccountModel.updateOne({ _id: fx.accountId }, { $set: { activeInboundAgentId: nightShift._id } });
      expect((await answer(fx.number, { ForwardedFrom: fx.forwardingNumber })).agentId).to.equal(String(nightShift._id));
      expect((await answer(fx.number)).agentId).to.equal(String(fx.agentId));
    });
  });

  describe("when the call is authenticated with an account key", () => {
    it("then another account's forwarding number is not used, even on a shared number", async () => {
      const platform = await createFixture({ balanceMicros: FIVE_DOLLARS });
      const customer = await createFixture({ balanceMicros: FIVE_DOLLARS });
      const sharedNumber = uniqueNumber();
      await PhoneNumberModel.create({ e164: sharedNumber, accountId: platform.accountId, agentId: platform.agentId, shared: true });
      const other = await createAccount(t, { phoneNumbers: [] });
      const body = inboundCallFields(sharedNumber, { ForwardedFrom: customer.forwardingNumber });
      const res = await postForm(t, "/inbound_call", body, { token: null, headers: { authorization: `Bearer ${other.key}` } });
      expect(res.status).to.equal(404);
      expect(await CallModel.countDocuments({ callSid: body.CallSid })).to.equal(0);
    });
  });
});

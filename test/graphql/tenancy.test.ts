import { expect } from "chai";
import { AgentModel } from "../../schema/models/agent.model.js";
import { ApiKeyModel } from "../../schema/models/api-key.model.js";
import { PhoneNumberModel } from "../../schema/models/phone-number.model.js";
import { CallModel } from "../../schema/models/call.model.js";
import { startTestApp, type TestApp } from "../helpers/app.js";
import { uniqueCallSid, uniqueNumber } from "../helpers/fixtures.js";
import { createAccount, createAgent, gqlError, gqlOk, type ApiAccount } from "../helpers/graphql.js";

/** What B owns; A's key must not see or touch any of it. */
interface Owned {
  agentId: string;
  numberId: string;
  callId: string;
  keyId: string;
  key: string;
}

describe("GraphQL tenancy: account A and account B", () => {
  let t: TestApp;
  let a: ApiAccount;
  let b: ApiAccount;
  let bs: Owned;

  before(async () => {
    t = await startTestApp();
    a = await createAccount(t);
    b = await createAccount(t);
    const agentId = await createAgent(t, b.key, { name: "B's agent" });
    // Registered by the admin: account keys register only numbers proven at Twilio (phone-number-proving.test.ts).
    const number = await gqlOk(
      t,
      `mutation ($e: String!, $agentId: ID, $acct: ID) { createPhoneNumber(input: { e164: $e, agentId: $agentId, accountId: $acct }) { id } }`,
      { e: uniqueNumber(), agentId, acct: b.id },
    );
    const call = await CallModel.create({ callSid: uniqueCallSid(), accountId: b.id, agentId, to: uniqueNumber(), startedAt: new Date() });
    const key = await gqlOk(t, `mutation { createApiKey(name: "b-extra") { key apiKey { id } } }`, {}, { key: b.key });
    await gqlOk(t, `mutation ($id: ID!) { creditBalance(accountId: $id, amountUsd: "9", reference: "b-credit") { id } }`, { id: b.id });
    bs = { agentId, numberId: number.createPhoneNumber.id, callId: call.id, keyId: key.createApiKey.apiKey.id, key: key.createApiKey.key };
    // A has one of each too, so lists are not trivially empty.
    const aAgent = await createAgent(t, a.key, { name: "A's agent" });
    await gqlOk(t, `mutation ($e: String!, $acct: ID) { createPhoneNumber(input: { e164: $e, accountId: $acct }) { id } }`, {
      e: uniqueNumber(),
      acct: a.id,
    });
    await CallModel.create({ callSid: uniqueCallSid(), accountId: a.id, agentId: aAgent, to: uniqueNumber(), startedAt: new Date() });
    await gqlOk(t, `mutation ($id: ID!) { creditBalance(accountId: $id, amountUsd: "1", reference: "a-credit") { id } }`, { id: a.id });
  });
  after(async () => {
    await t.close();
  });

  /** A's view of B's object must read exactly like an id that does not exist. */
  async function expectAbsent(query: string, vars: Record<string, unknown>, type: string, id: string) {
    const error = await gqlError(t, "NOT_FOUND", query, vars, { key: a.key });
    expect(error.message).to.equal(`${type} ${id} not found`);
  }

  describe("when A's key asks for B's account", () => {
    it("then reading, updating and pointing it at agents all answer NOT_FOUND", async () => {
      await expectAbsent(`query ($id: ID!) { account(id: $id) { id } }`, { id: b.id }, "Account", b.id);
      await expectAbsent(
        `mutation ($id: ID) { updateAccount(id: $id, input: { name: "Hijacked" }) { id } }`,
        { id: b.id },
        "Account",
        b.id,
      );
      await expectAbsent(
        `mutation ($id: ID) { setActiveInboundAgent(accountId: $id, agentId: null) { id } }`,
        { id: b.id },
        "Account",
        b.id,
      );
      const me = await gqlOk(t, `{ me { id name } }`, {}, { key: b.key });
      expect(me.me.name).to.not.equal("Hijacked");
    });
  });

  describe("when A's key goes after B's agents", () => {
    it("then read, update, delete, list by account, and use in A's account all answer NOT_FOUND, and nothing changes", async () => {
      await expectAbsent(`query ($id: ID!) { agent(id: $id) { id } }`, { id: bs.agentId }, "Agent", bs.agentId);
      await expectAbsent(
        `mutation ($id: ID!) { updateAgent(id: $id, input: { name: "Pwned" }) { id } }`,
        { id: bs.agentId },
        "Agent",
        bs.agentId,
      );
      await expectAbsent(`mutation ($id: ID!) { deleteAgent(id: $id) }`, { id: bs.agentId }, "Agent", bs.agentId);
      await expectAbsent(`mutation ($id: ID) { setActiveInboundAgent(agentId: $id) { id } }`, { id: bs.agentId }, "Agent", bs.agentId);
      await expectAbsent(`query ($id: ID) { agents(accountId: $id) { totalCount } }`, { id: b.id }, "Account", b.id);
      await expectAbsent(
        `mutation ($id: ID) { createAgent(input: { name: "Planted", accountId: $id }) { id } }`,
        { id: b.id },
        "Account",
        b.id,
      );
      const stored = await AgentModel.findById(bs.agentId).lean();
      expect(stored!.name).to.equal("B's agent");
      expect(await AgentModel.countDocuments({ accountId: b.id })).to.equal(1);
      const listed = await gqlOk(t, `{ agents(first: 100) { totalCount nodes { id name } } }`, {}, { key: a.key });
      expect(listed.agents.nodes.map((n: { name: string }) => n.name)).to.deep.equal(["A's agent"]);
      expect(listed.agents.totalCount).to.equal(1);
    });
  });

  describe("when A's key goes after B's phone numbers", () => {
    it("then read, reassign, delete and list by account answer NOT_FOUND, and nothing changes", async () => {
      await expectAbsent(`query ($id: ID!) { phoneNumber(id: $id) { id } }`, { id: bs.numberId }, "PhoneNumber", bs.numberId);
      await expectAbsent(
        `mutation ($id: ID!) { updatePhoneNumber(id: $id, input: { agentId: null }) { id } }`,
        { id: bs.numberId },
        "PhoneNumber",
        bs.numberId,
      );
      await expectAbsent(`mutation ($id: ID!) { deletePhoneNumber(id: $id) }`, { id: bs.numberId }, "PhoneNumber", bs.numberId);
      await expectAbsent(`query ($id: ID) { phoneNumbers(accountId: $id) { totalCount } }`, { id: b.id }, "Account", b.id);
      await expectAbsent(
        `mutation ($id: ID, $e: String!) { createPhoneNumber(input: { e164: $e, accountId: $id }) { id } }`,
        { id: b.id, e: uniqueNumber() },
        "Account",
        b.id,
      );
      const stored = await PhoneNumberModel.findById(bs.numberId).lean();
      expect(String(stored!.agentId)).to.equal(bs.agentId);
      const listed = await gqlOk(t, `{ phoneNumbers(first: 100) { totalCount nodes { id } } }`, {}, { key: a.key });
      expect(listed.phoneNumbers.totalCount).to.equal(1);
      expect(listed.phoneNumbers.nodes.map((n: { id: string }) => n.id)).to.not.include(bs.numberId);
    });
  });

  describe("when A's key goes after B's calls", () => {
    it("then read and list by account answer NOT_FOUND, and A's list and filters never include them", async () => {
      await expectAbsent(`query ($id: ID!) { call(id: $id) { id } }`, { id: bs.callId }, "Call", bs.callId);
      await expectAbsent(`query ($id: ID) { calls(accountId: $id) { totalCount } }`, { id: b.id }, "Account", b.id);
      const listed = await gqlOk(t, `{ calls(first: 100) { totalCount nodes { id } } }`, {}, { key: a.key });
      expect(listed.calls.totalCount).to.equal(1);
      expect(listed.calls.nodes.map((n: { id: string }) => n.id)).to.not.include(bs.callId);
      const byAgent = await gqlOk(
        t,
        `query ($id: ID) { calls(filter: { agentId: $id }) { totalCount } }`,
        { id: bs.agentId },
        { key: a.key },
      );
      expect(byAgent.calls.totalCount).to.equal(0);
    });
  });

  describe("when A's key goes after B's API keys", () => {
    it("then revoking and listing by account answer NOT_FOUND, A's list has only A's keys, and B's key keeps working", async () => {
      await expectAbsent(`mutation ($id: ID!) { revokeApiKey(id: $id) { id } }`, { id: bs.keyId }, "ApiKey", bs.keyId);
      await expectAbsent(`query ($id: ID) { apiKeys(accountId: $id) { totalCount } }`, { id: b.id }, "Account", b.id);
      await expectAbsent(`mutation ($id: ID) { createApiKey(name: "planted", accountId: $id) { key } }`, { id: b.id }, "Account", b.id);
      expect((await ApiKeyModel.findById(bs.keyId).lean())!.revokedAt).to.equal(null);
      expect((await gqlOk(t, `{ me { id } }`, {}, { key: bs.key })).me.id).to.equal(b.id);
      const listed = await gqlOk(t, `{ apiKeys(first: 100) { totalCount nodes { account { id } } } }`, {}, { key: a.key });
      expect(listed.apiKeys.totalCount).to.equal(await ApiKeyModel.countDocuments({ accountId: a.id }));
      expect(listed.apiKeys.nodes.every((n: { account: { id: string } }) => n.account.id === a.id)).to.equal(true);
    });
  });

  describe("when A's key goes after B's ledger", () => {
    it("then reading it answers NOT_FOUND, A's ledger holds only A's movements, and money moves only with admin keys", async () => {
      await expectAbsent(`query ($id: ID) { ledger(accountId: $id) { totalCount } }`, { id: b.id }, "Account", b.id);
      const own = await gqlOk(t, `{ ledger { totalCount nodes { reference } } }`, {}, { key: a.key });
      expect(own.ledger.nodes.map((n: { reference: string }) => n.reference)).to.deep.equal(["manual:a-credit"]);
      await gqlError(
        t,
        "FORBIDDEN",
        `mutation ($id: ID!) { debitBalance(accountId: $id, amountUsd: "9", reference: "steal") { id } }`,
        { id: b.id },
        { key: a.key },
      );
      const balance = await gqlOk(t, `{ me { balanceUsd } }`, {}, { key: b.key });
      expect(balance.me.balanceUsd).to.equal("9.000000");
    });
  });
});

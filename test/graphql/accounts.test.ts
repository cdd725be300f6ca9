import { expect } from "chai";
import { AccountModel } from "../../schema/models/account.model.js";
import { ApiKeyModel } from "../../schema/models/api-key.model.js";
import { startTestApp, type TestApp } from "../helpers/app.js";
import { uniqueNumber } from "../helpers/fixtures.js";
import { createAccount, createAgent, gqlError, gqlOk, type ApiAccount } from "../helpers/graphql.js";

const CREATE = `mutation ($input: CreateAccountInput!) {
  createAccount(input: $input) {
    apiKey
    account { id name email phoneNumbers status ratePerMinuteUsd balanceUsd availableBalanceUsd activeInboundAgent { id } createdAt }
  }
}`;
const UPDATE = `mutation ($id: ID, $input: UpdateAccountInput!) {
  updateAccount(id: $id, input: $input) { id name email phoneNumbers status ratePerMinuteUsd }
}`;
const SET_ACTIVE = `mutation ($agentId: ID, $accountId: ID) {
  setActiveInboundAgent(agentId: $agentId, accountId: $accountId) { id activeInboundAgent { id name } }
}`;

describe("GraphQL accounts", () => {
  let t: TestApp;

  before(async () => {
    t = await startTestApp();
  });
  after(async () => {
    await t.close();
  });

  describe("when the admin creates an account", () => {
    it("then it answers the account with a zero balance and its first key, which sees the account as me", async () => {
      const forwarding = uniqueNumber();
      const data = await gqlOk(t, CREATE, {
        input: { name: " Acme Plumbing ", email: "Ops@Acme.Example", phoneNumbers: [forwarding], ratePerMinuteUsd: "0.2" },
      });
      const { account, apiKey } = data.createAccount;
      expect(account).to.deep.include({
        name: "Acme Plumbing",
        email: "ops@acme.example",
        phoneNumbers: [forwarding],
        status: "ACTIVE",
        ratePerMinuteUsd: "0.200000",
        balanceUsd: "0.000000",
        availableBalanceUsd: "0.000000",
        activeInboundAgent: null,
      });
      const me = await gqlOk(t, `{ me { id name } }`, {}, { key: apiKey });
      expect(me.me).to.deep.equal({ id: account.id, name: "Acme Plumbing" });
      expect(await ApiKeyModel.countDocuments({ accountId: account.id, scope: "account" })).to.equal(1);
    });

    it("then without a rate it gets the platform default", async () => {
      const data = await gqlOk(t, CREATE, { input: { name: "Default rate", email: "d@example.com" } });
      expect(data.createAccount.account.ratePerMinuteUsd).to.equal("0.150000");
      expect(data.createAccount.account.phoneNumbers).to.deep.equal([]);
    });

    const invalid: [string, Record<string, unknown>, RegExp][] = [
      ["an empty name", { name: "  " }, /^name /],
      ["a name over 200 characters", { name: "x".repeat(201) }, /^name /],
      ["an email without @", { email: "nobody" }, /^email /],
      ["a forwarding number that is not E.164", { phoneNumbers: ["415-555-0100"] }, /^phoneNumbers /],
      ["a repeated forwarding number", { phoneNumbers: ["+14155550111", "+14155550111"] }, /^phoneNumbers /],
      ["a negative rate", { ratePerMinuteUsd: "-0.15" }, /^ratePerMinuteUsd /],
      ["a rate with seven decimals", { ratePerMinuteUsd: "0.1500001" }, /^ratePerMinuteUsd /],
      ["a rate over $100 a minute", { ratePerMinuteUsd: "100.000001" }, /^ratePerMinuteUsd /],
    ];
    for (const [what, patch, field] of invalid) {
      it(`then ${what} is BAD_USER_INPUT naming the field, and nothing is written`, async () => {
        const email = `invalid-${Date.now()}-${Math.random()}@example.com`;
        const error = await gqlError(t, "BAD_USER_INPUT", CREATE, { input: { name: "Bad", email, ...patch } });
        expect(error.message).to.match(field);
        expect(await AccountModel.countDocuments({ email: (patch.email as string | undefined) ?? email })).to.equal(0);
      });
    }

    it("then a forwarding number another account uses is a CONFLICT and nothing is written", async () => {
      const taken = uniqueNumber();
      await createAccount(t, { phoneNumbers: [taken] });
      const before = await AccountModel.countDocuments({});
      const error = await gqlError(t, "CONFLICT", CREATE, { input: { name: "Second", email: "s@example.com", phoneNumbers: [taken] } });
      expect(error.message).to.include(taken);
      expect(await AccountModel.countDocuments({})).to.equal(before);
    });

    it("then an account key may not create accounts (FORBIDDEN)", async () => {
      const a = await createAccount(t);
      await gqlError(t, "FORBIDDEN", CREATE, { input: { name: "Nope", email: "n@example.com" } }, { key: a.key });
    });
  });

  describe("when accounts are read", () => {
    let a: ApiAccount;
    before(async () => {
      a = await createAccount(t);
    });

    it("then the admin reads any account and lists them; an account key reads only its own", async () => {
      expect((await gqlOk(t, `query ($id: ID!) { account(id: $id) { id } }`, { id: a.id })).account.id).to.equal(a.id);
      expect((await gqlOk(t, `query ($id: ID!) { account(id: $id) { id } }`, { id: a.id }, { key: a.key })).account.id).to.equal(a.id);
      const list = await gqlOk(t, `{ accounts(first: 100) { totalCount nodes { id } } }`);
      expect(list.accounts.totalCount).to.equal(await AccountModel.countDocuments({}));
      await gqlError(t, "FORBIDDEN", `{ accounts { nodes { id } } }`, {}, { key: a.key });
    });

    it("then an unknown id is NOT_FOUND and a malformed one BAD_USER_INPUT", async () => {
      await gqlError(t, "NOT_FOUND", `{ account(id: "0123456789abcdef01234567") { id } }`);
      await gqlError(t, "BAD_USER_INPUT", `{ account(id: "x") { id } }`);
    });
  });

  describe("when an account is updated", () => {
    it("then an account key changes its own name, email and forwarding numbers", async () => {
      const a = await createAccount(t);
      const numbers = [uniqueNumber(), uniqueNumber()];
      const data = await gqlOk(t, UPDATE, { input: { name: "Renamed", email: "new@example.com", phoneNumbers: numbers } }, { key: a.key });
      expect(data.updateAccount).to.deep.include({ id: a.id, name: "Renamed", email: "new@example.com", phoneNumbers: numbers });
    });

    it("then rate and status are for admin keys only, and the admin can set them", async () => {
      const a = await createAccount(t);
      await gqlError(t, "FORBIDDEN", UPDATE, { input: { ratePerMinuteUsd: "0.01" } }, { key: a.key });
      await gqlError(t, "FORBIDDEN", UPDATE, { input: { status: "ACTIVE" } }, { key: a.key });
      const data = await gqlOk(t, UPDATE, { id: a.id, input: { ratePerMinuteUsd: "0.5", status: "SUSPENDED" } });
      expect(data.updateAccount).to.deep.include({ ratePerMinuteUsd: "0.500000", status: "SUSPENDED" });
      const stored = await AccountModel.findById(a.id).lean();
      expect(stored).to.deep.include({ ratePerMinuteMicros: 500_000, status: "suspended" });
    });

    it("then an invalid field is BAD_USER_INPUT and nothing changes", async () => {
      const a = await createAccount(t, { name: "Stays" });
      const error = await gqlError(t, "BAD_USER_INPUT", UPDATE, { input: { name: "Changed", phoneNumbers: ["12345"] } }, { key: a.key });
      expect(error.message).to.match(/^phoneNumbers /);
      expect((await AccountModel.findById(a.id).lean())!.name).to.equal("Stays");
    });

    it("then the admin must say which account", async () => {
      const error = await gqlError(t, "BAD_USER_INPUT", UPDATE, { input: { name: "Who" } });
      expect(error.message).to.match(/^accountId /);
    });

    it("then a forwarding number of another account is a CONFLICT", async () => {
      const taken = uniqueNumber();
      await createAccount(t, { phoneNumbers: [taken] });
      const a = await createAccount(t);
      await gqlError(t, "CONFLICT", UPDATE, { input: { phoneNumbers: [taken] } }, { key: a.key });
    });
  });

  describe("when the active inbound agent is set", () => {
    it("then it points at the account's agent, and null clears it", async () => {
      const a = await createAccount(t);
      const agentId = await createAgent(t, a.key, { name: "Night shift" });
      const set = await gqlOk(t, SET_ACTIVE, { agentId }, { key: a.key });
      expect(set.setActiveInboundAgent.activeInboundAgent).to.deep.equal({ id: agentId, name: "Night shift" });
      expect(String((await AccountModel.findById(a.id).lean())!.activeInboundAgentId)).to.equal(agentId);
      const cleared = await gqlOk(t, SET_ACTIVE, { agentId: null }, { key: a.key });
      expect(cleared.setActiveInboundAgent.activeInboundAgent).to.equal(null);
    });

    it("then the admin names the account, and an agent of another account is NOT_FOUND", async () => {
      const a = await createAccount(t);
      const b = await createAccount(t);
      const agentOfB = await createAgent(t, b.key);
      await gqlError(t, "NOT_FOUND", SET_ACTIVE, { agentId: agentOfB, accountId: a.id });
      await gqlError(t, "NOT_FOUND", SET_ACTIVE, { agentId: agentOfB }, { key: a.key });
      const ok = await gqlOk(t, SET_ACTIVE, { agentId: agentOfB, accountId: b.id });
      expect(ok.setActiveInboundAgent.activeInboundAgent.id).to.equal(agentOfB);
    });
  });
});

import { expect } from "chai";
import { AccountModel } from "../../schema/models/account.model.js";
import { ApiKeyModel } from "../../schema/models/api-key.model.js";
import { ForwardingNumberModel } from "../../schema/models/forwarding-number.model.js";
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
      const fresh = uniqueNumber();
      const error = await gqlError(t, "CONFLICT", CREATE, {
        input: { name: "Second", email: "s@example.com", phoneNumbers: [fresh, taken] },
      });
      expect(error.message).to.include(taken);
      expect(await AccountModel.countDocuments({})).to.equal(before);
      expect(await ForwardingNumberModel.countDocuments({ e164: fresh })).to.equal(0);
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
    it("then an account key changes its own name and email, and may drop a verified forwarding number", async () => {
      const numbers = [uniqueNumber(), uniqueNumber()];
      const a = await createAccount(t, { phoneNumbers: numbers });
      const data = await gqlOk(
        t,
        UPDATE,
        { input: { name: "Renamed", email: "new@example.com", phoneNumbers: [numbers[1]] } },
        { key: a.key },
      );
      expect(data.updateAccount).to.deep.include({ id: a.id, name: "Renamed", email: "new@example.com", phoneNumbers: [numbers[1]] });
      expect(await ForwardingNumberModel.countDocuments({ e164: numbers[0] })).to.equal(0);
    });

    it("then an account key adding a forwarding number is FORBIDDEN, pointing to the verification, and nothing changes", async () => {
      const kept = uniqueNumber();
      const a = await createAccount(t, { name: "Stays", phoneNumbers: [kept] });
      const stranger = uniqueNumber();
      const error = await gqlError(t, "FORBIDDEN", UPDATE, { input: { name: "Changed", phoneNumbers: [kept, stranger] } }, { key: a.key });
      expect(error.message).to.include(stranger).and.include("startForwardingNumberVerification");
      const read = await gqlOk(t, `query ($id: ID!) { account(id: $id) { name phoneNumbers } }`, { id: a.id }, { key: a.key });
      expect(read.account).to.deep.equal({ name: "Stays", phoneNumbers: [kept] });
      expect(await ForwardingNumberModel.countDocuments({ e164: stranger })).to.equal(0);
    });

    it("then an admin's phoneNumbers are verified by its word and replace the list", async () => {
      const [first, second, third] = [uniqueNumber(), uniqueNumber(), uniqueNumber()];
      const a = await createAccount(t, { phoneNumbers: [first, second] });
      const data = await gqlOk(t, UPDATE, { id: a.id, input: { phoneNumbers: [second, third] } });
      expect(data.updateAccount.phoneNumbers).to.deep.equal([second, third]);
      const stored = await ForwardingNumberModel.find({ accountId: a.id }).lean();
      expect(stored.map((n) => [n.e164, n.method]).sort()).to.deep.equal(
        [
          [second, "admin"],
          [third, "admin"],
        ].sort(),
      );
    });

    it("then numbers written before verification existed are listed as legacy until verified", async () => {
      const a = await createAccount(t, { phoneNumbers: [] });
      const legacy = uniqueNumber();
      await AccountModel.updateOne({ _id: a.id }, { $set: { phoneNumbers: [legacy] } });
      const read = await gqlOk(
        t,
        `query ($id: ID!) { account(id: $id) { phoneNumbers legacyPhoneNumbers } }`,
        { id: a.id },
        { key: a.key },
      );
      expect(read.account).to.deep.equal({ phoneNumbers: [], legacyPhoneNumbers: [legacy] });
      await gqlOk(t, `mutation ($a: ID!, $e: String!) { setForwardingNumberVerified(accountId: $a, e164: $e) { id } }`, {
        a: a.id,
        e: legacy,
      });
      const after = await gqlOk(
        t,
        `query ($id: ID!) { account(id: $id) { phoneNumbers legacyPhoneNumbers } }`,
        { id: a.id },
        { key: a.key },
      );
      expect(after.account).to.deep.equal({ phoneNumbers: [legacy], legacyPhoneNumbers: [] });
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

    it("then a forwarding number of another account is a CONFLICT for the admin, and nothing changes", async () => {
      const taken = uniqueNumber();
      await createAccount(t, { phoneNumbers: [taken] });
      const own = uniqueNumber();
      const a = await createAccount(t, { phoneNumbers: [own] });
      const fresh = uniqueNumber();
      await gqlError(t, "CONFLICT", UPDATE, { id: a.id, input: { phoneNumbers: [fresh, taken] } });
      const read = await gqlOk(t, `query ($id: ID!) { account(id: $id) { phoneNumbers } }`, { id: a.id });
      expect(read.account.phoneNumbers).to.deep.equal([own]);
      expect(await ForwardingNumberModel.countDocuments({ e164: fresh })).to.equal(0);
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

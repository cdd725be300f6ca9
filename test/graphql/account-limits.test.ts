import { expect } from "chai";
import { Types } from "mongoose";
import { AccountModel } from "../../schema/models/account.model.js";
import { AgentModel } from "../../schema/models/agent.model.js";
import { ApiKeyModel } from "../../schema/models/api-key.model.js";
import { PhoneNumberModel } from "../../schema/models/phone-number.model.js";
import { startTestApp, type TestApp } from "../helpers/app.js";
import { uniqueNumber } from "../helpers/fixtures.js";
import { createAccount, createAgent, gql, gqlError, gqlOk, type ApiAccount } from "../helpers/graphql.js";

const LIMITS = `query ($id: ID!) { account(id: $id) { limits { maxApiKeys maxAgents maxPhoneNumbers maxConcurrentCalls } } }`;
const SET_LIMITS = `mutation ($id: ID, $input: UpdateAccountInput!) {
  updateAccount(id: $id, input: $input) { limits { maxApiKeys maxAgents maxPhoneNumbers maxConcurrentCalls } }
}`;
const CREATE_KEY = `mutation ($name: String!, $accountId: ID) { createApiKey(name: $name, accountId: $accountId) { key apiKey { id } } }`;
const REVOKE_KEY = `mutation ($id: ID!) { revokeApiKey(id: $id) { id } }`;
const CREATE_AGENT = `mutation ($input: CreateAgentInput!) { createAgent(input: $input) { id } }`;
const DELETE_AGENT = `mutation ($id: ID!) { deleteAgent(id: $id) }`;
const CREATE_NUMBER = `mutation ($input: CreatePhoneNumberInput!) { createPhoneNumber(input: $input) { id } }`;
const MOVE_NUMBER = `mutation ($id: ID!, $accountId: ID) { updatePhoneNumber(id: $id, input: { accountId: $accountId }) { id } }`;

const DEFAULTS = { maxApiKeys: 20, maxAgents: 200, maxPhoneNumbers: 100, maxConcurrentCalls: 10 };

describe("GraphQL account limits", function () {
  this.timeout(60_000);
  let t: TestApp;
  let a: ApiAccount;

  before(async () => {
    t = await startTestApp();
  });
  after(async () => {
    await t.close();
  });
  beforeEach(async () => {
    a = await createAccount(t);
  });

  const setLimits = (limits: Record<string, number | null>, opts: { key?: string } = {}) =>
    gql(t, SET_LIMITS, { id: a.id, input: { limits } }, opts);

  describe("when nobody set the account's limits", () => {
    it("then the account and its own key see the platform defaults: 20 keys, 200 agents, 100 numbers, 10 concurrent calls", async () => {
      expect((await gqlOk(t, LIMITS, { id: a.id })).account.limits).to.deep.equal(DEFAULTS);
      expect(
        (await gqlOk(t, `{ me { limits { maxApiKeys maxAgents maxPhoneNumbers maxConcurrentCalls } } }`, {}, { key: a.key })).me.limits,
      ).to.deep.equal(DEFAULTS);
    });
  });

  describe("when an admin sets limits", () => {
    it("then the named ones change, the others stay, and null sets one back to the default", async () => {
      const set = await gqlOk(t, SET_LIMITS, { id: a.id, input: { limits: { maxAgents: 3, maxConcurrentCalls: 50 } } });
      expect(set.updateAccount.limits).to.deep.equal({ ...DEFAULTS, maxAgents: 3, maxConcurrentCalls: 50 });
      const again = await gqlOk(t, SET_LIMITS, { id: a.id, input: { limits: { maxApiKeys: 0, maxConcurrentCalls: null } } });
      expect(again.updateAccount.limits).to.deep.equal({ ...DEFAULTS, maxAgents: 3, maxApiKeys: 0 });
      expect((await gqlOk(t, LIMITS, { id: a.id })).account.limits).to.deep.equal({ ...DEFAULTS, maxAgents: 3, maxApiKeys: 0 });
      // A rename leaves the limits alone.
      await gqlOk(t, SET_LIMITS, { id: a.id, input: { name: "Renamed" } });
      expect((await AccountModel.findById(a.id).lean())?.limits).to.include({ maxAgents: 3, maxApiKeys: 0 });
    });

    it("then a value outside 0 to 1,000,000 is refused with BAD_USER_INPUT and nothing changes", async () => {
      for (const bad of [-1, 1_000_001]) {
        const err = await gqlError(t, "BAD_USER_INPUT", SET_LIMITS, {
          id: a.id,
          input: { name: "Not applied", limits: { maxAgents: bad } },
        });
        expect(err.extensions?.field).to.equal("limits.maxAgents");
      }
      const stored = await AccountModel.findById(a.id).lean();
      expect(stored?.name).to.not.equal("Not applied");
      expect(stored?.limits?.maxAgents ?? null).to.equal(null);
    });
  });

  describe("when an account key tries to set its own limits", () => {
    it("then it is FORBIDDEN and nothing changes, its other changes included", async () => {
      const res = await setLimits({ maxAgents: 1_000 }, { key: a.key });
      expect(res.errors?.[0]?.extensions?.code).to.equal("FORBIDDEN");
      await gqlError(t, "FORBIDDEN", SET_LIMITS, { input: { name: "Mine", limits: { maxConcurrentCalls: 100 } } }, { key: a.key });
      expect((await gqlOk(t, LIMITS, { id: a.id })).account.limits).to.deep.equal(DEFAULTS);
      expect((await AccountModel.findById(a.id).lean())?.name).to.not.equal("Mine");
    });
  });

  describe("when the account has as many active API keys as its limit (default 20)", () => {
    it("then createApiKey answers LIMIT_EXCEEDED and writes nothing; revoking one makes room, and admin keys are not counted", async () => {
      // The first key came with the account.
      const made: string[] = [];
      for (let i = 1; i < DEFAULTS.maxApiKeys; i++)
        made.push((await gqlOk(t, CREATE_KEY, { name: `key ${i}` }, { key: a.key })).createApiKey.apiKey.id);
      const err = await gqlError(t, "LIMIT_EXCEEDED", CREATE_KEY, { name: "one too many" }, { key: a.key });
      expect(err.extensions).to.include({ limit: "maxApiKeys", max: 20 });
      await gqlError(t, "LIMIT_EXCEEDED", CREATE_KEY, { name: "admin for the account", accountId: a.id });
      expect(await ApiKeyModel.countDocuments({ accountId: a.id })).to.equal(20);
      await gqlOk(t, REVOKE_KEY, { id: made[0] }, { key: a.key });
      await gqlOk(t, CREATE_KEY, { name: "in the freed place" }, { key: a.key });
      await gqlError(t, "LIMIT_EXCEEDED", CREATE_KEY, { name: "over again" }, { key: a.key });
      // An ADMIN key belongs to no account.
      await gqlOk(t, `mutation { createApiKey(name: "platform", scope: ADMIN) { key } }`);
    });
  });

  describe("when the account has as many agents as its limit", () => {
    it("then createAgent answers LIMIT_EXCEEDED and writes nothing; deleting one makes room", async () => {
      expect((await setLimits({ maxAgents: 2 })).errors).to.equal(undefined);
      const first = await createAgent(t, a.key);
      await createAgent(t, a.key);
      const err = await gqlError(t, "LIMIT_EXCEEDED", CREATE_AGENT, { input: { name: "Third" } }, { key: a.key });
      expect(err.extensions).to.include({ limit: "maxAgents", max: 2 });
      await gqlError(t, "LIMIT_EXCEEDED", CREATE_AGENT, { input: { name: "Third", accountId: a.id } });
      expect(await AgentModel.countDocuments({ accountId: a.id })).to.equal(2);
      await gqlOk(t, DELETE_AGENT, { id: first }, { key: a.key });
      await createAgent(t, a.key);
    });

    it("then a limit lowered below what the account has removes nothing and refuses new ones", async () => {
      await createAgent(t, a.key);
      await createAgent(t, a.key);
      await setLimits({ maxAgents: 1 });
      expect(await AgentModel.countDocuments({ accountId: a.id })).to.equal(2);
      await gqlError(t, "LIMIT_EXCEEDED", CREATE_AGENT, { input: { name: "Third" } }, { key: a.key });
      await setLimits({ maxAgents: 0 });
      await gqlError(t, "LIMIT_EXCEEDED", CREATE_AGENT, { input: { name: "Third" } }, { key: a.key });
    });
  });

  describe("when the account has as many phone numbers as its limit", () => {
    it("then registering or moving in another answers LIMIT_EXCEEDED and writes nothing", async () => {
      await setLimits({ maxPhoneNumbers: 1 });
      await gqlOk(t, CREATE_NUMBER, { input: { e164: uniqueNumber(), accountId: a.id } });
      const refused = uniqueNumber();
      const err = await gqlError(t, "LIMIT_EXCEEDED", CREATE_NUMBER, { input: { e164: refused, accountId: a.id } });
      expect(err.extensions).to.include({ limit: "maxPhoneNumbers", max: 1 });
      expect(await PhoneNumberModel.exists({ e164: refused })).to.equal(null);

      const other = await createAccount(t);
      const theirs = (await gqlOk(t, CREATE_NUMBER, { input: { e164: uniqueNumber(), accountId: other.id } })).createPhoneNumber.id;
      await gqlError(t, "LIMIT_EXCEEDED", MOVE_NUMBER, { id: theirs, accountId: a.id });
      expect(String((await PhoneNumberModel.findById(theirs).lean())?.accountId)).to.equal(other.id);
      await setLimits({ maxPhoneNumbers: 2 });
      await gqlOk(t, MOVE_NUMBER, { id: theirs, accountId: a.id });
      expect(await PhoneNumberModel.countDocuments({ accountId: a.id })).to.equal(2);
    });
  });

  describe("when creations race from two web processes at the limit", () => {
    let web2: TestApp;
    before(async () => {
      web2 = await startTestApp();
    });
    after(async () => {
      await web2.close();
    });

    it("then concurrent createAgent calls at 199 agents make 200 and LIMIT_EXCEEDED for the others, never 201", async () => {
      const accountId = new Types.ObjectId(a.id);
      await AgentModel.insertMany(Array.from({ length: 199 }, (_, i) => ({ accountId, name: `Seeded ${i}` })));
      const results = await Promise.all(
        [t, web2, t, web2].map((app, i) => gql(app, CREATE_AGENT, { input: { name: `Racer ${i}` } }, { key: a.key })),
      );
      const codes = results.map((r) => r.errors?.[0]?.extensions?.code ?? "created").sort();
      expect(codes).to.deep.equal(["LIMIT_EXCEEDED", "LIMIT_EXCEEDED", "LIMIT_EXCEEDED", "created"]);
      expect(await AgentModel.countDocuments({ accountId })).to.equal(200);
    });

    it("then, round after round, concurrent key creations never pass the limit", async () => {
      const accountId = new Types.ObjectId(a.id);
      for (let round = 0; round < 5; round++) {
        const have = await ApiKeyModel.countDocuments({ accountId, revokedAt: null });
        await setLimits({ maxApiKeys: have + 1 });
        const results = await Promise.all(
          Array.from({ length: 6 }, (_, i) => gql(i % 2 ? web2 : t, CREATE_KEY, { name: `race ${round}.${i}` }, { key: a.key })),
        );
        expect(results.filter((r) => !r.errors).length, `round ${round}`).to.equal(1);
        expect(results.filter((r) => r.errors?.[0]?.extensions?.code === "LIMIT_EXCEEDED").length).to.equal(5);
        expect(await ApiKeyModel.countDocuments({ accountId, revokedAt: null })).to.equal(have + 1);
      }
    });
  });
});

import { expect } from "chai";
import { AgentModel } from "../../schema/models/agent.model.js";
import { startTestApp, type TestApp } from "../helpers/app.js";
import { uniqueNumber } from "../helpers/fixtures.js";
import { createAccount, createAgent, gqlError, gqlOk, type ApiAccount } from "../helpers/graphql.js";

const FIELDS = `id name instructions greeting voice language maxCallDurationSeconds status account { id } createdAt updatedAt`;
const CREATE = `mutation ($input: CreateAgentInput!) { createAgent(input: $input) { ${FIELDS} } }`;
const UPDATE = `mutation ($id: ID!, $input: UpdateAgentInput!) { updateAgent(id: $id, input: $input) { ${FIELDS} } }`;
const DELETE = `mutation ($id: ID!) { deleteAgent(id: $id) }`;
const GET = `query ($id: ID!) { agent(id: $id) { ${FIELDS} } }`;
const LIST = `query ($first: Int, $after: String, $filter: AgentFilter, $accountId: ID) {
  agents(first: $first, after: $after, filter: $filter, accountId: $accountId) { totalCount pageInfo { hasNextPage endCursor } nodes { id name status } }
}`;

describe("GraphQL agents", () => {
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

  describe("when an account key creates an agent", () => {
    it("then it belongs to the key's account, with the given fields and defaults for the rest", async () => {
      const data = await gqlOk(
        t,
        CREATE,
        { input: { name: "Front desk", instructions: "Be brief.\nBe kind.", greeting: "Hi!" } },
        { key: a.key },
      );
      expect(data.createAgent).to.deep.include({
        name: "Front desk",
        instructions: "Be brief.\nBe kind.",
        greeting: "Hi!",
        voice: "alloy",
        language: "en-US",
        maxCallDurationSeconds: 600,
        status: "ACTIVE",
        account: { id: a.id },
      });
      const stored = await AgentModel.findById(data.createAgent.id).lean();
      expect(String(stored!.accountId)).to.equal(a.id);
      const read = await gqlOk(t, GET, { id: data.createAgent.id }, { key: a.key });
      expect(read.agent).to.deep.equal(data.createAgent);
    });

    it("then the admin creates one for a named account, and must name one", async () => {
      const data = await gqlOk(t, CREATE, {
        input: { name: "By admin", accountId: a.id, voice: "verse", language: "fr-FR", maxCallDurationSeconds: 10 },
      });
      expect(data.createAgent).to.deep.include({ voice: "verse", language: "fr-FR", maxCallDurationSeconds: 10, account: { id: a.id } });
      const error = await gqlError(t, "BAD_USER_INPUT", CREATE, { input: { name: "Orphan" } });
      expect(error.message).to.match(/^accountId /);
    });

    const invalid: [string, Record<string, unknown>, RegExp][] = [
      ["an empty name", { name: " " }, /^name /],
      ["a name over 200 characters", { name: "n".repeat(201) }, /^name /],
      ["instructions over 20,000 characters", { instructions: "i".repeat(20_001) }, /^instructions /],
      ["a greeting over 1,000 characters", { greeting: "g".repeat(1_001) }, /^greeting /],
      ["an empty voice", { voice: "" }, /^voice /],
      ["a language that is not a BCP 47 tag", { language: "english please" }, /^language /],
      ["a maximum duration under 10 seconds", { maxCallDurationSeconds: 9 }, /^maxCallDurationSeconds /],
      ["a maximum duration over 4 hours", { maxCallDurationSeconds: 14_401 }, /^maxCallDurationSeconds /],
      ["control characters in the name", { name: "bad\u0000name" }, /^name /],
    ];
    for (const [what, patch, field] of invalid) {
      it(`then ${what} is BAD_USER_INPUT naming the field, and nothing is written`, async () => {
        const error = await gqlError(t, "BAD_USER_INPUT", CREATE, { input: { name: "Valid", ...patch } }, { key: a.key });
        expect(error.message).to.match(field);
        expect(await AgentModel.countDocuments({ accountId: a.id })).to.equal(0);
      });
    }
  });

  describe("when an agent is updated", () => {
    it("then only the given fields change", async () => {
      const id = await createAgent(t, a.key, { name: "Before", greeting: "Hello" });
      const data = await gqlOk(
        t,
        UPDATE,
        { id, input: { name: "After", status: "INACTIVE", maxCallDurationSeconds: 120 } },
        { key: a.key },
      );
      expect(data.updateAgent).to.deep.include({ id, name: "After", greeting: "Hello", status: "INACTIVE", maxCallDurationSeconds: 120 });
      expect((await AgentModel.findById(id).lean())!.status).to.equal("inactive");
    });

    it("then an invalid field changes nothing at all", async () => {
      const id = await createAgent(t, a.key, { name: "Stays" });
      await gqlError(t, "BAD_USER_INPUT", UPDATE, { id, input: { name: "Changed", language: "??" } }, { key: a.key });
      expect((await AgentModel.findById(id).lean())!.name).to.equal("Stays");
    });

    it("then an unknown id is NOT_FOUND", async () => {
      await gqlError(t, "NOT_FOUND", UPDATE, { id: "0123456789abcdef01234567", input: { name: "x" } }, { key: a.key });
      await gqlError(t, "NOT_FOUND", GET, { id: "0123456789abcdef01234567" }, { key: a.key });
    });
  });

  describe("when an agent is deleted", () => {
    it("then it is gone", async () => {
      const id = await createAgent(t, a.key);
      expect((await gqlOk(t, DELETE, { id }, { key: a.key })).deleteAgent).to.equal(true);
      expect(await AgentModel.exists({ _id: id })).to.equal(null);
      await gqlError(t, "NOT_FOUND", DELETE, { id }, { key: a.key });
    });

    it("then one that answers a phone number is refused until the number gets another agent", async () => {
      const id = await createAgent(t, a.key);
      const other = await createAgent(t, a.key);
      const e164 = uniqueNumber();
      // Registered by the admin; the test is about the agent, not about proving the number at Twilio.
      const number = await gqlOk(t, `mutation ($input: CreatePhoneNumberInput!) { createPhoneNumber(input: $input) { id } }`, {
        input: { e164, agentId: id, accountId: a.id },
      });
      const error = await gqlError(t, "CONFLICT", DELETE, { id }, { key: a.key });
      expect(error.message).to.include(e164).and.to.include("updatePhoneNumber");
      expect(await AgentModel.exists({ _id: id })).to.not.equal(null);
      await gqlOk(
        t,
        `mutation ($id: ID!, $agentId: ID) { updatePhoneNumber(id: $id, input: { agentId: $agentId }) { id } }`,
        { id: number.createPhoneNumber.id, agentId: other },
        { key: a.key },
      );
      expect((await gqlOk(t, DELETE, { id }, { key: a.key })).deleteAgent).to.equal(true);
    });

    it("then the account's active inbound agent is refused until it is cleared", async () => {
      const id = await createAgent(t, a.key);
      await gqlOk(t, `mutation ($id: ID) { setActiveInboundAgent(agentId: $id) { id } }`, { id }, { key: a.key });
      const error = await gqlError(t, "CONFLICT", DELETE, { id }, { key: a.key });
      expect(error.message).to.include("setActiveInboundAgent");
      await gqlOk(t, `mutation { setActiveInboundAgent(agentId: null) { id } }`, {}, { key: a.key });
      expect((await gqlOk(t, DELETE, { id }, { key: a.key })).deleteAgent).to.equal(true);
    });
  });

  describe("when agents are listed", () => {
    it("then pages come newest first, filters apply, and agents inserted between pages neither repeat nor push others out", async () => {
      const ids: string[] = [];
      for (let i = 0; i < 5; i++) ids.push(await createAgent(t, a.key, { name: `Agent ${i}`, status: i === 0 ? "INACTIVE" : "ACTIVE" }));
      const first = await gqlOk(t, LIST, { first: 2 }, { key: a.key });
      expect(first.agents.totalCount).to.equal(5);
      expect(first.agents.nodes.map((n: { id: string }) => n.id)).to.deep.equal([ids[4], ids[3]]);
      expect(first.agents.pageInfo.hasNextPage).to.equal(true);
      await createAgent(t, a.key, { name: "Late 1" });
      await createAgent(t, a.key, { name: "Late 2" });
      const seen = [...first.agents.nodes.map((n: { id: string }) => n.id)];
      let after = first.agents.pageInfo.endCursor;
      for (;;) {
        const page = await gqlOk(t, LIST, { first: 2, after }, { key: a.key });
        seen.push(...page.agents.nodes.map((n: { id: string }) => n.id));
        if (!page.agents.pageInfo.hasNextPage) break;
        after = page.agents.pageInfo.endCursor;
      }
      expect(seen).to.deep.equal([ids[4], ids[3], ids[2], ids[1], ids[0]]);

      const inactive = await gqlOk(t, LIST, { filter: { status: "INACTIVE" } }, { key: a.key });
      expect(inactive.agents.nodes.map((n: { id: string }) => n.id)).to.deep.equal([ids[0]]);
      const named = await gqlOk(t, LIST, { filter: { nameContains: "late" } }, { key: a.key });
      expect(named.agents.nodes.map((n: { name: string }) => n.name)).to.deep.equal(["Late 2", "Late 1"]);
      const regexSafe = await gqlOk(t, LIST, { filter: { nameContains: ".*" } }, { key: a.key });
      expect(regexSafe.agents.totalCount).to.equal(0);
    });

    it("then the admin lists one account's agents with accountId", async () => {
      const id = await createAgent(t, a.key);
      const data = await gqlOk(t, LIST, { accountId: a.id });
      expect(data.agents.nodes.map((n: { id: string }) => n.id)).to.deep.equal([id]);
    });

    it("then a bad page size or cursor is BAD_USER_INPUT naming first or after", async () => {
      for (const first of [0, -1, 101]) {
        const error = await gqlError(t, "BAD_USER_INPUT", LIST, { first }, { key: a.key });
        expect(error.message).to.match(/^first must be between 1 and 100/);
      }
      for (const after of [
        "garbage",
        Buffer.from(JSON.stringify({ k: "startedAt", v: 1, i: "0123456789abcdef01234567" })).toString("base64url"),
      ]) {
        const error = await gqlError(t, "BAD_USER_INPUT", LIST, { after }, { key: a.key });
        expect(error.message).to.match(/^after /);
      }
    });
  });
});

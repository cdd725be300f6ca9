import { expect } from "chai";
import { PhoneNumberModel } from "../../schema/models/phone-number.model.js";
import { startTestApp, TEST_AUTH_TOKEN, type TestApp } from "../helpers/app.js";
import { FakeTwilioRest } from "../helpers/fake-twilio.js";
import { PLATFORM_ACCOUNT_SID } from "../helpers/fake-twilio-numbers.js";
import { uniqueNumber } from "../helpers/fixtures.js";
import { createAccount, createAgent, gql, gqlError, gqlOk, type ApiAccount } from "../helpers/graphql.js";

const FIELDS = `id e164 friendlyName agent { id name } account { id } createdAt`;
const CREATE = `mutation ($input: CreatePhoneNumberInput!) { createPhoneNumber(input: $input) { ${FIELDS} } }`;
const UPDATE = `mutation ($id: ID!, $input: UpdatePhoneNumberInput!) { updatePhoneNumber(id: $id, input: $input) { ${FIELDS} } }`;
const DELETE = `mutation ($id: ID!) { deletePhoneNumber(id: $id) }`;
const UPDATE_SHARED = `mutation ($id: ID!, $shared: Boolean) { updatePhoneNumber(id: $id, input: { shared: $shared }) { shared } }`;
const LIST = `query ($first: Int, $after: String, $accountId: ID) {
  phoneNumbers(first: $first, after: $after, accountId: $accountId) { totalCount pageInfo { hasNextPage endCursor } nodes { id e164 } }
}`;

describe("GraphQL phone numbers", () => {
  let t: TestApp;
  let twilio: FakeTwilioRest;
  let a: ApiAccount;
  let agentId: string;

  /** A new number the platform's Twilio account holds, so account keys may register it. */
  const held = () => {
    const e164 = uniqueNumber();
    twilio.numbers.hold(PLATFORM_ACCOUNT_SID, e164);
    return e164;
  };

  before(async () => {
    twilio = await FakeTwilioRest.start(TEST_AUTH_TOKEN);
    t = await startTestApp({ TWILIO_ACCOUNT_SID: PLATFORM_ACCOUNT_SID, TWILIO_API_BASE_URL: twilio.url });
  });
  after(async () => {
    await t.close();
    await twilio.close();
  });
  beforeEach(async () => {
    a = await createAccount(t);
    agentId = await createAgent(t, a.key, { name: "Reception" });
  });

  describe("when a number is created", () => {
    it("then it belongs to the key's account and routes to the agent", async () => {
      const e164 = held();
      const data = await gqlOk(t, CREATE, { input: { e164, agentId, friendlyName: "Main line" } }, { key: a.key });
      expect(data.createPhoneNumber).to.deep.include({
        e164,
        friendlyName: "Main line",
        agent: { id: agentId, name: "Reception" },
        account: { id: a.id },
      });
      const read = await gqlOk(
        t,
        `query ($id: ID!) { phoneNumber(id: $id) { ${FIELDS} } }`,
        { id: data.createPhoneNumber.id },
        { key: a.key },
      );
      expect(read.phoneNumber).to.deep.equal(data.createPhoneNumber);
    });

    it("then a number without an agent is allowed, and the admin names the account", async () => {
      const data = await gqlOk(t, CREATE, { input: { e164: uniqueNumber(), accountId: a.id } });
      expect(data.createPhoneNumber).to.deep.include({ agent: null, friendlyName: "", account: { id: a.id } });
    });

    it("then a number another account holds is a CONFLICT, and nothing is written", async () => {
      const e164 = held();
      await gqlOk(t, CREATE, { input: { e164 } }, { key: a.key });
      const b = await createAccount(t);
      const error = await gqlError(t, "CONFLICT", CREATE, { input: { e164 } }, { key: b.key });
      expect(error.message).to.include(e164);
      expect(await PhoneNumberModel.countDocuments({ e164 })).to.equal(1);
    });

    it("then two accounts claiming one number at the same moment: exactly one gets it", async () => {
      const b = await createAccount(t);
      const e164 = uniqueNumber();
      const { sid } = twilio.numbers.hold(PLATFORM_ACCOUNT_SID, e164);
      const results = await Promise.all([a, b, a, b].map((acct) => gql(t, CREATE, { input: { e164 } }, { key: acct.key })));
      expect(results.filter((r) => !r.errors)).to.have.length(1);
      expect(results.filter((r) => r.errors?.[0]?.extensions?.code === "CONFLICT")).to.have.length(3);
      expect(await PhoneNumberModel.countDocuments({ e164 })).to.equal(1);
      // Only the winner points the number at us.
      expect(twilio.numbers.updates.filter((u) => u.sid === sid)).to.have.length(1);
    });

    const invalid: [string, Record<string, unknown>, RegExp][] = [
      ["a number without +", { e164: "14155550100" }, /^e164 /],
      ["a number with spaces", { e164: "+1 415 555 0100" }, /^e164 /],
      ["a number over 15 digits", { e164: "+1234567890123456" }, /^e164 /],
      ["a number starting with +0", { e164: "+0155550100" }, /^e164 /],
      ["a malformed agent id", { agentId: "agent-1" }, /^agentId /],
      ["a friendly name over 200 characters", { friendlyName: "f".repeat(201) }, /^friendlyName /],
    ];
    for (const [what, patch, field] of invalid) {
      it(`then ${what} is BAD_USER_INPUT naming the field, and nothing is written`, async () => {
        const error = await gqlError(t, "BAD_USER_INPUT", CREATE, { input: { e164: uniqueNumber(), ...patch } }, { key: a.key });
        expect(error.message).to.match(field);
        expect(await PhoneNumberModel.countDocuments({ accountId: a.id })).to.equal(0);
      });
    }

    it("then an agent of another account is NOT_FOUND, and nothing is written", async () => {
      const b = await createAccount(t);
      const agentOfB = await createAgent(t, b.key);
      await gqlError(t, "NOT_FOUND", CREATE, { input: { e164: uniqueNumber(), agentId: agentOfB } }, { key: a.key });
      expect(await PhoneNumberModel.countDocuments({ accountId: a.id })).to.equal(0);
    });
  });

  describe("when a number is updated or deleted", () => {
    it("then the agent is reassigned, cleared with null, and left alone when absent", async () => {
      const other = await createAgent(t, a.key, { name: "After hours" });
      const { createPhoneNumber } = await gqlOk(t, CREATE, { input: { e164: held(), agentId } }, { key: a.key });
      const id = createPhoneNumber.id;
      const moved = await gqlOk(t, UPDATE, { id, input: { agentId: other } }, { key: a.key });
      expect(moved.updatePhoneNumber.agent).to.deep.equal({ id: other, name: "After hours" });
      const renamed = await gqlOk(t, UPDATE, { id, input: { friendlyName: "Support" } }, { key: a.key });
      expect(renamed.updatePhoneNumber).to.deep.include({ friendlyName: "Support", agent: { id: other, name: "After hours" } });
      const cleared = await gqlOk(t, UPDATE, { id, input: { agentId: null } }, { key: a.key });
      expect(cleared.updatePhoneNumber.agent).to.equal(null);
      expect((await PhoneNumberModel.findById(id).lean())!.agentId).to.equal(null);
    });

    it("then reassigning to another account's agent is NOT_FOUND and changes nothing", async () => {
      const b = await createAccount(t);
      const agentOfB = await createAgent(t, b.key);
      const { createPhoneNumber } = await gqlOk(t, CREATE, { input: { e164: held(), agentId } }, { key: a.key });
      await gqlError(t, "NOT_FOUND", UPDATE, { id: createPhoneNumber.id, input: { agentId: agentOfB, friendlyName: "x" } }, { key: a.key });
      const stored = await PhoneNumberModel.findById(createPhoneNumber.id).lean();
      expect(String(stored!.agentId)).to.equal(agentId);
      expect(stored!.friendlyName).to.equal("");
    });

    it("then deleting frees the number for another account", async () => {
      const e164 = held();
      const { createPhoneNumber } = await gqlOk(t, CREATE, { input: { e164 } }, { key: a.key });
      expect((await gqlOk(t, DELETE, { id: createPhoneNumber.id }, { key: a.key })).deletePhoneNumber).to.equal(true);
      await gqlError(t, "NOT_FOUND", DELETE, { id: createPhoneNumber.id }, { key: a.key });
      const b = await createAccount(t);
      await gqlOk(t, CREATE, { input: { e164 } }, { key: b.key });
    });
  });

  describe("when a number is shared", () => {
    it("then numbers are not shared unless an admin key says so, and the admin can share and unshare", async () => {
      const mine = await gqlOk(
        t,
        `mutation ($e: String!) { createPhoneNumber(input: { e164: $e }) { shared } }`,
        { e: held() },
        { key: a.key },
      );
      expect(mine.createPhoneNumber.shared).to.equal(false);
      const made = await gqlOk(
        t,
        `mutation ($e: String!, $a: ID) { createPhoneNumber(input: { e164: $e, accountId: $a, shared: true }) { id shared } }`,
        {
          e: uniqueNumber(),
          a: a.id,
        },
      );
      expect(made.createPhoneNumber.shared).to.equal(true);
      const id = made.createPhoneNumber.id;
      expect((await gqlOk(t, UPDATE_SHARED, { id, shared: false })).updatePhoneNumber.shared).to.equal(false);
      expect((await PhoneNumberModel.findById(id).lean())!.shared).to.equal(false);
    });

    for (const shared of [true, false]) {
      it(`then an account key sending shared: ${shared} is FORBIDDEN, and nothing is written`, async () => {
        const e164 = uniqueNumber();
        const error = await gqlError(
          t,
          "FORBIDDEN",
          `mutation ($e: String!, $s: Boolean) { createPhoneNumber(input: { e164: $e, shared: $s }) { id } }`,
          { e: e164, s: shared },
          { key: a.key },
        );
        expect(error.message).to.include("shared");
        expect(await PhoneNumberModel.countDocuments({ e164 })).to.equal(0);
      });
    }

    it("then an account key sharing its own number on update is FORBIDDEN, and nothing changes", async () => {
      const { createPhoneNumber } = await gqlOk(t, CREATE, { input: { e164: held() } }, { key: a.key });
      await gqlError(t, "FORBIDDEN", UPDATE_SHARED, { id: createPhoneNumber.id, shared: true }, { key: a.key });
      expect((await PhoneNumberModel.findById(createPhoneNumber.id).lean())!.shared).to.equal(false);
    });
  });

  describe("when numbers are listed", () => {
    it("then the account's numbers come newest first across pages", async () => {
      const made: string[] = [];
      for (let i = 0; i < 3; i++) made.push((await gqlOk(t, CREATE, { input: { e164: held() } }, { key: a.key })).createPhoneNumber.id);
      const first = await gqlOk(t, LIST, { first: 2 }, { key: a.key });
      expect(first.phoneNumbers.totalCount).to.equal(3);
      const second = await gqlOk(t, LIST, { first: 2, after: first.phoneNumbers.pageInfo.endCursor }, { key: a.key });
      const ids = [...first.phoneNumbers.nodes, ...second.phoneNumbers.nodes].map((n: { id: string }) => n.id);
      expect(ids).to.deep.equal([...made].reverse());
      expect(second.phoneNumbers.pageInfo.hasNextPage).to.equal(false);
      const byAdmin = await gqlOk(t, LIST, { accountId: a.id });
      expect(byAdmin.phoneNumbers.totalCount).to.equal(3);
    });
  });
});

import { expect } from "chai";
import { ForwardingNumberModel } from "../../schema/models/forwarding-number.model.js";
import { TEST_ADMIN_KEY, startTestApp, type TestApp } from "../helpers/app.js";
import { uniqueNumber } from "../helpers/fixtures.js";
import { createAccount, gql, gqlError, gqlOk, type ApiAccount } from "../helpers/graphql.js";

const MARK = `mutation ($accountId: ID!, $e164: String!) {
  setForwardingNumberVerified(accountId: $accountId, e164: $e164) { id e164 method verifiedAt account { id } }
}`;
const REMOVE = `mutation ($e164: String!, $accountId: ID) { removeForwardingNumber(e164: $e164, accountId: $accountId) }`;
const LIST = `query ($accountId: ID, $first: Int) { forwardingNumbers(accountId: $accountId, first: $first) { totalCount nodes { e164 account { id } } } }`;

describe("GraphQL forwarding numbers", () => {
  let t: TestApp;
  let a: ApiAccount;
  let b: ApiAccount;

  before(async () => {
    t = await startTestApp();
  });
  after(async () => {
    await t.close();
  });
  beforeEach(async () => {
    a = await createAccount(t, { phoneNumbers: [] });
    b = await createAccount(t, { phoneNumbers: [] });
  });

  describe("when an admin marks a number verified", () => {
    it("then it is the account's at once, by the admin's word, and marking it again changes nothing", async () => {
      const e164 = uniqueNumber();
      const data = await gqlOk(t, MARK, { accountId: a.id, e164 });
      expect(data.setForwardingNumberVerified).to.deep.include({ e164, method: "ADMIN", account: { id: a.id } });
      const again = await gqlOk(t, MARK, { accountId: a.id, e164 });
      expect(again.setForwardingNumberVerified.id).to.equal(data.setForwardingNumberVerified.id);
      expect(await ForwardingNumberModel.countDocuments({ e164 })).to.equal(1);
    });

    it("then a number another account holds is a CONFLICT, and the holder keeps it", async () => {
      const e164 = uniqueNumber();
      await gqlOk(t, MARK, { accountId: a.id, e164 });
      const error = await gqlError(t, "CONFLICT", MARK, { accountId: b.id, e164 });
      expect(error.message).to.include("another account");
      const holders = await ForwardingNumberModel.find({ e164 }).lean();
      expect(holders.map((h) => h.accountId.toHexString())).to.deep.equal([a.id]);
    });

    it("then two accounts marked at the same moment: exactly one gets the number", async () => {
      const e164 = uniqueNumber();
      const results = await Promise.all([a, b, a, b].map((x) => gql(t, MARK, { accountId: x.id, e164 })));
      const winners = new Set(results.filter((r) => !r.errors).map((r) => r.data.setForwardingNumberVerified.account.id));
      expect(winners.size).to.equal(1);
      expect(results.filter((r) => r.errors?.[0]?.extensions?.code === "CONFLICT").length).to.be.at.least(1);
      expect(await ForwardingNumberModel.countDocuments({ e164 })).to.equal(1);
    });

    it("then an account key may not (FORBIDDEN), and nothing is written", async () => {
      const e164 = uniqueNumber();
      await gqlError(t, "FORBIDDEN", MARK, { accountId: a.id, e164 }, { key: a.key });
      expect(await ForwardingNumberModel.countDocuments({ e164 })).to.equal(0);
    });

    it("then a number that is not E.164, or one callers dial, is BAD_USER_INPUT", async () => {
      expect((await gqlError(t, "BAD_USER_INPUT", MARK, { accountId: a.id, e164: "555-0100" })).message).to.match(/^e164 /);
      const ours = uniqueNumber();
      await gqlOk(
        t,
        `mutation ($e: String!, $acc: ID) { createPhoneNumber(input: { e164: $e, accountId: $acc }) { id } }`,
        { e: ours, acc: b.id },
        { key: TEST_ADMIN_KEY },
      );
      expect((await gqlError(t, "BAD_USER_INPUT", MARK, { accountId: a.id, e164: ours })).message).to.include("Call24x7 number");
      expect(await ForwardingNumberModel.countDocuments({ e164: ours })).to.equal(0);
    });
  });

  describe("when forwarding numbers are listed and removed", () => {
    it("then an account key sees only its own, and the admin may pick an account", async () => {
      const [ofA, ofB] = [uniqueNumber(), uniqueNumber()];
      await gqlOk(t, MARK, { accountId: a.id, e164: ofA });
      await gqlOk(t, MARK, { accountId: b.id, e164: ofB });
      const own = await gqlOk(t, LIST, {}, { key: a.key });
      expect(own.forwardingNumbers).to.deep.equal({ totalCount: 1, nodes: [{ e164: ofA, account: { id: a.id } }] });
      await gqlError(t, "NOT_FOUND", LIST, { accountId: b.id }, { key: a.key });
      const byAdmin = await gqlOk(t, LIST, { accountId: b.id });
      expect(byAdmin.forwardingNumbers.nodes).to.deep.equal([{ e164: ofB, account: { id: b.id } }]);
    });

    it("then removing frees the number: it routes nothing for the account, and another may verify it", async () => {
      const e164 = uniqueNumber();
      await gqlOk(t, MARK, { accountId: a.id, e164 });
      expect((await gqlOk(t, REMOVE, { e164 }, { key: a.key })).removeForwardingNumber).to.equal(true);
      expect((await gqlOk(t, `{ me { phoneNumbers } }`, {}, { key: a.key })).me.phoneNumbers).to.deep.equal([]);
      await gqlOk(t, MARK, { accountId: b.id, e164 });
    });

    it("then removing another account's number is NOT_FOUND, and the holder keeps it", async () => {
      const e164 = uniqueNumber();
      await gqlOk(t, MARK, { accountId: b.id, e164 });
      await gqlError(t, "NOT_FOUND", REMOVE, { e164 }, { key: a.key });
      await gqlError(t, "NOT_FOUND", REMOVE, { e164, accountId: b.id }, { key: a.key });
      expect(await ForwardingNumberModel.countDocuments({ e164, accountId: b.id })).to.equal(1);
    });
  });
});

import { expect } from "chai";
import { ApiKeyModel } from "../../schema/models/api-key.model.js";
import { ApiKeyUsageModel } from "../../schema/models/api-key-usage.model.js";
import { hashApiKey } from "../../api/auth/api-key.crypto.js";
import { startTestApp, type TestApp } from "../helpers/app.js";
import { withDbCommands } from "../helpers/db-commands.js";
import { createAccount, gql, gqlError, gqlOk, type ApiAccount } from "../helpers/graphql.js";

const ME = `{ me { id } }`;
const CREATE_KEY = `mutation ($name: String!, $scope: ApiKeyScope, $accountId: ID) {
  createApiKey(name: $name, scope: $scope, accountId: $accountId) { key apiKey { id name prefix scope lastUsedAt revokedAt account { id } } }
}`;
const REVOKE = `mutation ($id: ID!) { revokeApiKey(id: $id) { id revokedAt } }`;
const LIST = `query ($accountId: ID) { apiKeys(first: 100, accountId: $accountId) { totalCount nodes { id name prefix scope revokedAt } } }`;

describe("GraphQL API keys and authentication", () => {
  let t: TestApp;
  let a: ApiAccount;

  before(async () => {
    t = await startTestApp();
    a = await createAccount(t);
  });
  after(async () => {
    await t.close();
  });

  describe("when no key or a bad key is sent", () => {
    it("then every operation answers UNAUTHENTICATED with HTTP 401, introspection included", async () => {
      for (const key of [null, "c247_not-a-real-key", ""]) {
        const res = await gql(t, ME, {}, { key });
        expect(res.status).to.equal(401);
        expect(res.errors?.[0]?.extensions?.code).to.equal("UNAUTHENTICATED");
        expect(res.data).to.equal(undefined);
      }
      const introspection = await gql(t, `{ __schema { queryType { name } } }`, {}, { key: null });
      expect(introspection.errors?.[0]?.extensions?.code).to.equal("UNAUTHENTICATED");
    });

    it("then a non-Bearer Authorization header is refused too", async () => {
      const res = await gql(t, ME, {}, { key: null, headers: { authorization: `Basic ${a.key}` } });
      expect(res.errors?.[0]?.extensions?.code).to.equal("UNAUTHENTICATED");
    });

    it("then a mutation sent without a key writes nothing", async () => {
      const before = await ApiKeyModel.countDocuments({ accountId: a.id });
      await gqlError(t, "UNAUTHENTICATED", CREATE_KEY, { name: "sneaky" }, { key: null });
      expect(await ApiKeyModel.countDocuments({ accountId: a.id })).to.equal(before);
    });
  });

  describe("when an account key creates a key", () => {
    it("then the plain key is returned once, stored only as a hash, and works at once", async () => {
      const data = await gqlOk(t, CREATE_KEY, { name: "ci" }, { key: a.key });
      const { key, apiKey } = data.createApiKey;
      expect(key).to.match(/^c247_/);
      expect(apiKey).to.include({ name: "ci", scope: "ACCOUNT", revokedAt: null, lastUsedAt: null });
      expect(apiKey.account.id).to.equal(a.id);
      expect(key.startsWith(apiKey.prefix)).to.equal(true);
      const stored = await ApiKeyModel.findById(apiKey.id).lean();
      expect(stored!.hash).to.equal(hashApiKey(key));
      expect(JSON.stringify(stored)).to.not.include(key);
      const listed = await gqlOk(t, LIST, {}, { key: a.key });
      expect(JSON.stringify(listed)).to.not.include(key);
      const me = await gqlOk(t, ME, {}, { key });
      expect(me.me.id).to.equal(a.id);
    });

    it("then using it records lastUsedAt, without a write on every request", async () => {
      const { createApiKey } = await gqlOk(t, CREATE_KEY, { name: "usage" }, { key: a.key });
      await gqlOk(t, ME, {}, { key: createApiKey.key });
      await waitFor(async () => (await ApiKeyUsageModel.findById(createApiKey.apiKey.id).lean()) != null);
      const first = (await ApiKeyUsageModel.findById(createApiKey.apiKey.id).lean())!.lastUsedAt;
      await gqlOk(t, ME, {}, { key: createApiKey.key });
      await new Promise((r) => setTimeout(r, 100));
      const second = (await ApiKeyUsageModel.findById(createApiKey.apiKey.id).lean())!.lastUsedAt;
      expect(second.getTime()).to.equal(first.getTime());
    });

    it("then authenticating with it writes the usage collection and never the key's document", async () => {
      // On FerretDB any write to the key's document can put back a stale copy over a concurrent
      // revocation, so the check is that none is sent, not that none was lost.
      const { createApiKey } = await gqlOk(t, CREATE_KEY, { name: "reads only" }, { key: a.key });
      const keys = ApiKeyModel.collection.collectionName;
      const usage = ApiKeyUsageModel.collection.collectionName;
      const { commands } = await withDbCommands(async () => {
        await gqlOk(t, ME, {}, { key: createApiKey.key });
        // The usage write is not awaited by the request; wait for it to land inside the window.
        await waitFor(async () => (await ApiKeyUsageModel.findById(createApiKey.apiKey.id).lean()) != null);
      });
      expect(commands, commands.join(", ")).to.include(`find ${keys}`);
      expect(commands, commands.join(", ")).to.include(`update ${usage}`);
      const keyWrites = commands.filter((c) => /^(insert|update|delete|findAndModify) /.test(c) && c.endsWith(` ${keys}`));
      expect(keyWrites, commands.join(", ")).to.deep.equal([]);
    });

    it("then asking for an ADMIN key is FORBIDDEN and nothing is created", async () => {
      const before = await ApiKeyModel.countDocuments({});
      await gqlError(t, "FORBIDDEN", CREATE_KEY, { name: "escalate", scope: "ADMIN" }, { key: a.key });
      expect(await ApiKeyModel.countDocuments({})).to.equal(before);
    });

    it("then an empty name is BAD_USER_INPUT naming the field", async () => {
      const error = await gqlError(t, "BAD_USER_INPUT", CREATE_KEY, { name: "  " }, { key: a.key });
      expect(error.message).to.match(/^name /);
    });
  });

  describe("when a key is revoked", () => {
    it("then it is refused at once and revoking again returns it unchanged", async () => {
      const { createApiKey } = await gqlOk(t, CREATE_KEY, { name: "temp" }, { key: a.key });
      await gqlOk(t, ME, {}, { key: createApiKey.key });
      const revoked = await gqlOk(t, REVOKE, { id: createApiKey.apiKey.id }, { key: a.key });
      expect(revoked.revokeApiKey.revokedAt).to.be.a("string");
      await gqlError(t, "UNAUTHENTICATED", ME, {}, { key: createApiKey.key });
      const again = await gqlOk(t, REVOKE, { id: createApiKey.apiKey.id }, { key: a.key });
      expect(again.revokeApiKey.revokedAt).to.equal(revoked.revokeApiKey.revokedAt);
      const listed = await gqlOk(t, LIST, {}, { key: a.key });
      const node = listed.apiKeys.nodes.find((n: { id: string }) => n.id === createApiKey.apiKey.id);
      expect(node.revokedAt).to.equal(revoked.revokeApiKey.revokedAt);
    });

    it("then a key can revoke itself and is refused afterwards", async () => {
      const { createApiKey } = await gqlOk(t, CREATE_KEY, { name: "self" }, { key: a.key });
      await gqlOk(t, REVOKE, { id: createApiKey.apiKey.id }, { key: createApiKey.key });
      await gqlError(t, "UNAUTHENTICATED", ME, {}, { key: createApiKey.key });
    });

    it("then a key revoking itself while its first uses are in flight stays revoked", async () => {
      // The first use of a key writes its lastUsedAt. When that write went to the key's own
      // document, FerretDB's read-modify-write could land after the revocation and undo it.
      for (let round = 0; round < 10; round++) {
        const { createApiKey } = await gqlOk(t, CREATE_KEY, { name: `self ${round}` }, { key: a.key });
        const { key, apiKey } = createApiKey;
        const [revoked] = await Promise.all([
          gql(t, REVOKE, { id: apiKey.id }, { key }),
          ...Array.from({ length: 5 }, () => gql(t, ME, {}, { key })),
        ]);
        expect(revoked.errors, JSON.stringify(revoked.errors)).to.equal(undefined);
        // Whatever the requests set off has finished once the (single, throttled) usage write is in.
        await waitFor(async () => (await ApiKeyUsageModel.findById(apiKey.id).lean()) != null);
        await gqlError(t, "UNAUTHENTICATED", ME, {}, { key });
        expect((await ApiKeyModel.findById(apiKey.id).lean())!.revokedAt, `round ${round}`).to.be.instanceOf(Date);
      }
    });

    it("then an unknown or malformed id answers NOT_FOUND or BAD_USER_INPUT", async () => {
      await gqlError(t, "NOT_FOUND", REVOKE, { id: "0123456789abcdef01234567" }, { key: a.key });
      const error = await gqlError(t, "BAD_USER_INPUT", REVOKE, { id: "nope" }, { key: a.key });
      expect(error.message).to.match(/^id /);
    });
  });

  describe("when keys are listed with lastUsedAt", () => {
    it("then used keys show their last use, unused ones null, and a page reads usage in one round trip", async () => {
      const b = await createAccount(t);
      const made = [];
      for (let i = 0; i < 6; i++) made.push((await gqlOk(t, CREATE_KEY, { name: `k${i}` }, { key: b.key })).createApiKey);
      for (const k of made.slice(0, 4)) await gqlOk(t, ME, {}, { key: k.key });
      // b's first key and the four used ones; waiting keeps their usage writes out of the counts.
      const ids = (await ApiKeyModel.find({ accountId: b.id }).lean()).map((k) => k._id);
      expect(ids).to.have.length(7);
      await waitFor(async () => (await ApiKeyUsageModel.countDocuments({ _id: { $in: ids } })) === 5);
      const used = new Map(
        (await ApiKeyUsageModel.find({ _id: { $in: ids } }).lean()).map((u) => [String(u._id), u.lastUsedAt.toISOString()]),
      );

      const query = `query ($first: Int, $accountId: ID) { apiKeys(first: $first, accountId: $accountId) { nodes { id lastUsedAt } } }`;
      // The admin key is checked without the database, so only the listing's own reads count.
      const small = await withDbCommands(() => gqlOk(t, query, { first: 2, accountId: b.id }));
      const large = await withDbCommands(() => gqlOk(t, query, { first: 7, accountId: b.id }));
      const nodes: { id: string; lastUsedAt: string | null }[] = large.result.apiKeys.nodes;
      expect(nodes).to.have.length(7);
      for (const node of nodes) expect(node.lastUsedAt, node.id).to.equal(used.get(node.id) ?? null);
      expect(nodes.filter((n) => n.lastUsedAt !== null)).to.have.length(5);

      const usage = `find ${ApiKeyUsageModel.collection.collectionName}`;
      expect(
        large.commands.filter((c) => c === usage),
        large.commands.join(", "),
      ).to.have.length(1);
      expect(large.commands.length, `${small.commands.join(", ")} / ${large.commands.join(", ")}`).to.equal(small.commands.length);
    });
  });

  describe("when the admin manages keys", () => {
    it("then an ADMIN key it creates can do admin work, and stops when revoked", async () => {
      const { createApiKey } = await gqlOk(t, CREATE_KEY, { name: "ops" });
      expect(createApiKey.apiKey).to.include({ scope: "ADMIN" });
      expect(createApiKey.apiKey.account).to.equal(null);
      const made = await gqlOk(
        t,
        `mutation { createAccount(input: { name: "Via admin key", email: "x@example.com" }) { account { id } } }`,
        {},
        { key: createApiKey.key },
      );
      expect(made.createAccount.account.id).to.be.a("string");
      await gqlOk(t, REVOKE, { id: createApiKey.apiKey.id });
      await gqlError(t, "UNAUTHENTICATED", ME, {}, { key: createApiKey.key });
    });

    it("then giving accountId creates that account's key, and an ADMIN key with an accountId is refused", async () => {
      const { createApiKey } = await gqlOk(t, CREATE_KEY, { name: "for a", accountId: a.id });
      expect(createApiKey.apiKey.scope).to.equal("ACCOUNT");
      expect((await gqlOk(t, ME, {}, { key: createApiKey.key })).me.id).to.equal(a.id);
      const error = await gqlError(t, "BAD_USER_INPUT", CREATE_KEY, { name: "bad", scope: "ADMIN", accountId: a.id });
      expect(error.message).to.match(/^accountId /);
      await gqlError(t, "BAD_USER_INPUT", CREATE_KEY, { name: "bad", scope: "ACCOUNT" });
      await gqlError(t, "NOT_FOUND", CREATE_KEY, { name: "bad", accountId: "0123456789abcdef01234567" });
    });

    it("then it lists one account's keys when asked, and me is null for it", async () => {
      const listed = await gqlOk(t, LIST, { accountId: a.id });
      expect(listed.apiKeys.totalCount).to.equal(await ApiKeyModel.countDocuments({ accountId: a.id }));
      expect(listed.apiKeys.nodes.every((n: { scope: string }) => n.scope === "ACCOUNT")).to.equal(true);
      expect((await gqlOk(t, ME)).me).to.equal(null);
    });
  });
});

async function waitFor(check: () => Promise<boolean>, timeoutMs = 2_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error("condition not met in time");
    await new Promise((r) => setTimeout(r, 20));
  }
}

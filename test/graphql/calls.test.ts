import { readFileSync } from "node:fs";
import { expect } from "chai";
import { buildSchema, type GraphQLObjectType } from "graphql";
import { Types } from "mongoose";
import { CALL_FIELD_SOURCES } from "../../api/calls/call.service.js";
import { schemaFilePath } from "../../api/graphql/schema-file.js";
import { CallModel } from "../../schema/models/call.model.js";
import { startTestApp, type TestApp } from "../helpers/app.js";
import { withDbCommands } from "../helpers/db-commands.js";
import { uniqueCallSid, uniqueNumber } from "../helpers/fixtures.js";
import { createAccount, createAgent, gql, gqlError, gqlOk, type ApiAccount } from "../helpers/graphql.js";

const CALL_FIELDS = `id callSid status direction from to forwardedFrom externalCallId agent { id name } account { id }
  startedAt answeredAt endedAt billedSeconds costUsd endedReason transcript`;
const LIST = `query ($first: Int, $after: String, $filter: CallFilter, $accountId: ID) {
  calls(first: $first, after: $after, filter: $filter, accountId: $accountId) {
    totalCount pageInfo { hasNextPage endCursor } nodes { id callSid }
  }
}`;

const T0 = Date.parse("2026-03-01T12:00:00.000Z");

interface CallSeed {
  agentId: string;
  startedAt?: Date;
  status?: "ringing" | "in-progress" | "completed" | "failed";
  from?: string;
  to?: string;
  externalCallId?: string | null;
}

async function seedCall(account: ApiAccount, seed: CallSeed) {
  return CallModel.create({
    callSid: uniqueCallSid(),
    accountId: account.id,
    agentId: seed.agentId,
    from: seed.from ?? "+14155550100",
    to: seed.to ?? "+14155550199",
    externalCallId: seed.externalCallId ?? null,
    status: seed.status ?? "completed",
    startedAt: seed.startedAt ?? new Date(),
  });
}

const ids = (conn: { nodes: { id: string }[] }) => conn.nodes.map((n) => n.id);

describe("GraphQL calls", () => {
  let t: TestApp;
  let a: ApiAccount;
  let agentId: string;

  before(async () => {
    t = await startTestApp();
  });
  after(async () => {
    await t.close();
  });
  beforeEach(async () => {
    a = await createAccount(t);
    agentId = await createAgent(t, a.key, { name: "Receptionist" });
  });

  describe("when a call is read", () => {
    it("then it shows what was recorded, its agent, cost in USD and the transcript", async () => {
      const call = await CallModel.create({
        callSid: uniqueCallSid(),
        accountId: a.id,
        agentId,
        from: "anonymous",
        to: "+14155550123",
        forwardedFrom: "+14155550999",
        externalCallId: "crm-7",
        status: "completed",
        startedAt: new Date(T0),
        answeredAt: new Date(T0 + 1_000),
        endedAt: new Date(T0 + 62_000),
        endedReason: "caller-hangup",
        billedSeconds: 61,
        costMicros: 152_500,
      });
      await CallModel.collection.updateOne(
        { _id: call._id },
        {
          $set: {
            transcript: [
              { role: "agent", text: "Hello!" },
              { role: "caller", text: "Hi, a leak." },
            ],
          },
        },
      );
      const data = await gqlOk(t, `query ($id: ID!) { call(id: $id) { ${CALL_FIELDS} } }`, { id: call.id }, { key: a.key });
      expect(data.call).to.deep.equal({
        id: call.id,
        callSid: call.callSid,
        status: "COMPLETED",
        direction: "inbound",
        from: "anonymous",
        to: "+14155550123",
        forwardedFrom: "+14155550999",
        externalCallId: "crm-7",
        agent: { id: agentId, name: "Receptionist" },
        account: { id: a.id },
        startedAt: "2026-03-01T12:00:00.000Z",
        answeredAt: "2026-03-01T12:00:01.000Z",
        endedAt: "2026-03-01T12:01:02.000Z",
        billedSeconds: 61,
        costUsd: "0.152500",
        endedReason: "caller-hangup",
        transcript: "agent: Hello!\ncaller: Hi, a leak.",
      });
    });

    it("then a ringing call has no cost, no end and no transcript yet, and a deleted agent reads as null", async () => {
      const other = await createAgent(t, a.key);
      const call = await seedCall(a, { agentId: other, status: "ringing" });
      await gqlOk(t, `mutation ($id: ID!) { deleteAgent(id: $id) }`, { id: other }, { key: a.key });
      const data = await gqlOk(
        t,
        `query ($id: ID!) { call(id: $id) { status costUsd endedAt transcript agent { id } } }`,
        { id: call.id },
        { key: a.key },
      );
      expect(data.call).to.deep.equal({ status: "RINGING", costUsd: "0.000000", endedAt: null, transcript: null, agent: null });
    });

    it("then an unknown id is NOT_FOUND", async () => {
      await gqlError(t, "NOT_FOUND", `{ call(id: "0123456789abcdef01234567") { id } }`, {}, { key: a.key });
    });
  });

  describe("when calls are listed with a filter", () => {
    it("then every given field must match", async () => {
      const second = await createAgent(t, a.key);
      const c1 = await seedCall(a, { agentId, startedAt: new Date(T0), status: "completed", from: "+14155550001", externalCallId: "x-1" });
      const c2 = await seedCall(a, { agentId: second, startedAt: new Date(T0 + 60_000), status: "failed", to: "+14155550002" });
      const c3 = await seedCall(a, { agentId, startedAt: new Date(T0 + 120_000), status: "in-progress" });
      const list = async (filter: Record<string, unknown>) => ids((await gqlOk(t, LIST, { filter }, { key: a.key })).calls);
      expect(await list({})).to.deep.equal([c3.id, c2.id, c1.id]);
      expect(await list({ status: "IN_PROGRESS" })).to.deep.equal([c3.id]);
      expect(await list({ agentId: second })).to.deep.equal([c2.id]);
      expect(await list({ from: "+14155550001" })).to.deep.equal([c1.id]);
      expect(await list({ to: "+14155550002" })).to.deep.equal([c2.id]);
      expect(await list({ externalCallId: "x-1" })).to.deep.equal([c1.id]);
      expect(await list({ startedAfter: new Date(T0 + 60_000).toISOString() })).to.deep.equal([c3.id, c2.id]);
      expect(await list({ startedBefore: new Date(T0 + 60_000).toISOString() })).to.deep.equal([c1.id]);
      expect(await list({ agentId, status: "COMPLETED" })).to.deep.equal([c1.id]);
    });

    it("then a reversed time range or a malformed agent id is BAD_USER_INPUT naming the field", async () => {
      const reversed = await gqlError(
        t,
        "BAD_USER_INPUT",
        LIST,
        { filter: { startedAfter: "2026-03-02T00:00:00Z", startedBefore: "2026-03-01T00:00:00Z" } },
        { key: a.key },
      );
      expect(reversed.message).to.match(/^filter\.startedBefore /);
      const agent = await gqlError(t, "BAD_USER_INPUT", LIST, { filter: { agentId: "nope" } }, { key: a.key });
      expect(agent.message).to.match(/^filter\.agentId /);
      const res = await gql(t, LIST, { filter: { startedAfter: "yesterday" } }, { key: a.key });
      expect(res.status).to.equal(400);
      expect(res.errors?.[0]?.extensions?.code).to.equal("BAD_USER_INPUT");
      expect(res.errors?.[0]?.message).to.include("startedAfter");
    });
  });

  describe("when calls are paged while new calls arrive", () => {
    it("then every earlier call appears exactly once, in order, even when start times tie at a page boundary", async () => {
      const starts = [T0, T0 + 1_000, T0 + 2_000, T0 + 2_000, T0 + 3_000, T0 + 4_000];
      const seeded: string[] = [];
      for (const ms of starts) seeded.push((await seedCall(a, { agentId, startedAt: new Date(ms) })).id);
      // Newest first; the two calls at T0+2s tie and the later-created (larger _id) comes first.
      const expected = [seeded[5], seeded[4], seeded[3], seeded[2], seeded[1], seeded[0]];

      const page1 = (await gqlOk(t, LIST, { first: 3 }, { key: a.key })).calls;
      expect(ids(page1)).to.deep.equal(expected.slice(0, 3));
      // Arrivals between the pages: a brand-new call, and one sorting among the remaining ones.
      const newest = await seedCall(a, { agentId, startedAt: new Date(T0 + 10_000) });
      const late = await seedCall(a, { agentId, startedAt: new Date(T0 + 500) });
      const page2 = (await gqlOk(t, LIST, { first: 3, after: page1.pageInfo.endCursor }, { key: a.key })).calls;
      const page3 = (await gqlOk(t, LIST, { first: 3, after: page2.pageInfo.endCursor }, { key: a.key })).calls;
      const seen = [...ids(page1), ...ids(page2), ...ids(page3)];
      expect(seen.filter((id) => id !== late.id)).to.deep.equal(expected);
      expect(seen).to.not.include(newest.id);
      expect(seen.filter((id) => id === late.id)).to.have.length(1);
      expect(page3.pageInfo.hasNextPage).to.equal(false);
    });
  });

  describe("when calls are listed", () => {
    /** The projection of the one find on the calls collection that `fn` sent. */
    const callsProjection = async (fn: () => Promise<unknown>) => {
      const { sent } = await withDbCommands(fn);
      const finds = sent.filter((c) => c.find === "calls");
      expect(finds).to.have.length(1);
      return finds[0]!.projection as Record<string, number> | undefined;
    };

    it("then the database is asked only for the fields the query selects, through fragments too", async () => {
      await seedCall(a, { agentId });
      const bare = await callsProjection(() => gqlOk(t, `{ calls { nodes { id callSid } } }`, {}, { key: a.key }));
      expect(bare).to.deep.equal({ _id: 1, accountId: 1, callSid: 1, startedAt: 1 });
      const nested = await callsProjection(() =>
        gqlOk(
          t,
          `query { calls { totalCount nodes { ...Row ... on Call { turns { text } } __typename } } }
           fragment Row on Call { costUsd agent { name } }`,
          {},
          { key: a.key },
        ),
      );
      expect(nested).to.deep.equal({ accountId: 1, costMicros: 1, agentId: 1, transcript: 1, startedAt: 1 });
    });

    it("then every field reads as it does for the call alone, transcript and usage included", async () => {
      const call = await seedCall(a, { agentId, startedAt: new Date(T0) });
      const at = new Date(T0 + 2_000);
      await CallModel.collection.updateOne(
        { _id: call._id },
        {
          $set: {
            transcript: [{ role: "caller", kind: "speech", text: "Hi", at, offsetMs: 2_000, interrupted: false }],
            usage: { engine: "local", provider: null, audioInSeconds: 3, audioOutSeconds: 1, inputTokens: null, outputTokens: null },
            endedAt: new Date(T0 + 5_000),
            billedSeconds: 5,
            costMicros: 12_500,
          },
        },
      );
      const fields = `${CALL_FIELDS} turns { role kind text at offsetMs interrupted } usage { engine audioInSeconds audioOutSeconds }`;
      const one = await gqlOk(t, `query ($id: ID!) { call(id: $id) { ${fields} } }`, { id: call.id }, { key: a.key });
      const list = await gqlOk(t, `{ calls { nodes { ${fields} } } }`, {}, { key: a.key });
      expect(list.calls.nodes).to.deep.equal([one.call]);
      expect(one.call.turns).to.deep.equal([
        { role: "caller", kind: "speech", text: "Hi", at: at.toISOString(), offsetMs: 2_000, interrupted: false },
      ]);
    });

    it("then every field of the Call type names the stored fields it reads, so none is read short", () => {
      const schema = buildSchema(readFileSync(schemaFilePath(), "utf8"));
      const call = schema.getType("Call") as GraphQLObjectType;
      expect(Object.keys(call.getFields()).sort()).to.deep.equal(Object.keys(CALL_FIELD_SOURCES).sort());
    });
  });

  describe("when 100 calls are listed with their agents", () => {
    it("then the database sees the same small number of round trips as for 5 calls", async () => {
      const agents: string[] = [];
      for (let i = 0; i < 50; i++) agents.push(await createAgent(t, a.key, { name: `Agent ${i}` }));
      await CallModel.insertMany(
        Array.from({ length: 150 }, (_, i) => ({
          callSid: uniqueCallSid(),
          accountId: new Types.ObjectId(a.id),
          agentId: new Types.ObjectId(agents[i % agents.length]),
          to: uniqueNumber(),
          startedAt: new Date(T0 + i * 1_000),
        })),
      );
      const query = `query ($first: Int, $accountId: ID) {
        calls(first: $first, accountId: $accountId) { totalCount nodes { id agent { id name account { id name } } } }
      }`;
      // The admin key is checked without the database, so only the query's own reads count.
      const small = await withDbCommands(() => gqlOk(t, query, { first: 5, accountId: a.id }));
      const large = await withDbCommands(() => gqlOk(t, query, { first: 100, accountId: a.id }));
      expect(large.result.calls.nodes).to.have.length(100);
      expect(new Set(large.result.calls.nodes.map((n: { agent: { id: string } }) => n.agent.id)).size).to.equal(50);
      expect(large.result.calls.nodes.every((n: { agent: { account: { id: string } } }) => n.agent.account.id === a.id)).to.equal(true);
      // calls page, agents, account, count
      expect(large.commands, large.commands.join(", ")).to.have.length.at.most(4);
      expect(large.commands.length).to.equal(small.commands.length);
    });
  });
});

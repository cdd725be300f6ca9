import { expect } from "chai";
import { Redis } from "ioredis";
import { DocumentLocks } from "../../schema/infra/document-lock.js";
import { AccountModel } from "../../schema/models/account.model.js";
import { AgentModel } from "../../schema/models/agent.model.js";
import { PhoneNumberModel } from "../../schema/models/phone-number.model.js";
import { TEST_ADMIN_KEY, startTestApp, type TestApp } from "../helpers/app.js";
import { testEnv } from "../helpers/env.js";
import { uniqueNumber } from "../helpers/fixtures.js";
import { createAccount, createAgent, gqlError, gqlOk, type ApiAccount } from "../helpers/graphql.js";

const ROUNDS = 15;

const UPDATE_ACCOUNT = `mutation ($id: ID, $input: UpdateAccountInput!) { updateAccount(id: $id, input: $input) { id name status } }`;
const UPDATE_AGENT = `mutation ($id: ID!, $input: UpdateAgentInput!) { updateAgent(id: $id, input: $input) { id name greeting } }`;
const UPDATE_NUMBER = `mutation ($id: ID!, $input: UpdatePhoneNumberInput!) { updatePhoneNumber(id: $id, input: $input) { id friendlyName agent { id } } }`;

// FerretDB runs each update as read, modify, write back: without one writer per document, two
// updates of different fields at the same moment lose one most rounds.
describe("GraphQL updates of one document at the same moment", function () {
  this.timeout(60_000);
  // Two web processes: the lock must hold across processes, not only inside one.
  let web1: TestApp;
  let web2: TestApp;
  let a: ApiAccount;

  before(async () => {
    [web1, web2] = await Promise.all([startTestApp(), startTestApp()]);
  });
  after(async () => {
    await Promise.all([web1?.close(), web2?.close()]);
  });
  beforeEach(async () => {
    a = await createAccount(web1);
  });

  it("when an account renames itself while an admin suspends or reactivates it, then both changes stick every round", async () => {
    for (let i = 0; i < ROUNDS; i++) {
      const status = i % 2 === 0 ? "SUSPENDED" : "ACTIVE";
      await Promise.all([
        gqlOk(web1, UPDATE_ACCOUNT, { input: { name: `Renamed ${i}` } }, { key: a.key }),
        gqlOk(web2, UPDATE_ACCOUNT, { id: a.id, input: { status } }),
      ]);
      const stored = await AccountModel.findById(a.id).lean();
      expect({ round: i, name: stored?.name, status: stored?.status }).to.deep.equal({
        round: i,
        name: `Renamed ${i}`,
        status: status.toLowerCase(),
      });
    }
  });

  it("when two of an agent's fields change at the same moment, then both stick every round", async () => {
    const agentId = await createAgent(web1, a.key);
    for (let i = 0; i < ROUNDS; i++) {
      await Promise.all([
        gqlOk(web1, UPDATE_AGENT, { id: agentId, input: { name: `Agent ${i}` } }, { key: a.key }),
        gqlOk(web2, UPDATE_AGENT, { id: agentId, input: { greeting: `Hello ${i}` } }),
      ]);
      const stored = await AgentModel.findById(agentId).lean();
      expect({ round: i, name: stored?.name, greeting: stored?.greeting }).to.deep.equal({
        round: i,
        name: `Agent ${i}`,
        greeting: `Hello ${i}`,
      });
    }
  });

  it("when a number is renamed while its agent is reassigned, then both stick every round", async () => {
    const agents = [await createAgent(web1, a.key), await createAgent(web1, a.key)];
    const created = await gqlOk(
      web1,
      `mutation ($input: CreatePhoneNumberInput!) { createPhoneNumber(input: $input) { id } }`,
      {
        input: { e164: uniqueNumber(), agentId: agents[0], accountId: a.id },
      },
      { key: TEST_ADMIN_KEY },
    );
    const numberId: string = created.createPhoneNumber.id;
    for (let i = 0; i < ROUNDS; i++) {
      const agentId = agents[(i + 1) % 2]!;
      await Promise.all([
        gqlOk(web1, UPDATE_NUMBER, { id: numberId, input: { friendlyName: `Line ${i}` } }, { key: a.key }),
        gqlOk(web2, UPDATE_NUMBER, { id: numberId, input: { agentId } }),
      ]);
      const stored = await PhoneNumberModel.findById(numberId).lean();
      expect({ round: i, friendlyName: stored?.friendlyName, agentId: String(stored?.agentId) }).to.deep.equal({
        round: i,
        friendlyName: `Line ${i}`,
        agentId,
      });
    }
  });

  it("when another process holds a document's lock past the wait, then the update is DOCUMENT_BUSY and changes nothing", async () => {
    const redis = new Redis(testEnv().redisUrl);
    try {
      // Another process's lock on this account, as DocumentLocks takes it (a shorter TTL than the wait would free it).
      await redis.set(`c247:lock:{Account:${a.id}}`, "another-holder", "PX", 60_000);
      const busy = await startTestApp();
      try {
        const error = await gqlError(busy, "DOCUMENT_BUSY", UPDATE_ACCOUNT, { input: { name: "Blocked" } }, { key: a.key });
        expect(error.message).to.match(/try again/);
      } finally {
        await busy.close();
      }
      expect((await AccountModel.findById(a.id).lean())?.name).to.not.equal("Blocked");
      // Once the holder lets go, the same update goes through.
      await redis.del(`c247:lock:{Account:${a.id}}`);
      expect((await gqlOk(web1, UPDATE_ACCOUNT, { input: { name: "Unblocked" } }, { key: a.key })).updateAccount.name).to.equal(
        "Unblocked",
      );
    } finally {
      redis.disconnect();
    }
  });
});

describe("DocumentLocks", () => {
  let redis: Redis;
  before(() => {
    redis = new Redis(testEnv().redisUrl);
  });
  after(() => redis.disconnect());

  it("when tasks of separate lock holders overlap on one document, then they run one at a time, and other documents are not held up", async () => {
    const holders = [new DocumentLocks(redis), new DocumentLocks(redis), new DocumentLocks(redis)];
    const doc = { modelName: `Probe${Date.now()}` };
    let inside = 0;
    let most = 0;
    const task = async () => {
      inside++;
      most = Math.max(most, inside);
      await new Promise((r) => setTimeout(r, 5));
      inside--;
    };
    await Promise.all(Array.from({ length: 12 }, (_, i) => holders[i % 3]!.run(doc, "same-id", task)));
    expect(most).to.equal(1);
    // Different ids do not wait for each other.
    let concurrent = 0;
    let peak = 0;
    let release!: () => void;
    const gate = new Promise<void>((r) => (release = r));
    const held = [0, 1, 2].map((i) =>
      holders[i]!.run(doc, `id-${i}`, async () => {
        peak = Math.max(peak, ++concurrent);
        if (concurrent === 3) release();
        await gate;
      }),
    );
    await Promise.all(held);
    expect(peak).to.equal(3);
    expect(await redis.exists(`c247:lock:{${doc.modelName}:same-id}`)).to.equal(0);
  });

  it("when a task outlasts the lock's TTL, then its holder keeps the lock until it is done", async () => {
    const doc = { modelName: `Slow${Date.now()}` };
    const first = new DocumentLocks(redis, { ttlMs: 300, waitMs: 5_000 });
    const second = new DocumentLocks(redis, { ttlMs: 300, waitMs: 5_000 });
    const order: string[] = [];
    let finishFirst!: () => void;
    const firstDone = new Promise<void>((r) => (finishFirst = r));
    let started!: () => void;
    const firstStarted = new Promise<void>((r) => (started = r));
    const a = first.run(doc, "x", async () => {
      order.push("first-start");
      started();
      await firstDone;
      order.push("first-end");
    });
    await firstStarted;
    const b = second.run(doc, "x", async () => {
      order.push("second");
    });
    // Several TTLs pass while the first task runs; the second must still be waiting.
    await new Promise((r) => setTimeout(r, 1_000));
    expect(order).to.deep.equal(["first-start"]);
    finishFirst();
    await Promise.all([a, b]);
    expect(order).to.deep.equal(["first-start", "first-end", "second"]);
  });

  it("when the task fails, then the lock is released and the error is the task's", async () => {
    const locks = new DocumentLocks(redis);
    const doc = { modelName: `Fail${Date.now()}` };
    let error: unknown;
    await locks.run(doc, "x", async () => Promise.reject(new Error("boom"))).catch((err: unknown) => (error = err));
    expect((error as Error).message).to.equal("boom");
    expect(await redis.exists(`c247:lock:{${doc.modelName}:x}`)).to.equal(0);
  });
});

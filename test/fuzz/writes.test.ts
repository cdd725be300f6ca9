import { expect } from "chai";
import { Queue } from "bullmq";
import { Redis } from "ioredis";
import mongoose, { Types } from "mongoose";
import { ledger } from "../../schema/ledger/ledger.service.js";
import { createFixture } from "../helpers/fixtures.js";
import { testEnv } from "../helpers/env.js";
import { keyOf } from "../../api/auth/auth-failures.js";
import { changes, snapshot, writeCount } from "./writes.js";

describe("fuzz suite: what counts as written", () => {
  let redis: Redis;
  let queue: Queue;

  before(async () => {
    redis = new Redis(testEnv().redisUrl);
    queue = new Queue(`fuzz-writes-${Date.now()}`, { connection: redis });
  });
  after(async () => {
    await queue.obliterate({ force: true });
    await queue.close();
    redis.disconnect();
  });

  it("when documents are inserted or changed and ledger entries appended, then each is found, in any collection", async () => {
    const fx = await createFixture({ balanceMicros: 1_000_000 });
    const scratch = mongoose.connection.db!.collection(`fuzzscratch${Date.now()}`);
    await scratch.insertOne({ _id: new Types.ObjectId(), n: 1 });
    const before = await snapshot(redis, queue);
    expect(writeCount(changes(before, await snapshot(redis, queue)))).to.equal(0);

    await scratch.insertOne({ n: 2 });
    await scratch.updateOne({ n: 1 }, { $set: { n: 3 } });
    await ledger.append({ accountId: fx.accountId, kind: "credit", amountMicros: 1, reference: `fuzz-${Date.now()}`, floorMicros: null });
    const c = changes(before, await snapshot(redis, queue));
    expect(c.ledgerEntries).to.equal(1);
    expect(c.collections.join()).to.include(scratch.collectionName).and.include("ledgerentries");
    // The new scratch document, the changed one, and the entry (plus whatever else the ledger keeps).
    expect(c.documents).to.be.at.least(3);
  });

  it("when c247 keys or the queue change, then they are found, but not the timer locks, a snapshot's read time or failed-authentication counters", async () => {
    const snap = `c247:resv:{acct:${new Types.ObjectId().toHexString()}}:snap`;
    const failures = keyOf(`198.51.100.${Math.floor(Math.random() * 250)}`);
    await redis.set(snap, "3:5000000:1000");
    await redis.set("c247:sweeper:lock", "a");
    const before = await snapshot(redis, queue);
    await redis.set(snap, "3:5000000:2000");
    await redis.set("c247:sweeper:lock", "b");
    await redis.set(failures, "1", "PX", 60_000);
    expect(writeCount(changes(before, await snapshot(redis, queue)))).to.equal(0);

    await redis.set(snap, "4:4000000:3000");
    await redis.set(`c247:{call:${new Types.ObjectId().toHexString()}}:admission`, "{}");
    await queue.add("job", {});
    const c = changes(before, await snapshot(redis, queue));
    expect(c.redisKeys).to.have.length(2);
    expect(c.jobs).to.deep.equal(["waiting 0 -> 1"]);
    await redis.del(snap, "c247:sweeper:lock", failures);
  });
});

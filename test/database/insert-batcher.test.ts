// Call inserts from the inbound webhook go through InsertBatcher: concurrent inserts share one
// unordered insertMany, and each caller still gets its own outcome.
import { expect } from "chai";
import mongoose, { Types } from "mongoose";
import { InsertBatcher } from "../../schema/infra/insert-batcher.js";
import { isDuplicateKeyError } from "../../schema/infra/mongo-errors.js";
import { CallModel } from "../../schema/models/call.model.js";
import { withDbCommands } from "../helpers/db-commands.js";
import { testEnv } from "../helpers/env.js";
import { uniqueCallSid } from "../helpers/fixtures.js";

function newCall(overrides: Record<string, unknown> = {}) {
  return new CallModel({
    callSid: uniqueCallSid(),
    accountId: new Types.ObjectId(),
    agentId: new Types.ObjectId(),
    from: "+14155550100",
    to: "+14155550199",
    status: "ringing",
    startedAt: new Date(),
    ...overrides,
  });
}

describe("InsertBatcher", () => {
  describe("when 40 calls are inserted at once, some of them duplicates", () => {
    it("then each new call is stored once, each duplicate alone gets E11000, and the batch took few writes", async () => {
      const batcher = new InsertBatcher<InstanceType<typeof CallModel>>(CallModel);
      const existing = newCall();
      await existing.save();
      const fresh = Array.from({ length: 36 }, () => newCall());
      const twin = newCall({ _id: fresh[3]!._id, callSid: fresh[3]!.callSid });
      const again = [newCall({ _id: existing._id, callSid: existing.callSid }), twin];
      const all = [...fresh, ...again, newCall(), newCall()];

      const { result, commands } = await withDbCommands(() => Promise.allSettled(all.map((d) => batcher.insert(d))));
      const failed = result.flatMap((r, i) => (r.status === "rejected" ? [{ i, reason: r.reason as unknown }] : []));
      expect(failed.map((f) => f.i)).to.deep.equal([36, 37]);
      expect(failed.every((f) => isDuplicateKeyError(f.reason))).to.equal(true);

      const ids = all.filter((_, i) => i !== 36 && i !== 37).map((d) => d._id);
      expect(await CallModel.countDocuments({ _id: { $in: ids } })).to.equal(38);
      expect(await CallModel.countDocuments({ _id: existing._id })).to.equal(1);
      const inserts = commands.filter((c) => c === "insert calls").length;
      expect(inserts, commands.join(", ")).to.be.within(1, 10);
    });
  });

  describe("when documents trickle in one by one within the linger time", () => {
    it("then they share one insert, and each caller hears back once its document is stored", async () => {
      const batcher = new InsertBatcher<InstanceType<typeof CallModel>>(CallModel, 100, 150);
      const docs = Array.from({ length: 5 }, () => newCall());
      const { result, commands } = await withDbCommands(async () => {
        const inserts: Promise<unknown>[] = [];
        for (const d of docs) {
          inserts.push(batcher.insert(d));
          await new Promise((r) => setImmediate(r));
        }
        return Promise.all(inserts);
      });
      expect(result).to.have.length(5);
      expect(commands.filter((c) => c === "insert calls")).to.have.length(1);
      expect(await CallModel.countDocuments({ _id: { $in: docs.map((d) => d._id) } })).to.equal(5);
    });
  });

  describe("when a document does not validate", () => {
    it("then only its own insert fails, with the validation error, and the others are stored", async () => {
      const batcher = new InsertBatcher<InstanceType<typeof CallModel>>(CallModel);
      const good = [newCall(), newCall()];
      const bad = newCall({ to: undefined });
      const result = await Promise.allSettled([batcher.insert(good[0]!), batcher.insert(bad), batcher.insert(good[1]!)]);
      expect(result.map((r) => r.status)).to.deep.equal(["fulfilled", "rejected", "fulfilled"]);
      expect((result[1] as PromiseRejectedResult).reason).to.have.property("name", "ValidationError");
      expect(await CallModel.countDocuments({ _id: { $in: [...good.map((d) => d._id), bad._id] } })).to.equal(2);
    });
  });

  describe("when the whole write fails (the client is closed)", () => {
    it("then every caller gets the error and nothing is stored", async () => {
      // A real outright failure: a model on its own connection to the run's database, closed
      // before the insert, so the driver refuses the whole batch.
      const conn = await mongoose.createConnection(testEnv().mongodbUri, { bufferCommands: false }).asPromise();
      const Closed = conn.model("Call", CallModel.schema);
      await conn.close();
      const batcher = new InsertBatcher<InstanceType<typeof Closed>>(Closed);
      const docs = Array.from({ length: 5 }, () => new Closed(newCall().toObject()));
      const result = await Promise.allSettled(docs.map((d) => batcher.insert(d)));
      expect(result.map((r) => r.status)).to.deep.equal(Array(5).fill("rejected"));
      for (const r of result) expect(isDuplicateKeyError((r as PromiseRejectedResult).reason)).to.equal(false);
      expect(await CallModel.countDocuments({ _id: { $in: docs.map((d) => d._id) } })).to.equal(0);
    });
  });

  describe("when one document of a batch duplicates a stored key", () => {
    it("then only that caller rejects, with E11000", async () => {
      const batcher = new InsertBatcher<InstanceType<typeof CallModel>>(CallModel);
      const stored = newCall();
      await stored.save();
      const docs = [newCall(), newCall({ _id: new Types.ObjectId(), callSid: stored.callSid }), newCall()];
      const result = await Promise.allSettled(docs.map((d) => batcher.insert(d)));
      expect(result.map((r) => r.status)).to.deep.equal(["fulfilled", "rejected", "fulfilled"]);
      expect(isDuplicateKeyError((result[1] as PromiseRejectedResult).reason)).to.equal(true);
      expect(await CallModel.countDocuments({ _id: { $in: docs.map((d) => d._id) } })).to.equal(2);
    });
  });
});

// The write gate and the insert batcher exist for FerretDB's single SQLite writer. The process
// asks the server what it is when it connects; a real MongoDB gets its writes concurrently.
import { expect } from "chai";
import mongoose, { Types } from "mongoose";
import { adaptToServer, isFerretDB } from "../../schema/infra/db.js";
import { InsertBatcher } from "../../schema/infra/insert-batcher.js";
import { serializedWrite, setWritesSerialized, writesSerialized } from "../../schema/infra/write-gate.js";
import { CallModel } from "../../schema/models/call.model.js";
import { withDbCommands } from "../helpers/db-commands.js";
import { uniqueCallSid } from "../helpers/fixtures.js";

/** What MongoDB 7.0's buildInfo answers (its documented fields), without FerretDB's additions. */
const MONGODB_BUILD_INFO = {
  version: "7.0.14",
  gitVersion: "ce59cfc6a3c5e5c067dca0d30697edd68d4f5188",
  modules: [],
  allocator: "tcmalloc",
  javascriptEngine: "mozjs",
  sysInfo: "deprecated",
  versionArray: [7, 0, 14, 0],
  openssl: { running: "OpenSSL 3.0.2 15 Mar 2022", compiled: "OpenSSL 3.0.2 15 Mar 2022" },
  buildEnvironment: { distmod: "ubuntu2204", distarch: "x86_64" },
  bits: 64,
  debug: false,
  maxBsonObjectSize: 16777216,
  storageEngines: ["devnull", "inMemory", "queryable_wt", "wiredTiger"],
  ok: 1,
};

/** A whole Call document, as CallAdmissions hands it to a lean batcher (defaults and timestamps in). */
const newCall = (): Record<string, unknown> => {
  const now = new Date();
  const doc = new CallModel({
    callSid: uniqueCallSid(),
    accountId: new Types.ObjectId(),
    agentId: new Types.ObjectId(),
    from: "+14155550100",
    to: "+14155550199",
    status: "ringing",
    startedAt: now,
  });
  return { ...doc.toObject(), createdAt: now, updatedAt: now };
};

describe("Write gate: FerretDB only", () => {
  afterEach(() => setWritesSerialized(true));

  it("when the process connected to the embedded FerretDB, then its buildInfo says so and writes are serialized", async () => {
    const info = await mongoose.connection.db!.admin().buildInfo();
    expect(isFerretDB(info)).to.equal(true);
    setWritesSerialized(false);
    await adaptToServer();
    expect(writesSerialized()).to.equal(true);
  });

  it("when the server answers buildInfo as MongoDB does, then it is not taken for FerretDB", () => {
    expect(isFerretDB(MONGODB_BUILD_INFO)).to.equal(false);
  });

  describe("when writes are not serialized (a real MongoDB)", () => {
    it("then two writes run at the same time instead of one after the other", async () => {
      setWritesSerialized(false);
      let releaseFirst!: () => void;
      const first = serializedWrite(() => new Promise<string>((resolve) => (releaseFirst = () => resolve("first"))));
      // Behind a gate the second would wait for the first, which waits for the second: a deadlock.
      const second = serializedWrite(async () => {
        releaseFirst();
        return "second";
      });
      expect(await Promise.all([first, second])).to.deep.equal(["first", "second"]);
    });

    it("then each insert goes to the server alone and at once, and each caller still gets its outcome", async () => {
      setWritesSerialized(false);
      const batcher = new InsertBatcher<Record<string, unknown>>(CallModel, 100, 200, true);
      const docs = Array.from({ length: 6 }, newCall);
      const twin = { ...newCall(), _id: docs[0]!._id, callSid: docs[0]!.callSid };
      const { result, sent } = await withDbCommands(() => Promise.allSettled([...docs, twin].map((d) => batcher.insert(d))));
      // The first document and its twin race (nothing orders concurrent writes): one of them loses.
      expect(result.slice(1, 6).map((r) => r.status)).to.deep.equal(["fulfilled", "fulfilled", "fulfilled", "fulfilled", "fulfilled"]);
      expect([result[0]!.status, result[6]!.status].sort()).to.deep.equal(["fulfilled", "rejected"]);
      const inserts = sent.filter((c) => c.insert === "calls");
      expect(inserts.map((c) => (c.documents as unknown[]).length)).to.deep.equal([1, 1, 1, 1, 1, 1, 1]);
      expect(await CallModel.countDocuments({ _id: { $in: docs.map((d) => d._id) } })).to.equal(6);
    });
  });

  describe("when writes are serialized (FerretDB)", () => {
    it("then the same inserts share one batch", async () => {
      const batcher = new InsertBatcher<Record<string, unknown>>(CallModel, 100, 200, true);
      const docs = Array.from({ length: 6 }, newCall);
      const { sent } = await withDbCommands(() => Promise.all(docs.map((d) => batcher.insert(d))));
      expect(sent.filter((c) => c.insert === "calls").map((c) => (c.documents as unknown[]).length)).to.deep.equal([6]);
    });
  });
});

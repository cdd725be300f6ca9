// The embedded FerretDB pushes a find's filter, sort and limit down to SQLite when it can do so
// exactly (scripts/ferretdb/patches). These tests hold its answers to MongoDB's comparison and
// sort rules across type brackets, arrays included, and check through `explain` that the list
// queries the API runs are answered from an index instead of by reading the whole collection.
import { expect } from "chai";
import type { Collection, Db, Document } from "mongodb";
import mongoose, { Types } from "mongoose";
import { afterFilter } from "../../api/graphql/pagination.js";

const DATE = new Date("2026-01-02T03:04:05.006Z");
const OID = new Types.ObjectId("0123456789abcdef01234567");

/** One document per kind of scalar MongoDB orders: n names it, v is the value compared. */
const MIXED: Document[] = [
  { n: 1, v: 5 },
  { n: 2, v: 5.5 },
  { n: 3, v: "5" },
  { n: 4, v: true },
  { n: 5, v: DATE },
  { n: 6, v: null },
  { n: 7 },
  { n: 8, v: OID },
  { n: 9, v: -3 },
  { n: 10, v: "abc" },
  { n: 11, v: false },
  { n: 12, v: 5 },
];

/**
 * Whether the database answers as FerretDB; the checks through `explain` run only there. The run's
 * own database is FerretDB (scripts/test.mjs sets TEST_DATABASE=ferretdb when it started it): then
 * they must run, never be skipped because the database stopped saying what it is.
 */
async function isFerretDB(db: Db): Promise<boolean> {
  const info = await db.admin().command({ buildInfo: 1 });
  const ferret = typeof info.ferretdbVersion === "string";
  expect(ferret || process.env.TEST_DATABASE !== "ferretdb", "the FerretDB npm test started reports ferretdbVersion").to.equal(true);
  return ferret;
}

interface Explained {
  filterPushdown?: boolean;
  sortPushdown?: boolean;
  limitPushdown?: boolean;
  queryPlanner?: { Plan?: string[] };
}

describe("FerretDB find pushdown", () => {
  let db: Db;
  let isFerret = false;
  const dbName = `pushdown_${Date.now().toString(36)}_${Math.floor(Math.random() * 1e6)}`;

  before(async () => {
    db = mongoose.connection.getClient().db(dbName);
    isFerret = await isFerretDB(db);
  });

  after(async () => {
    await db.dropDatabase();
  });

  const explain = async (coll: Collection, find: Document): Promise<Explained> =>
    await db.command({ explain: { find: coll.collectionName, ...find } });

  /** Runs the find, and on FerretDB checks what explain says was pushed down. */
  async function findNs(coll: Collection, find: { filter?: Document; sort?: Document; limit?: number }, pushed: Explained) {
    let cursor = coll.find(find.filter ?? {});
    if (find.sort) cursor = cursor.sort(find.sort);
    if (find.limit) cursor = cursor.limit(find.limit);
    const ns = (await cursor.toArray()).map((d) => d.n as number);
    if (isFerret) {
      const plan = await explain(coll, find);
      for (const [k, v] of Object.entries(pushed)) expect(plan[k as keyof Explained], `${k} of ${JSON.stringify(find)}`).to.equal(v);
    }
    return ns;
  }

  describe("when a field holds one of each scalar type", () => {
    let coll: Collection;
    before(async () => {
      coll = db.collection("mixed");
      await coll.createIndex({ v: 1 });
      await coll.insertMany(MIXED.map((d) => ({ ...d })));
    });

    it("then equality matches the same type bracket only, numbers across int and double", async () => {
      const all = { filterPushdown: true, sortPushdown: true, limitPushdown: true };
      expect(await findNs(coll, { filter: { v: 5 }, sort: { n: 1 }, limit: 10 }, all)).to.deep.equal([1, 12]);
      expect(await findNs(coll, { filter: { v: 5.0 }, sort: { n: 1 }, limit: 10 }, all)).to.deep.equal([1, 12]);
      expect(await findNs(coll, { filter: { v: "5" }, sort: { n: 1 }, limit: 10 }, all)).to.deep.equal([3]);
      expect(await findNs(coll, { filter: { v: OID }, sort: { n: 1 }, limit: 10 }, all)).to.deep.equal([8]);
      expect(await findNs(coll, { filter: { v: OID.toHexString() }, sort: { n: 1 }, limit: 10 }, all)).to.deep.equal([]);
      expect(await findNs(coll, { filter: { v: true }, sort: { n: 1 }, limit: 10 }, all)).to.deep.equal([4]);
      expect(await findNs(coll, { filter: { v: 1 }, sort: { n: 1 }, limit: 10 }, all)).to.deep.equal([]);
      expect(await findNs(coll, { filter: { v: DATE }, sort: { n: 1 }, limit: 10 }, all)).to.deep.equal([5]);
      expect(await findNs(coll, { filter: { v: DATE.getTime() }, sort: { n: 1 }, limit: 10 }, all)).to.deep.equal([]);
    });

    it("then ranges and $in stay within the value's type bracket", async () => {
      const all = { filterPushdown: true, sortPushdown: true, limitPushdown: true };
      expect(await findNs(coll, { filter: { v: { $lt: 6 } }, sort: { v: 1, n: 1 }, limit: 10 }, all)).to.deep.equal([9, 1, 12, 2]);
      expect(await findNs(coll, { filter: { v: { $gte: "5" } }, sort: { n: 1 }, limit: 10 }, all)).to.deep.equal([3, 10]);
      expect(await findNs(coll, { filter: { v: { $gt: false } }, sort: { n: 1 }, limit: 10 }, all)).to.deep.equal([4]);
      expect(await findNs(coll, { filter: { v: { $lte: DATE } }, sort: { n: 1 }, limit: 10 }, all)).to.deep.equal([5]);
      expect(await findNs(coll, { filter: { v: { $in: [5, "abc", true] } }, sort: { n: 1 }, limit: 10 }, all)).to.deep.equal([
        1, 4, 10, 12,
      ]);
      expect(await findNs(coll, { filter: { v: { $gt: -10, $lt: 5.5 } }, sort: { n: -1 }, limit: 10 }, all)).to.deep.equal([12, 9, 1]);
    });

    it("then sorting orders null and missing first, then numbers, strings, ObjectIds, booleans, dates", async () => {
      const all = { sortPushdown: true, limitPushdown: true };
      expect(await findNs(coll, { sort: { v: 1, n: 1 }, limit: 12 }, all)).to.deep.equal([6, 7, 9, 1, 12, 2, 3, 10, 8, 11, 4, 5]);
      expect(await findNs(coll, { sort: { v: -1, n: -1 }, limit: 4 }, all)).to.deep.equal([5, 4, 11, 8]);
    });

    it("then a page after a cursor with $or is exact, and conditions it cannot translate are left to the server", async () => {
      const after = { $or: [{ v: { $lt: 5 } }, { v: 5, n: { $lt: 12 } }] };
      expect(
        await findNs(coll, { filter: after, sort: { v: -1, n: -1 }, limit: 5 }, { filterPushdown: true, limitPushdown: true }),
      ).to.deep.equal([1, 9]);
      // $exists is not translated: the rest is still pushed down, but not the limit
      const partial = { v: { $gt: 0 }, n: { $exists: true } };
      expect(
        await findNs(coll, { filter: partial, sort: { n: 1 }, limit: 2 }, { filterPushdown: true, limitPushdown: false }),
      ).to.deep.equal([1, 2]);
      expect(await findNs(coll, { filter: { v: null }, sort: { n: 1 }, limit: 5 }, { limitPushdown: false })).to.deep.equal([6, 7]);
    });
  });

  describe("when a field holds an array in some document", () => {
    it("then equality still matches by element, and that field is no longer pushed down", async () => {
      const coll = db.collection("arrays");
      await coll.insertMany([
        { n: 1, tag: "a" },
        { n: 2, tag: "b" },
      ]);
      expect(
        await findNs(coll, { filter: { tag: "a" }, sort: { n: 1 }, limit: 5 }, { filterPushdown: true, limitPushdown: true }),
      ).to.deep.equal([1]);
      await coll.insertOne({ n: 3, tag: ["b", "a"] });
      expect(await findNs(coll, { filter: { tag: "a" }, sort: { n: 1 }, limit: 5 }, { limitPushdown: false })).to.deep.equal([1, 3]);
      expect(await findNs(coll, { sort: { tag: 1, n: 1 }, limit: 5 }, { sortPushdown: false })).to.have.members([1, 2, 3]);
    });

    it("then an array written by an update is noticed as well", async () => {
      const coll = db.collection("arrays_by_update");
      await coll.insertMany([
        { n: 1, tag: "a" },
        { n: 2, tag: "b" },
      ]);
      expect(await findNs(coll, { filter: { tag: "a" }, limit: 5 }, { limitPushdown: true })).to.deep.equal([1]);
      await coll.updateOne({ n: 2 }, { $set: { tag: ["a", "c"] } });
      expect(await findNs(coll, { filter: { tag: "a" }, sort: { n: 1 }, limit: 5 }, { limitPushdown: false })).to.deep.equal([1, 2]);
    });
  });

  describe("when the API lists one account's calls, newest first", () => {
    it("then the page is read through the list index, and updates are seen at once", async () => {
      const coll = db.collection("calls");
      await coll.createIndex({ accountId: 1, startedAt: -1, _id: -1 });
      const account = new Types.ObjectId();
      const other = new Types.ObjectId();
      const docs = Array.from({ length: 300 }, (_, i) => ({
        _id: new Types.ObjectId(),
        n: i,
        accountId: i % 3 === 0 ? other : account,
        startedAt: new Date(DATE.getTime() + Math.floor(i / 2) * 1000),
      }));
      await coll.insertMany(docs);
      const find = { filter: { accountId: account }, sort: { startedAt: -1, _id: -1 }, limit: 3 };
      const expected = docs
        .filter((d) => d.accountId.equals(account))
        .sort((a, b) => b.startedAt.getTime() - a.startedAt.getTime() || b._id.toHexString().localeCompare(a._id.toHexString()))
        .slice(0, 3)
        .map((d) => d.n);
      expect(await findNs(coll, find, { filterPushdown: true, sortPushdown: true, limitPushdown: true })).to.deep.equal(expected);
      if (isFerret) {
        const plan = (await explain(coll, find)).queryPlanner?.Plan?.join("\n") ?? "";
        expect(plan).to.match(/USING INDEX \S+_accountId_1_startedAt_-1__id_-1/);
        expect(plan).not.to.match(/TEMP B-TREE/);
      }
      await coll.updateOne({ n: expected[0] }, { $set: { accountId: other } });
      expect((await findNs(coll, find, { limitPushdown: true }))[0]).to.equal(expected[1]);
    });
  });
});

describe("FerretDB pushdown of the API's next-page filter", () => {
  it("then a page after a cursor searches the list index from the cursor down, not every call of the account", async () => {
    const db = mongoose.connection.getClient().db(`pushdown_page_${Date.now().toString(36)}`);
    try {
      const ferret = await isFerretDB(db);
      const coll = db.collection("calls");
      await coll.createIndex({ accountId: 1, startedAt: -1, _id: -1 });
      const account = new Types.ObjectId();
      const docs = Array.from({ length: 60 }, (_, i) => ({
        _id: new Types.ObjectId(),
        n: i,
        accountId: account,
        startedAt: new Date(DATE.getTime() + Math.floor(i / 3) * 1000), // ties on startedAt
      }));
      await coll.insertMany(docs);
      const ordered = [...docs].sort(
        (a, b) => b.startedAt.getTime() - a.startedAt.getTime() || b._id.toHexString().localeCompare(a._id.toHexString()),
      );
      const last = ordered[10]!;
      const filter = {
        $and: [{ accountId: account }, afterFilter({ k: "startedAt", v: last.startedAt.getTime(), i: last._id.toHexString() })],
      };
      const sort = { startedAt: -1, _id: -1 } as const;
      const page = await coll.find(filter).sort(sort).limit(5).toArray();
      expect(page.map((d) => d.n)).to.deep.equal(ordered.slice(11, 16).map((d) => d.n));
      if (ferret) {
        const plan = (await db.command({ explain: { find: "calls", filter, sort, limit: 5 } })) as Explained;
        expect(plan.limitPushdown).to.equal(true);
        const text = plan.queryPlanner?.Plan?.join("\n") ?? "";
        expect(text).to.match(/USING INDEX \S+_accountId_1_startedAt_-1__id_-1/);
        expect(text, text).to.match(/<expr>=\? AND <expr>=\? AND <expr>=\? AND <expr><\?/);
        expect(text, text).not.to.match(/MULTI-INDEX OR/);
      }
    } finally {
      await db.dropDatabase();
    }
  });
});

describe("FerretDB pushdown of the reconciler's open-calls query", () => {
  it("then stale in-progress calls are read from the (status, updatedAt) index, oldest first, not by scanning every call", async () => {
    const db = mongoose.connection.getClient().db(`pushdown_open_${Date.now().toString(36)}`);
    try {
      const ferret = await isFerretDB(db);
      const coll = db.collection("calls");
      await coll.createIndex({ status: 1, updatedAt: 1, _id: 1 });
      const statuses = ["ringing", "in-progress", "completed", "failed"];
      const docs = Array.from({ length: 40 }, (_, i) => ({
        _id: new Types.ObjectId(),
        n: i,
        status: statuses[i % 4],
        updatedAt: new Date(DATE.getTime() + i * 1000),
      }));
      await coll.insertMany(docs);
      const cutoff = new Date(DATE.getTime() + 30_000);
      const filter = { status: "in-progress", updatedAt: { $lt: cutoff } };
      const sort = { updatedAt: 1, _id: 1 } as const;
      const found = await coll.find(filter).sort(sort).limit(5).toArray();
      const expected = docs.filter((d) => d.status === "in-progress" && d.updatedAt < cutoff).slice(0, 5);
      expect(found.map((d) => d.n)).to.deep.equal(expected.map((d) => d.n));
      if (ferret) {
        const plan = (await db.command({ explain: { find: "calls", filter, sort, limit: 5 } })) as Explained;
        expect(plan.limitPushdown).to.equal(true);
        const text = plan.queryPlanner?.Plan?.join("\n") ?? "";
        expect(text, text).to.match(
          /SEARCH \S+ USING INDEX \S+_status_1_updatedAt_1__id_1 \(<expr>=\? AND <expr>=\? AND <expr>=\? AND <expr><\?\)/,
        );
        // Only the stale open calls found are sorted (SQLite sorts them in a temporary tree): no scan.
        expect(text, text).not.to.match(/detail=SCAN/);
      }
    } finally {
      await db.dropDatabase();
    }
  });
});

// The embedded FerretDB answers an inclusion projection of top-level fields by picking them from
// the stored document (scripts/ferretdb/patches, projection_iterator.go); other projections keep
// FerretDB's own code. These tests hold both to MongoDB's rules, so they pass on MongoDB too.
import { expect } from "chai";
import type { Collection, Db, Document } from "mongodb";
import mongoose from "mongoose";

const AT = new Date("2026-01-02T03:04:05.006Z");
const DOC = { _id: 1, a: "x", nested: { x: 1, y: [1, 2] }, list: [{ k: 1 }, { k: 2 }], at: AT, none: null, b: 2 };

describe("FerretDB projections", () => {
  let db: Db;
  let coll: Collection;
  const dbName = `projection_${Date.now().toString(36)}_${Math.floor(Math.random() * 1e6)}`;

  before(async () => {
    db = mongoose.connection.getClient().db(dbName);
    coll = db.collection("docs");
    await coll.insertMany([DOC, { _id: 2, b: 3 }] as Document[]);
  });

  after(async () => {
    await db.dropDatabase();
  });

  /** The documents in _id order, each as [key, value] pairs so the key order is checked too. */
  const project = async (projection: Document) =>
    (await coll.find({}, { projection }).sort({ _id: 1 }).toArray()).map((d) => Object.entries(d));

  describe("when top-level fields are included", () => {
    it("then _id comes first and the rest keep the stored order, whatever the projection's order", async () => {
      expect(await project({ b: 1, nested: 1, a: true })).to.deep.equal([
        [
          ["_id", 1],
          ["a", "x"],
          ["nested", DOC.nested],
          ["b", 2],
        ],
        [
          ["_id", 2],
          ["b", 3],
        ],
      ]);
    });

    it("then documents, arrays, dates and nulls come whole, and a missing field stays missing", async () => {
      expect(await project({ list: 1, at: 1, none: 1, missing: 1 })).to.deep.equal([
        [
          ["_id", 1],
          ["list", DOC.list],
          ["at", AT],
          ["none", null],
        ],
        [["_id", 2]],
      ]);
    });

    it("then _id can be left out, and including only _id gives only _id", async () => {
      expect(await project({ a: 1, _id: 0 })).to.deep.equal([[["a", "x"]], []]);
      expect(await project({ _id: 1 })).to.deep.equal([[["_id", 1]], [["_id", 2]]]);
    });

    it("then the stored document is not changed by reading part of it", async () => {
      await project({ nested: 1 });
      expect(await coll.findOne({ _id: 1 } as Document)).to.deep.equal(DOC);
    });
  });

  describe("when a projection excludes fields or names a dotted path", () => {
    it("then FerretDB's own projection answers as MongoDB does", async () => {
      expect(await project({ "nested.x": 1, a: 1 })).to.deep.equal([
        [
          ["_id", 1],
          ["a", "x"],
          ["nested", { x: 1 }],
        ],
        [["_id", 2]],
      ]);
      expect(await project({ nested: 0, list: 0, at: 0 })).to.deep.equal([
        [
          ["_id", 1],
          ["a", "x"],
          ["none", null],
          ["b", 2],
        ],
        [
          ["_id", 2],
          ["b", 3],
        ],
      ]);
    });
  });
});

import { expect } from "chai";
import mongoose from "mongoose";
import { assertMoneyIndexes } from "../../schema/infra/db.js";
import { CallModel } from "../../schema/models/call.model.js";
import { ForwardingNumberModel } from "../../schema/models/forwarding-number.model.js";
import { LedgerEntryModel } from "../../schema/models/ledger-entry.model.js";

describe("indexes money relies on, checked at boot", () => {
  it("when the run's database was released, then the check passes", async () => {
    await assertMoneyIndexes();
  });

  it("when a unique index is missing, then the check refuses, naming it and npm run release", async () => {
    const db = mongoose.connection.getClient().db(`indexes_${Date.now().toString(36)}`);
    try {
      await db.collection(LedgerEntryModel.collection.collectionName).createIndex({ accountId: 1, reference: 1 }, { unique: true });
      await db.collection(ForwardingNumberModel.collection.collectionName).createIndex({ e164: 1 }, { unique: true });
      // The calls collection has its callSid index, but not unique: as bad as none.
      await db.collection(CallModel.collection.collectionName).createIndex({ callSid: 1 });
      let message = "";
      await assertMoneyIndexes(db).catch((err: Error) => (message = err.message));
      expect(message).to.include("npm run release").and.include('{"callSid":1}');
      expect(message).not.to.include("reference");
      expect(message).not.to.include("e164");

      await db.collection(CallModel.collection.collectionName).dropIndex("callSid_1");
      await db.collection(CallModel.collection.collectionName).createIndex({ callSid: 1 }, { unique: true });
      await assertMoneyIndexes(db);
    } finally {
      await db.dropDatabase();
    }
  });

  it("when the verified forwarding numbers lack their unique e164 index, then the check refuses, naming it", async () => {
    const db = mongoose.connection.getClient().db(`indexes_fwd_${Date.now().toString(36)}`);
    try {
      await db.collection(LedgerEntryModel.collection.collectionName).createIndex({ accountId: 1, reference: 1 }, { unique: true });
      await db.collection(CallModel.collection.collectionName).createIndex({ callSid: 1 }, { unique: true });
      let message = "";
      await assertMoneyIndexes(db).catch((err: Error) => (message = err.message));
      expect(message).to.include('forwardingnumbers {"e164":1}').and.include("npm run release");
    } finally {
      await db.dropDatabase();
    }
  });
});

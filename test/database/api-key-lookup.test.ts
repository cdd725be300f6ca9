// A key lookup never scans a collection (issue 12, point 5): authentication finds the key by the
// unique index on its hash, whether the key exists or not, and FerretDB answers that from SQLite's
// index (explain: SEARCH ... USING INDEX), not by reading every key.
import { expect } from "chai";
import type { Document } from "mongodb";
import mongoose, { Types } from "mongoose";
import { ApiKeyAuthenticator } from "../../api/auth/api-key-authenticator.js";
import { ApiKeyModel } from "../../schema/models/api-key.model.js";
import { withDbCommands } from "../helpers/db-commands.js";

interface Explained {
  filterPushdown?: boolean;
  queryPlanner?: { Plan?: string[]; winningPlan?: Document };
}

describe("API key lookup", () => {
  const service = new ApiKeyAuthenticator(undefined);
  let key = "";

  before(async () => {
    // Enough keys that a scan would read many documents.
    const accountId = new Types.ObjectId();
    for (let i = 0; i < 30; i++) {
      const made = await service.create({ accountId, scope: "account", name: `lookup ${i}` });
      if (i === 17) key = made.key;
    }
  });

  /** The finds authentication sent to the apikeys collection. */
  async function lookups(presented: string) {
    const { result, sent } = await withDbCommands(() => service.authenticate(presented));
    return { principal: result, finds: sent.filter((c) => c.find === ApiKeyModel.collection.collectionName) };
  }

  async function explain(find: Record<string, unknown>): Promise<Explained> {
    const { find: collection, filter, sort, limit, skip, projection } = find;
    const command: Document = { find: collection, filter };
    for (const [k, v] of Object.entries({ sort, limit, skip, projection })) if (v !== undefined) command[k] = v;
    return await mongoose.connection.db!.command({ explain: command });
  }

  async function expectIndexed(find: Record<string, unknown>) {
    expect(Object.keys(find.filter as object)).to.deep.equal(["hash"]);
    const info = await mongoose.connection.db!.admin().command({ buildInfo: 1 });
    const plan = await explain(find);
    if (typeof info.ferretdbVersion === "string") {
      expect(plan.filterPushdown).to.equal(true);
      const text = plan.queryPlanner?.Plan?.join("\n") ?? "";
      expect(text, text).to.match(/SEARCH \S+ USING INDEX \S+_hash_1/);
      expect(text, text).not.to.match(/detail=SCAN/);
    } else {
      // MongoDB: an index scan (or its express path) on hash_1, never a collection scan.
      const winning = JSON.stringify(plan.queryPlanner?.winningPlan ?? {});
      expect(winning).to.match(/IXSCAN|EXPRESS_IXSCAN|IDHACK/);
      expect(winning).to.include("hash_1");
      expect(winning).not.to.include("COLLSCAN");
    }
  }

  it("when a key authenticates, then it is one find by its hash, answered from the unique hash index", async () => {
    const { principal, finds } = await lookups(key);
    expect(principal).to.include({ kind: "account" });
    expect(finds).to.have.length(1);
    await expectIndexed(finds[0]!);
  });

  it("when the key is unknown, then it is the same single indexed find, with no fallback", async () => {
    const { principal, finds } = await lookups("c247_not-a-key-at-all");
    expect(principal).to.equal(null);
    expect(finds).to.have.length(1);
    await expectIndexed(finds[0]!);
  });
});

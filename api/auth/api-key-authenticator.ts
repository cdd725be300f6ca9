import type { Types } from "mongoose";
import { ApiKeyModel, type ApiKeyScope } from "../../schema/models/api-key.model.js";
import { ApiKeyUsageModel } from "../../schema/models/api-key-usage.model.js";
import { constantTimeEqual, generateApiKey, hashApiKey } from "./api-key.crypto.js";
import type { Principal } from "./principal.js";

/** lastUsedAt is written at most this often per key and process, so reads stay reads. */
const LAST_USED_RESOLUTION_MS = 60_000;

export interface CreateKeyInput {
  accountId: Types.ObjectId | null;
  scope: ApiKeyScope;
  name: string;
}

export class ApiKeyAuthenticator {
  private readonly lastTouched = new Map<string, number>();

  constructor(private readonly adminApiKey: string | undefined) {}

  /** Creates a key; the plain key is returned here and never again. */
  async create(input: CreateKeyInput) {
    const { key, prefix, hash } = generateApiKey();
    const doc = await ApiKeyModel.create({ ...input, prefix, hash });
    return { apiKey: doc, key };
  }

  /** The principal behind a presented key, or null when it is unknown or revoked. */
  async authenticate(presented: string): Promise<Principal | null> {
    if (this.adminApiKey && constantTimeEqual(presented, this.adminApiKey)) return { kind: "admin", keyId: null };
    const doc = await ApiKeyModel.findOne({ hash: hashApiKey(presented) }).lean();
    if (!doc || doc.revokedAt) return null;
    this.touch(doc._id);
    if (doc.scope === "admin") return { kind: "admin", keyId: doc._id };
    if (!doc.accountId) return null;
    return { kind: "account", accountId: doc.accountId, keyId: doc._id };
  }

  /**
   * Records the use in ApiKeyUsage, never in the key's own document: FerretDB writes a whole
   * document back on update, so a write there could undo a concurrent revocation.
   */
  private touch(id: Types.ObjectId): void {
    const now = Date.now();
    if (now - (this.lastTouched.get(String(id)) ?? 0) < LAST_USED_RESOLUTION_MS) return;
    this.lastTouched.set(String(id), now);
    if (this.lastTouched.size > 10_000) this.lastTouched.clear();
    // Best effort, so not awaited and errors are dropped: a lost timestamp is harmless. That
    // includes E11000, when another web process's upsert inserted the same key's row first.
    ApiKeyUsageModel.updateOne({ _id: id }, { $set: { lastUsedAt: new Date(now) } }, { upsert: true }).catch(() => undefined);
  }
}

import type { Types } from "mongoose";
import { ApiKeyModel, type ApiKeyScope } from "../../schema/models/api-key.model.js";
import { constantTimeEqual, generateApiKey, hashApiKey } from "./api-key.crypto.js";
import type { Principal } from "./principal.js";

/** lastUsedAt is written at most this often per key, so reads stay reads. */
const LAST_USED_RESOLUTION_MS = 60_000;

export interface CreateKeyInput {
  accountId: Types.ObjectId | null;
  scope: ApiKeyScope;
  name: string;
}

export class ApiKeyService {
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
    this.touch(doc._id, doc.lastUsedAt ?? null);
    if (doc.scope === "admin") return { kind: "admin", keyId: doc._id };
    if (!doc.accountId) return null;
    return { kind: "account", accountId: doc.accountId, keyId: doc._id };
  }

  private touch(id: Types.ObjectId, lastUsedAt: Date | null): void {
    const now = Date.now();
    const known = Math.max(this.lastTouched.get(String(id)) ?? 0, lastUsedAt?.getTime() ?? 0);
    if (now - known < LAST_USED_RESOLUTION_MS) return;
    this.lastTouched.set(String(id), now);
    if (this.lastTouched.size > 10_000) this.lastTouched.clear();
    // Best effort: a lost timestamp write is harmless, so it is not awaited.
    ApiKeyModel.updateOne({ _id: id }, { $set: { lastUsedAt: new Date(now) } }).catch(() => undefined);
  }
}

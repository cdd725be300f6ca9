import { Schema, model, type InferSchemaType, type HydratedDocument, Types } from "mongoose";

export const API_KEY_SCOPES = ["account", "admin"] as const;
export type ApiKeyScope = (typeof API_KEY_SCOPES)[number];

/**
 * An API key. Only its SHA-256 hash is stored; the plain key is shown once, at creation.
 * Authentication only reads this document (usage goes to ApiKeyUsage), so a revocation is
 * never overwritten by a request made with the key.
 */
const apiKeySchema = new Schema(
  {
    /** Null for platform-admin keys. */
    accountId: { type: Types.ObjectId, ref: "Account", default: null },
    scope: { type: String, enum: API_KEY_SCOPES, required: true, default: "account" },
    name: { type: String, required: true, maxlength: 200 },
    /** The visible start of the key, so people can tell keys apart. */
    prefix: { type: String, required: true },
    hash: { type: String, required: true },
    revokedAt: { type: Date, default: null },
  },
  { timestamps: true },
);

apiKeySchema.index({ hash: 1 }, { unique: true });
apiKeySchema.index({ accountId: 1, createdAt: -1, _id: -1 });

export type ApiKey = InferSchemaType<typeof apiKeySchema>;
export type ApiKeyDoc = HydratedDocument<ApiKey>;
export const ApiKeyModel = model("ApiKey", apiKeySchema);

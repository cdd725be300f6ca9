import { Schema, model, type InferSchemaType, Types } from "mongoose";

/**
 * When an API key was last used, keyed by the key's _id. It lives apart from the key because
 * FerretDB updates a document by reading, changing and writing all of it back: a usage write
 * to the key document could put back a stale copy over a concurrent revocation and revive the
 * key. Here a lost write only loses a timestamp.
 */
const apiKeyUsageSchema = new Schema(
  {
    /** The ApiKey's _id. */
    _id: { type: Types.ObjectId, required: true },
    lastUsedAt: { type: Date, required: true },
  },
  { versionKey: false },
);

export type ApiKeyUsage = InferSchemaType<typeof apiKeyUsageSchema>;
export const ApiKeyUsageModel = model("ApiKeyUsage", apiKeyUsageSchema);

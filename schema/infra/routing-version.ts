import type { Schema } from "mongoose";

/**
 * Routing data (accounts, agents, phone numbers) decides which agent answers a call. Web
 * processes cache it briefly (api/voice/routing-cache.ts); this Redis counter, bumped after
 * every write to those collections, tells every process at once that its cache is stale.
 */
export const ROUTING_VERSION_KEY = "c247:routing:version";

type Listener = () => Promise<unknown>;
const listeners = new Set<Listener>();

/** Registers what to do after a routing write; returns the unregister function. */
export function onRoutingChange(listener: Listener): () => void {
  listeners.add(listener);
  return () => listeners.delete(listener);
}

/** Runs every listener; a listener's failure is its own to report (it must not fail the write). */
export async function routingChanged(): Promise<void> {
  await Promise.all([...listeners].map((l) => l().catch(() => undefined)));
}

const QUERY_WRITES = [
  "updateOne",
  "updateMany",
  "findOneAndUpdate",
  "findOneAndReplace",
  "findOneAndDelete",
  "replaceOne",
  "deleteOne",
  "deleteMany",
] as const;

/** Announces every write made through the schema's model, after it is stored. */
export function announceRoutingWrites(schema: Schema): void {
  schema.post("save", async () => routingChanged());
  schema.post("insertMany", async () => routingChanged());
  schema.post([...QUERY_WRITES], { document: false, query: true }, async () => routingChanged());
  schema.post("deleteOne", { document: true, query: false }, async () => routingChanged());
}

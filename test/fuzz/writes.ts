// What the system has stored, to compare before and after each door: every collection's documents
// (listed from the database, so new collections count too), the Redis keys of admission, billing
// and routing (c247:*), and the close-out queue's jobs.
import { createHash } from "node:crypto";
import type { Queue } from "bullmq";
import type { Redis } from "ioredis";
import mongoose from "mongoose";
import { AUTH_FAILURE_KEY_PREFIX } from "../../api/auth/auth-failures.js";

/** Keys rewritten on a timer by the sweeper and reconciler locks, whatever the traffic. */
const TIMER_KEYS = new Set(["c247:sweeper:lock", "c247:reconciler:lock"]);
/**
 * lastUsedAt of a key is rewritten at most once a minute per key and process when the key
 * authenticates (api/auth/api-key-authenticator.ts): only its document count is compared.
 */
const COUNT_ONLY = new Set(["apikeyusages"]);
/**
 * Failed authentications counted per client address (api/auth/auth-failures.ts): what a refused
 * credential is meant to leave behind, so not a write of the kind the suite looks for.
 */
const isAuthFailureCounter = (key: string) => key.startsWith(AUTH_FAILURE_KEY_PREFIX);
/** An account's balance snapshot (schema/billing/reservation.scripts.ts): compared without the time it was read. */
const SNAPSHOT_KEY = /^c247:resv:\{[^}]*\}:snap$/;

export interface Snapshot {
  /** Collection name -> each document's hash by id (empty hashes where only the count is compared). */
  collections: Map<string, Map<string, string>>;
  /** Redis key -> hash of its DUMP. */
  redis: Map<string, string>;
  jobs: Record<string, number>;
}

export interface Changes {
  /** Collections whose documents changed, with the difference in count. */
  collections: string[];
  /** Documents inserted, deleted or changed. */
  documents: number;
  /** Ledger entries added (or removed). */
  ledgerEntries: number;
  /** Redis keys added, removed or changed. */
  redisKeys: string[];
  jobs: string[];
}

const sha = (data: Uint8Array | string) => createHash("sha256").update(data).digest("hex");

export async function snapshot(redis: Redis, queue: Queue): Promise<Snapshot> {
  const db = mongoose.connection.db!;
  const collections = new Map<string, Map<string, string>>();
  for (const { name } of await db.listCollections({}, { nameOnly: true }).toArray()) {
    const docs = await db.collection(name).find({}).toArray();
    const byId = new Map(docs.map((d) => [JSON.stringify(d._id), COUNT_ONLY.has(name) ? "" : sha(mongoose.mongo.BSON.serialize(d))]));
    collections.set(name, byId);
  }
  const keys: string[] = [];
  let cursor = "0";
  do {
    const [next, batch] = await redis.scan(cursor, "MATCH", "c247:*", "COUNT", 1000);
    cursor = next;
    keys.push(...batch.filter((k) => !TIMER_KEYS.has(k) && !isAuthFailureCounter(k)));
  } while (cursor !== "0");
  const redisState = new Map<string, string>();
  for (const key of keys) {
    if (SNAPSHOT_KEY.test(key)) {
      // "seq:balance:takenAtMs": a refused admission re-reads the same balance at a later time.
      const value = await redis.get(key);
      if (value !== null) redisState.set(key, value.replace(/:\d+$/, ""));
      continue;
    }
    const dump = await redis.dumpBuffer(key);
    if (dump) redisState.set(key, sha(dump));
  }
  const jobs = await queue.getJobCounts("waiting", "active", "completed", "failed", "delayed", "prioritized", "waiting-children");
  return { collections, redis: redisState, jobs };
}

export function changes(before: Snapshot, after: Snapshot): Changes {
  const collections: string[] = [];
  let documents = 0;
  for (const name of new Set([...before.collections.keys(), ...after.collections.keys()])) {
    const a = before.collections.get(name) ?? new Map<string, string>();
    const b = after.collections.get(name) ?? new Map<string, string>();
    const changed = [...new Set([...a.keys(), ...b.keys()])].filter((id) => a.get(id) !== b.get(id)).length;
    if (changed === 0) continue;
    documents += changed;
    collections.push(`${name} (${changed} document(s), count ${a.size} -> ${b.size})`);
  }
  const redisKeys = [...new Set([...before.redis.keys(), ...after.redis.keys()])].filter((k) => before.redis.get(k) !== after.redis.get(k));
  const jobs = Object.keys({ ...before.jobs, ...after.jobs })
    .filter((k) => before.jobs[k] !== after.jobs[k])
    .map((k) => `${k} ${before.jobs[k] ?? 0} -> ${after.jobs[k] ?? 0}`);
  const ledger = (s: Snapshot) => s.collections.get("ledgerentries")?.size ?? 0;
  return { collections, documents, ledgerEntries: ledger(after) - ledger(before), redisKeys, jobs };
}

/** Number of things written: documents, Redis keys and queue states that changed. */
export const writeCount = (c: Changes): number => c.documents + c.redisKeys.length + c.jobs.length;

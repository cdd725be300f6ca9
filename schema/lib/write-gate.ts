import { KeyedMutex } from "./keyed-mutex.js";

/**
 * One write at a time from this process to the database. FerretDB's SQLite backend lets one
 * writer in at a time and makes the others poll with growing sleeps (up to 100 ms each), so
 * concurrent inserts from one process turn a burst of calls into long tail latencies; queueing
 * them here costs about a millisecond each instead. Reads are not gated.
 */
const gate = new KeyedMutex();

export function serializedWrite<T>(write: () => Promise<T>): Promise<T> {
  return gate.run("db-write", write);
}

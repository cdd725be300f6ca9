import { KeyedMutex } from "./keyed-mutex.js";

/**
 * One write at a time from this process to the database, on FerretDB only. Its SQLite backend
 * lets one writer in at a time and makes the others poll with growing sleeps (up to 100 ms each),
 * so concurrent inserts from one process turn a burst of calls into long tail latencies; queueing
 * them here costs about a millisecond each instead. A real MongoDB takes concurrent writes, so
 * there the gate lets every write straight through. Reads are never gated.
 */
const gate = new KeyedMutex();
let serialized = true;

/** Set once the server is known (schema/infra/db.ts asks it at connect): true for FerretDB. */
export function setWritesSerialized(on: boolean): void {
  serialized = on;
}

/** Whether writes queue behind one another (and inserts share batches): FerretDB's single writer. */
export function writesSerialized(): boolean {
  return serialized;
}

export function serializedWrite<T>(write: () => Promise<T>): Promise<T> {
  return serialized ? gate.run("db-write", write) : write();
}

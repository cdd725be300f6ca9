import { serializedWrite, writesSerialized } from "./write-gate.js";

/** What the batcher needs of a mongoose model and its documents. */
interface Insertable<D> {
  insertMany(docs: D[], options: { ordered: false; throwOnValidationError: true; lean: boolean }): Promise<unknown>;
}

interface Pending<D> {
  doc: D;
  resolve: () => void;
  reject: (err: unknown) => void;
}

/**
 * Inserts documents one call at a time for the caller, but writes the documents that queue up
 * behind the write gate as one unordered insertMany: one SQLite transaction (one commit) for
 * the batch. Serialized one by one, inserts topped out near 200 a second; a burst beyond that
 * queued for hundreds of milliseconds and drained slowly. Each caller still gets its own
 * outcome: a duplicate key rejects only its own document, with the server's E11000 error;
 * a failure of the whole write (network, server selection, closed client) rejects every caller.
 * On a real MongoDB, which takes concurrent writes, each document is inserted at once, alone.
 */
export class InsertBatcher<D> {
  private queue: Pending<D>[] = [];
  private flushQueued = false;

  /**
   * @param maxBatch most documents in one insertMany
   * @param lingerMs milliseconds the first document of a batch waits for others to join it, for
   *   writes nobody waits on in a hurry: fewer, larger inserts cost the database less CPU
   * @param lean the documents are plain objects that the caller validated and stamped itself:
   *   mongoose only serializes them, so a batch's flush does not validate every document at once
   */
  constructor(
    private readonly model: Insertable<D>,
    private readonly maxBatch = 100,
    private readonly lingerMs = 0,
    private readonly lean = false,
  ) {}

  async insert(doc: D): Promise<D> {
    await new Promise<void>((resolve, reject) => {
      const pending = { doc, resolve, reject };
      // A real MongoDB takes the insert at once, alone; the queue is FerretDB's.
      if (!writesSerialized()) return void this.flush([pending]);
      this.queue.push(pending);
      this.scheduleFlush();
    });
    return doc;
  }

  private scheduleFlush(): void {
    if (this.flushQueued) return;
    this.flushQueued = true;
    // The batch is taken when the gate lets this write in, so everything that arrived while the
    // previous write was in flight (or while the first document lingered) goes together.
    if (this.lingerMs > 0 && this.queue.length < this.maxBatch) {
      setTimeout(() => void serializedWrite(() => this.flushQueue()), this.lingerMs);
    } else {
      void serializedWrite(() => this.flushQueue());
    }
  }

  private async flushQueue(): Promise<void> {
    this.flushQueued = false;
    const batch = this.queue.splice(0, this.maxBatch);
    if (this.queue.length > 0) this.scheduleFlush();
    await this.flush(batch);
  }

  private async flush(batch: Pending<D>[]): Promise<void> {
    if (batch.length === 0) return;
    try {
      await this.model.insertMany(
        batch.map((p) => p.doc),
        // A document that fails validation is left out and reported at its index, alone.
        { ordered: false, throwOnValidationError: true, lean: this.lean },
      );
      for (const p of batch) p.resolve();
    } catch (err) {
      const outcomes = perDocumentOutcomes(err, batch.length);
      const reported = (err as { results?: unknown }).results;
      batch.forEach((p, i) => {
        if (outcomes) {
          const outcome = outcomes[i];
          if (outcome === p.doc) p.resolve();
          else p.reject((outcome as { err?: unknown })?.err ?? outcome);
          return;
        }
        // Nothing was stored: a document that also failed validation keeps its own reason.
        const own: unknown = Array.isArray(reported) ? reported[i] : undefined;
        p.reject(isValidationError(own) ? own : err);
      });
    }
  }
}

/**
 * The outcome of each document when the batch failed document by document, else null. mongoose
 * attaches `results` (untouched slots filled with the original documents) to any error of an
 * unordered insertMany, a dropped connection included, so `results` alone proves nothing: only
 * per-document write errors from the server (`writeErrors`) or mongoose's own validation report
 * (MongooseBulkWriteError, thrown after the valid documents were stored) mean the rest went in.
 */
function perDocumentOutcomes(err: unknown, size: number): unknown[] | null {
  const e = err as { results?: unknown; writeErrors?: unknown; name?: unknown };
  if (!Array.isArray(e.results) || e.results.length !== size) return null;
  if (Array.isArray(e.writeErrors) || e.name === "MongooseBulkWriteError") return e.results as unknown[];
  return null;
}

const isValidationError = (outcome: unknown): boolean => (outcome as { name?: unknown } | undefined)?.name === "ValidationError";

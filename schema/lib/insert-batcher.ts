import { serializedWrite } from "./write-gate.js";

/** What the batcher needs of a mongoose model and its documents. */
interface Insertable<D> {
  insertMany(docs: D[], options: { ordered: false; throwOnValidationError: true }): Promise<unknown>;
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
 * outcome: a duplicate key rejects only its own document, with the server's E11000 error.
 */
export class InsertBatcher<D> {
  private queue: Pending<D>[] = [];
  private flushQueued = false;

  constructor(
    private readonly model: Insertable<D>,
    private readonly maxBatch = 100,
  ) {}

  async insert(doc: D): Promise<D> {
    await new Promise<void>((resolve, reject) => {
      this.queue.push({ doc, resolve, reject });
      this.scheduleFlush();
    });
    return doc;
  }

  private scheduleFlush(): void {
    if (this.flushQueued) return;
    this.flushQueued = true;
    // The batch is taken when the gate lets this write in, so everything that arrived while the
    // previous write was in flight goes together.
    void serializedWrite(() => this.flush());
  }

  private async flush(): Promise<void> {
    this.flushQueued = false;
    const batch = this.queue.splice(0, this.maxBatch);
    if (this.queue.length > 0) this.scheduleFlush();
    if (batch.length === 0) return;
    try {
      await this.model.insertMany(
        batch.map((p) => p.doc),
        // A document that fails validation is left out and reported at its index, alone.
        { ordered: false, throwOnValidationError: true },
      );
      for (const p of batch) p.resolve();
    } catch (err) {
      const results = (err as { results?: unknown[] }).results;
      if (!Array.isArray(results) || results.length !== batch.length) {
        for (const p of batch) p.reject(err);
        return;
      }
      batch.forEach((p, i) => {
        const outcome = results[i];
        if (outcome === p.doc) p.resolve();
        else p.reject((outcome as { err?: unknown })?.err ?? outcome);
      });
    }
  }
}

import type { Logger } from "../infra/logger.js";
import type { CallAdmissions } from "./call-admissions.js";

export interface AdmissionDrainOptions {
  /** Milliseconds between looks at the pending set. */
  intervalMs: number;
  /** Most calls written per look. */
  batch: number;
  /** Longest pause between two attempts at one call, milliseconds. */
  maxBackoffMs: number;
}

const DEFAULTS: AdmissionDrainOptions = { intervalMs: 1_000, batch: 200, maxBackoffMs: 30_000 };

/**
 * Writes the Call documents of admitted calls that nobody has written yet: the admitting process
 * died, or the database was away. Runs in every web process; two processes taking the same call
 * both insert it, and the second gets E11000, which counts as written.
 */
export class AdmissionDrain {
  private readonly options: AdmissionDrainOptions;
  private timer: NodeJS.Timeout | null = null;
  private running: Promise<void> | null = null;
  /** Attempts per call in this process, for the backoff only. */
  private readonly attempts = new Map<string, number>();

  constructor(
    private readonly admissions: CallAdmissions,
    private readonly log: Logger,
    options: Partial<AdmissionDrainOptions> = {},
  ) {
    this.options = { ...DEFAULTS, ...options };
  }

  start(): void {
    if (this.timer) return;
    this.timer = setInterval(() => {
      this.running ??= this.runOnce()
        .then(() => undefined)
        .catch((err: unknown) => this.log.warn({ err }, "pending admissions could not be read"))
        .finally(() => (this.running = null));
    }, this.options.intervalMs);
    this.timer.unref();
  }

  async stop(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
    await this.running;
  }

  /** Tries every due call once; resolves to how many were written. */
  async runOnce(nowMs = Date.now()): Promise<number> {
    const due = await this.admissions.due(nowMs, this.options.batch);
    // Pushed back first, so other processes leave these calls alone while this one tries.
    await Promise.all(due.map((id) => this.admissions.retryAt(id, nowMs + this.backoff(id))));
    const written = await Promise.all(due.map((id) => this.writeOne(id)));
    return written.filter(Boolean).length;
  }

  private backoff(callId: string): number {
    const n = (this.attempts.get(callId) ?? 0) + 1;
    if (this.attempts.size >= 100_000) this.attempts.clear();
    this.attempts.set(callId, n);
    return Math.min(this.options.maxBackoffMs, this.options.intervalMs * 2 ** Math.min(n, 16));
  }

  private async writeOne(callId: string): Promise<boolean> {
    try {
      const exists = await this.admissions.persist(callId);
      this.attempts.delete(callId);
      if (!exists) {
        this.log.error({ callId }, "admitted call lost: no admission record and no call document");
        await this.admissions.forget(callId);
      }
      return exists;
    } catch (err) {
      this.log.warn({ err, callId, attempts: this.attempts.get(callId) }, "call document not written yet; will retry");
      return false;
    }
  }
}

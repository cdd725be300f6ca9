/**
 * The timers of one per-call object. clearAll() on close leaves nothing behind; `Timers.live`
 * counts every pending timer in the process, so tests can check that no call leaks one.
 */
export class Timers {
  private static pending = 0;
  private readonly set = new Set<NodeJS.Timeout>();

  /** Timers scheduled by any per-call object and not yet fired or cleared. */
  static get live(): number {
    return Timers.pending;
  }

  after(ms: number, fn: () => void): NodeJS.Timeout {
    const timer = setTimeout(
      () => {
        this.forget(timer);
        fn();
      },
      Math.max(0, ms),
    );
    this.set.add(timer);
    Timers.pending++;
    return timer;
  }

  clear(timer: NodeJS.Timeout | null | undefined): void {
    if (!timer || !this.set.has(timer)) return;
    clearTimeout(timer);
    this.forget(timer);
  }

  clearAll(): void {
    for (const t of this.set) clearTimeout(t);
    Timers.pending -= this.set.size;
    this.set.clear();
  }

  get size(): number {
    return this.set.size;
  }

  private forget(timer: NodeJS.Timeout): void {
    if (this.set.delete(timer)) Timers.pending--;
  }
}

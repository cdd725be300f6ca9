import type { Logger } from "../../schema/infra/logger.js";

/**
 * Runs a background pass every `intervalMs`, never two at once (a tick while a pass still runs is
 * skipped). A pass that throws is logged with `failureMessage`; stop() waits for the pass in flight.
 */
export class Periodic {
  private timer: NodeJS.Timeout | null = null;
  private running: Promise<void> | null = null;

  constructor(
    private readonly intervalMs: number,
    private readonly pass: () => Promise<unknown>,
    private readonly log: Logger,
    private readonly failureMessage: string,
  ) {}

  start(): void {
    this.timer ??= setInterval(() => {
      this.running ??= this.pass()
        .then(() => undefined)
        .catch((err: unknown) => this.log.error({ err }, this.failureMessage))
        .finally(() => (this.running = null));
    }, this.intervalMs);
  }

  async stop(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
    await this.running;
  }
}

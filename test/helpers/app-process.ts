import { spawn, type ChildProcess } from "node:child_process";

/** One line of a process's pino output. */
export type LogLine = { msg?: string; [field: string]: unknown };

/**
 * One of our processes (`node dist/api/main.js`, `node dist/media-worker/main.js`) run as a real
 * child, as in production, with what it prints kept for the test to read.
 */
export class AppProcess {
  /** Everything it wrote to stdout and stderr so far. */
  output = "";
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;

  private constructor(readonly child: ChildProcess) {
    const keep = (d: Buffer) => void (this.output += d.toString());
    child.stdout!.on("data", keep);
    child.stderr!.on("data", keep);
    this.exited = new Promise((resolve) => child.once("exit", (code, signal) => resolve({ code, signal })));
  }

  /** Starts `script` with this environment on top of the test run's, and waits until its output matches `ready`. */
  static async start(
    script: string,
    env: Record<string, string>,
    ready: RegExp,
    timeoutMs = 15_000,
  ): Promise<{ proc: AppProcess; ready: RegExpExecArray }> {
    const child = spawn(process.execPath, [script], { env: { ...process.env, ...env }, stdio: ["ignore", "pipe", "pipe"] });
    const proc = new AppProcess(child);
    try {
      return { proc, ready: await proc.waitForOutput(ready, timeoutMs) };
    } catch (err) {
      await proc.stop();
      throw err;
    }
  }

  get running(): boolean {
    return this.child.exitCode === null && this.child.signalCode === null;
  }

  /** Waits until the output matches `re`; fails with the output's tail if the process exits first or time runs out. */
  async waitForOutput(re: RegExp, timeoutMs = 10_000): Promise<RegExpExecArray> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const m = re.exec(this.output);
      if (m) return m;
      if (!this.running) throw new Error(`process exited before printing ${re}: ${this.output.slice(-2_000)}`);
      if (Date.now() > deadline) throw new Error(`process did not print ${re} within ${timeoutMs} ms: ${this.output.slice(-2_000)}`);
      await new Promise((r) => setTimeout(r, 25));
    }
  }

  /** Its JSON log lines so far (other output is skipped). */
  logLines(): LogLine[] {
    return this.output.split("\n").flatMap((line) => {
      if (!line.startsWith("{")) return [];
      try {
        return [JSON.parse(line) as LogLine];
      } catch {
        return [];
      }
    });
  }

  /** The first log line with this message, once it has been printed. */
  async logged(msg: string, timeoutMs = 10_000): Promise<LogLine> {
    await this.waitForOutput(new RegExp(`"msg":${JSON.stringify(msg).replace(/[.*+?^${}()|[\]\\]/g, "\\$&")}`), timeoutMs);
    return this.logLines().find((l) => l.msg === msg)!;
  }

  kill(signal: NodeJS.Signals): void {
    if (this.running) this.child.kill(signal);
  }

  /** SIGKILL unless it has exited, and waits for the exit. */
  async stop(): Promise<void> {
    this.kill("SIGKILL");
    await this.exited;
  }
}

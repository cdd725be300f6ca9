import { spawn, type ChildProcess } from "node:child_process";
import { createWriteStream, readFileSync, type WriteStream } from "node:fs";

/** One of the system's real processes, run as a child with its output kept in a log file. */
export class ChildProc {
  readonly exited: Promise<void>;
  private readonly log: WriteStream;
  private out = "";

  private constructor(
    readonly name: string,
    readonly child: ChildProcess,
    readonly logFile: string,
  ) {
    this.log = createWriteStream(logFile, { flags: "a" });
    this.exited = new Promise((resolve) => child.once("exit", () => resolve()));
    const keep = (d: Buffer) => {
      this.log.write(d);
      if (this.out.length < 64_000) this.out += d.toString();
    };
    child.stdout!.on("data", keep);
    child.stderr!.on("data", keep);
    child.once("exit", (code, signal) => this.log.write(`\n[fault-suite] ${name} exited (${signal ?? `code ${code}`})\n`));
  }

  static spawn(name: string, script: string, env: Record<string, string>, logFile: string): ChildProc {
    const child = spawn(process.execPath, [script], { env, stdio: ["ignore", "pipe", "pipe"] });
    return new ChildProc(name, child, logFile);
  }

  get running(): boolean {
    return this.child.exitCode === null && this.child.signalCode === null;
  }

  /** Waits until the output matches `re` (the process logged it is ready); returns the match. */
  async waitForOutput(re: RegExp, timeoutMs: number): Promise<RegExpExecArray> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const m = re.exec(this.out);
      if (m) return m;
      if (!this.running) throw new Error(`${this.name} exited while starting: ${this.out.slice(-2000)}`);
      if (Date.now() > deadline) throw new Error(`${this.name} not ready within ${timeoutMs} ms: ${this.out.slice(-2000)}`);
      await sleep(50);
    }
  }

  kill(signal: NodeJS.Signals): void {
    if (this.running) this.child.kill(signal);
  }

  /** SIGTERM, then SIGKILL after `graceMs`. */
  async stop(graceMs = 5_000): Promise<void> {
    if (this.running) {
      this.child.kill("SIGTERM");
      const timer = setTimeout(() => this.kill("SIGKILL"), graceMs);
      await this.exited;
      clearTimeout(timer);
    }
    await new Promise<void>((resolve) => this.log.end(() => resolve()));
  }

  /** The last `lines` lines of the log file. */
  tail(lines: number): string {
    return readLog(this.logFile).split("\n").slice(-lines).join("\n");
  }

  /** Log lines mentioning `needle`, at most `max` of them (the last ones). */
  grep(needle: string, max: number): string[] {
    return readLog(this.logFile)
      .split("\n")
      .filter((l) => l.includes(needle))
      .slice(-max);
  }
}

function readLog(file: string): string {
  try {
    return readFileSync(file, "utf8");
  } catch {
    return "";
  }
}

export const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, Math.max(0, ms)));

/** Resolves the promise's value, or `fallback` when it takes longer than `ms`. */
export async function within<T, F>(ms: number, p: Promise<T>, fallback: F): Promise<T | F> {
  let timer: NodeJS.Timeout | undefined;
  try {
    return await Promise.race([p, new Promise<F>((resolve) => (timer = setTimeout(() => resolve(fallback), ms)))]);
  } finally {
    clearTimeout(timer);
  }
}

export { freePort } from "../helpers/free-port.js";

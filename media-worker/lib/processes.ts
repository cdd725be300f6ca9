import { spawn, type ChildProcess } from "node:child_process";

/** A child process that failed: names the command, for logs and the missing-tool report. */
export class ProcessError extends Error {
  constructor(
    readonly command: string,
    message: string,
    readonly code: string | number | null,
  ) {
    super(`${command}: ${message}`);
    this.name = "ProcessError";
  }
}

let live = 0;

/** Child processes started here and not yet exited (tests check that no call leaks one). */
export function liveChildProcesses(): number {
  return live;
}

export interface Step {
  command: string;
  args: string[];
}

export interface RunOptions {
  /** Written to the first process's stdin, which is then closed. */
  input?: string | Buffer;
  /** Aborting kills every process of the pipeline. */
  signal?: AbortSignal;
  /** Most bytes of output kept; more is an error (a runaway process cannot grow memory). */
  maxOutputBytes?: number;
}

/**
 * Runs `a | b | ...` without a shell (arguments are never interpreted) and resolves to the last
 * process's stdout. Any step failing, or the signal aborting, kills them all and rejects.
 */
export function runPipeline(steps: Step[], opts: RunOptions = {}): Promise<Buffer> {
  const max = opts.maxOutputBytes ?? 16 * 1024 * 1024;
  return new Promise((resolve, reject) => {
    if (opts.signal?.aborted) return reject(opts.signal.reason ?? new Error("aborted"));
    const children: ChildProcess[] = [];
    const out: Buffer[] = [];
    let outBytes = 0;
    let settled = false;
    let running = steps.length;
    const stderr = steps.map(() => "");

    const fail = (err: Error) => {
      if (settled) return;
      settled = true;
      for (const c of children) if (c.exitCode === null && c.signalCode === null) c.kill("SIGKILL");
      opts.signal?.removeEventListener("abort", onAbort);
      reject(err);
    };
    const onAbort = () => fail(opts.signal?.reason instanceof Error ? opts.signal.reason : new Error("aborted"));
    opts.signal?.addEventListener("abort", onAbort, { once: true });

    steps.forEach((step, i) => {
      const child = spawn(step.command, step.args, { stdio: ["pipe", "pipe", "pipe"] });
      live++;
      let counted = true;
      const gone = () => {
        if (counted) live--;
        counted = false;
      };
      children.push(child);
      child.stderr!.on("data", (d: Buffer) => (stderr[i] = (stderr[i]! + d.toString()).slice(-2_000)));
      child.stdin!.on("error", () => undefined); // EPIPE when a step exits early; its exit code tells.
      child.once("error", (err: NodeJS.ErrnoException) => {
        if (child.pid === undefined) gone(); // never started: no close follows for sure
        fail(new ProcessError(step.command, err.message, err.code ?? null));
      });
      child.once("close", (code, signal) => {
        gone();
        running--;
        if (code !== 0 && !settled) {
          const detail = stderr[i]!.trim().split("\n").slice(-3).join(" | ");
          return fail(new ProcessError(step.command, `exited with ${code ?? signal}${detail ? `: ${detail}` : ""}`, code));
        }
        if (running === 0 && !settled) {
          settled = true;
          opts.signal?.removeEventListener("abort", onAbort);
          resolve(Buffer.concat(out));
        }
      });
      const prev = children[i - 1];
      if (prev) prev.stdout!.pipe(child.stdin!);
    });
    const last = children[children.length - 1]!;
    last.stdout!.on("data", (d: Buffer) => {
      outBytes += d.length;
      if (outBytes > max) return fail(new ProcessError(steps[steps.length - 1]!.command, `produced more than ${max} bytes`, null));
      out.push(d);
    });
    const first = children[0]!;
    if (opts.input !== undefined) first.stdin!.end(opts.input);
    else first.stdin!.end();
  });
}

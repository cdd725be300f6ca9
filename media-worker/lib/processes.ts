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
 * process's stdout. Any step failing, or the signal aborting, kills them all and rejects. It
 * settles only once every process has exited, so nothing outlives the promise.
 */
export function runPipeline(steps: Step[], opts: RunOptions = {}): Promise<Buffer> {
  const max = opts.maxOutputBytes ?? 16 * 1024 * 1024;
  return new Promise((resolve, reject) => {
    if (opts.signal?.aborted) return reject(opts.signal.reason instanceof Error ? opts.signal.reason : new Error("aborted"));
    const children: ChildProcess[] = [];
    const out: Buffer[] = [];
    const stderr = steps.map(() => "");
    let outBytes = 0;
    let running = steps.length;
    let failure: Error | null = null;

    const fail = (err: Error) => {
      failure ??= err;
      for (const c of children) if (c.exitCode === null && c.signalCode === null) c.kill("SIGKILL");
    };
    const onAbort = () => fail(opts.signal?.reason instanceof Error ? opts.signal.reason : new Error("aborted"));
    opts.signal?.addEventListener("abort", onAbort, { once: true });
    const settle = () => {
      opts.signal?.removeEventListener("abort", onAbort);
      if (failure) reject(failure);
      else resolve(Buffer.concat(out));
    };

    steps.forEach((step, i) => {
      const child = spawn(step.command, step.args, { stdio: ["pipe", "pipe", "pipe"] });
      live++;
      children.push(child);
      child.stderr.on("data", (d: Buffer) => (stderr[i] = (stderr[i]! + d.toString()).slice(-2_000)));
      child.stdin.on("error", () => undefined); // EPIPE when a step exits early; its exit code tells.
      child.once("error", (err: NodeJS.ErrnoException) => fail(new ProcessError(step.command, err.message, err.code ?? null)));
      // `close` follows every spawn, failed ones included: the one place a process is counted gone.
      child.once("close", (code, signal) => {
        live--;
        if (code !== 0) {
          const detail = stderr[i]!.trim().split("\n").slice(-3).join(" | ");
          fail(new ProcessError(step.command, `exited with ${code ?? signal}${detail ? `: ${detail}` : ""}`, code));
        }
        if (--running === 0) settle();
      });
      const prev = children[i - 1];
      if (prev) prev.stdout!.pipe(child.stdin);
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

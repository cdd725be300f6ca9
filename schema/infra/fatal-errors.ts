import type { Logger } from "./logger.js";

export interface FatalErrorOptions {
  log: Logger;
  /** Closes out what the process holds (live calls with their real seconds) before it exits. */
  cleanup: () => Promise<void>;
  /** Longest the cleanup may take, milliseconds. */
  timeoutMs?: number;
  exit?: (code: number) => void;
  /** The process to watch; tests pass an EventEmitter of their own. */
  proc?: Pick<NodeJS.Process, "on">;
}

/**
 * Last line of defence: an error nothing caught leaves the process in an unknown state, so it is
 * logged, what the process holds is closed out, and the process exits non-zero for the platform
 * to restart it. Each call's own errors are caught in its session; reaching here is a bug.
 */
export function exitOnFatalErrors(opts: FatalErrorOptions): void {
  const proc = opts.proc ?? process;
  const exit = opts.exit ?? ((code: number) => process.exit(code));
  let exiting = false;
  const fatal = (kind: string) => (err: unknown) => {
    opts.log.fatal({ err, kind }, "unexpected error; closing out and exiting");
    if (exiting) return;
    exiting = true;
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<void>((resolve) => (timer = setTimeout(resolve, opts.timeoutMs ?? 10_000)));
    void Promise.race([
      opts.cleanup().catch((cleanupErr: unknown) => opts.log.error({ err: cleanupErr }, "cleanup after a fatal error failed")),
      timeout,
    ])
      .finally(() => clearTimeout(timer))
      .then(() => exit(1));
  };
  proc.on("unhandledRejection", fatal("unhandledRejection"));
  proc.on("uncaughtException", fatal("uncaughtException"));
}

import { pino, type Logger } from "pino";

export type { Logger };

export interface LoggerOptions {
  level: string;
  /** Replace personal data (fields under `pii`) with a placeholder. */
  redactPii: boolean;
  name: string;
}

/**
 * Personal data (phone numbers, transcripts) is logged only under a `pii` field so that one
 * redaction rule covers it.
 */
export function createLogger(opts: LoggerOptions): Logger {
  return pino({
    name: opts.name,
    level: opts.level,
    redact: opts.redactPii ? { paths: ["pii", "*.pii"], censor: "[redacted]" } : undefined,
  });
}

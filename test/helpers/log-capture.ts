import { pino } from "pino";
import type { Logger } from "../../schema/infra/logger.js";

/** One line the app logged, parsed from pino's JSON. */
export interface LogLine {
  level: number;
  msg: string;
  requestId?: string;
  err?: { type: string; message: string; stack: string };
  [field: string]: unknown;
}

/** A real pino logger that keeps every line in `lines` instead of writing it out. */
export function capturingLogger(level = "info"): { logger: Logger; lines: LogLine[] } {
  const lines: LogLine[] = [];
  const logger = pino({ name: "test-web", level }, { write: (line: string) => void lines.push(JSON.parse(line) as LogLine) });
  return { logger, lines };
}

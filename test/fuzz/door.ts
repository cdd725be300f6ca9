import type fc from "fast-check";

/**
 * How the system answered one hostile input. `refused` is a 4xx (or a WebSocket closed for policy
 * or size, or refused at the upgrade); `ignored` a 2xx that changed nothing (GraphQL errors in a
 * 200, a socket that stayed open while its messages were dropped); `accepted` a success, which a
 * hostile input must never get; `server-error` a 5xx or a 1011 close; `transport-error` no answer
 * at all (reset, timeout): the process may be gone.
 */
export type Verdict = "refused" | "ignored" | "accepted" | "server-error" | "transport-error";

export interface Outcome {
  verdict: Verdict;
  /** What was answered, e.g. "401 UNAUTHORIZED" or "close 1008 token-malformed". */
  detail: string;
}

/** One way into the system, with the hostile inputs generated for it. */
export interface Door<I> {
  name: string;
  arbitrary: fc.Arbitrary<I>;
  send(input: I): Promise<Outcome>;
  /** The input, short enough for a report line. */
  describe(input: I): string;
}

export const isFailure = (o: Outcome): boolean =>
  o.verdict === "accepted" || o.verdict === "server-error" || o.verdict === "transport-error";

/** Verdict of an HTTP status for a door whose success would be a 2xx. */
export function httpVerdict(status: number): Verdict {
  if (status >= 500) return "server-error";
  if (status >= 400) return "refused";
  if (status >= 200 && status < 300) return "accepted";
  return "refused";
}

/** The error code of a JSON error body ({ code } or GraphQL's errors[0].extensions.code), or "". */
export function errorCode(text: string): string {
  try {
    const body = JSON.parse(text) as { code?: unknown; errors?: { extensions?: { code?: unknown } }[] };
    const code = body.code ?? body.errors?.[0]?.extensions?.code;
    return typeof code === "string" ? code : "";
  } catch {
    return "";
  }
}

/** Shortens a value for a report line. */
export function short(value: unknown, max = 300): string {
  let text: string;
  try {
    text = typeof value === "string" ? value : JSON.stringify(value);
  } catch {
    text = String(value);
  }
  return text.length > max ? `${text.slice(0, max)}... (${text.length} chars)` : text;
}

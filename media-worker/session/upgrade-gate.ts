import type { IncomingMessage } from "node:http";
import type { Duplex } from "node:stream";
import twilioLib from "twilio";

/** Milliseconds a refused socket may take to read our answer and hang up before it is cut. */
const REFUSAL_LINGER_MS = 1_000;

const REASONS = {
  403: "Forbidden",
  404: "Not Found",
  429: "Too Many Requests",
  503: "Service Unavailable",
} as const;

/** Answers an upgrade request with a plain HTTP error instead of switching protocols. */
export function refuseUpgrade(socket: Duplex, status: keyof typeof REASONS): void {
  // A peer that resets, or goes on sending, raises an error on a socket no one else listens to:
  // unheard, it would end the worker and every call on it.
  socket.on("error", () => undefined);
  socket.end(`HTTP/1.1 ${status} ${REASONS[status]}\r\nConnection: close\r\nContent-Length: 0\r\n\r\n`);
  // A peer that never closes its side must not keep the socket.
  setTimeout(() => socket.destroy(), REFUSAL_LINGER_MS).unref();
}

/**
 * True when the upgrade carries Twilio's X-Twilio-Signature for the stream URL it was sent to:
 * the public base URL Twilio was given plus the path, without parameters (a stream URL has none).
 */
export function validUpgradeSignature(authToken: string, mediaPublicUrl: string, req: IncomingMessage): boolean {
  const signature = req.headers["x-twilio-signature"];
  return typeof signature === "string" && twilioLib.validateRequest(authToken, signature, mediaPublicUrl + (req.url ?? "/"), {});
}

/**
 * The address a socket comes from. Behind a load balancer every socket's peer is the balancer,
 * which appends the address it saw to X-Forwarded-For: the last hop is the one to trust, since a
 * client can put anything before it.
 */
export function clientAddress(req: Pick<IncomingMessage, "headers" | "socket">, trustProxy: boolean): string {
  const forwarded = req.headers["x-forwarded-for"];
  const header = Array.isArray(forwarded) ? forwarded.join(",") : forwarded;
  const last = header?.split(",").pop()?.trim();
  if (trustProxy && last) return last;
  return req.socket.remoteAddress ?? "unknown";
}

/**
 * Sockets that have not started a stream, counted per client address, so that one address
 * cannot hold an unbounded number of them open (each costs memory, a timer and, once it sends
 * `start`, database and Redis reads).
 */
export class PendingSockets {
  private readonly counts = new Map<string, number>();

  constructor(private readonly maxPerAddress: number) {}

  /** Counts a socket of `address`; returns its release (safe to call twice), or null when the address is at its cap. */
  tryAdd(address: string): (() => void) | null {
    const count = this.counts.get(address) ?? 0;
    if (count >= this.maxPerAddress) return null;
    this.counts.set(address, count + 1);
    let released = false;
    return () => {
      if (released) return;
      released = true;
      const left = (this.counts.get(address) ?? 1) - 1;
      if (left > 0) this.counts.set(address, left);
      else this.counts.delete(address);
    };
  }

  /** Sockets of `address` counted now. */
  of(address: string): number {
    return this.counts.get(address) ?? 0;
  }
}

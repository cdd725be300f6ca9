// Raw bytes over TCP, for what an HTTP client library would never send: malformed request
// lines, conflicting lengths, oversized headers, broken WebSocket upgrades. None carries a valid
// credential, so each must be refused (or, for an upgrade, closed for policy right after it).
import net from "node:net";
import fc from "fast-check";
import type { Outcome } from "./door.js";
import { hostileString } from "./hostile.js";

export interface RawRequest {
  kind: "raw";
  /** Latin-1 text of the bytes to send. */
  bytes: string;
}

const KEY = "dGhlIHNhbXBsZSBub25jZQ==";

export function rawHttpArbitrary(paths: string[]): fc.Arbitrary<RawRequest> {
  const path = fc.oneof(fc.constantFrom(...paths), fc.constantFrom("/", "*", "/inbound_call", "/graphql", "http://evil.example.com/x"));
  const latin1 = hostileString({ maxHuge: 2000 }).map((s) => Buffer.from(s, "utf8").toString("latin1"));
  // A first line that is empty or blank is a request still to come: the server rightly waits for it.
  const garbageLine = latin1.map((s) => s.replace(/[\r\n]/g, "")).map((s) => (s.trim() === "" ? `\u0001${s}` : s));
  const upgrade = (p: string, extra: string) => `GET ${p} HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n${extra}\r\n`;
  return fc
    .oneof(
      fc
        .tuple(
          path,
          fc.constantFrom(
            "",
            `Sec-WebSocket-Version: 13\r\n`,
            `Sec-WebSocket-Version: 8\r\nSec-WebSocket-Key: ${KEY}\r\n`,
            `Sec-WebSocket-Version: 13\r\nSec-WebSocket-Key: short\r\n`,
          ),
        )
        .map(([p, e]) => upgrade(p, e)),
      path.map((p) => upgrade(p, `Sec-WebSocket-Version: 13\r\nSec-WebSocket-Key: ${KEY}\r\n`)),
      fc
        .tuple(path, latin1)
        .map(([p, v]) =>
          upgrade(p, `Sec-WebSocket-Version: 13\r\nSec-WebSocket-Key: ${KEY}\r\nX-Twilio-Signature: ${v.replace(/[\r\n]/g, "")}\r\n`),
        ),
      fc
        .tuple(fc.constantFrom("GET", "POST", "PUT", "DELETE", "BREW", "G\u0000T"), path)
        .map(([m, p]) => `${m} ${p} HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\n\r\n`),
      path.map((p) => `POST ${p} HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\nContent-Length: 50\r\n\r\nhello`),
      path.map((p) => `POST ${p} HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\nContent-Length: 3\r\n\r\nzz\r\nhello\r\n0\r\n\r\n`),
      path.map((p) => `GET ${p} HTTP/1.1\r\nHost: x\r\nX-Big: ${"b".repeat(20_000)}\r\n\r\n`),
      path.map((p) => `GET ${p} HTTP/1.1\r\nHost: x\r\nX-Folded: a\r\n b\r\n\r\n`),
      fc.constantFrom(
        "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n",
        "GET /\r\n\r\n",
        "\u0016\u0003\u0001\u0002\u0000\u0001\u0000\u0001\u00fc\u0003\u0003",
      ),
      garbageLine.map((s) => `${s}\r\n\r\n`),
    )
    .map((bytes) => ({ kind: "raw" as const, bytes }));
}

/** Sends the bytes and reads the status line (and, after a 101, the close frame's code). */
export function sendRaw(port: number, req: RawRequest): Promise<Outcome> {
  return new Promise((resolve) => {
    const sock = net.connect({ host: "127.0.0.1", port });
    let received = Buffer.alloc(0);
    const finish = () => {
      sock.destroy();
      resolve(rawOutcome(received));
    };
    sock.setTimeout(5_000, () => {
      sock.destroy();
      resolve(received.length ? rawOutcome(received) : { verdict: "transport-error", detail: "no answer within 5 s" });
    });
    sock.on("error", finish);
    sock.on("close", finish);
    sock.on("data", (d: Buffer) => {
      received = Buffer.concat([received, d]);
      const text = received.toString("latin1");
      const head = text.indexOf("\r\n\r\n");
      if (head === -1) return;
      // After a 101 the worker's verdict is the close frame that follows.
      if (text.startsWith("HTTP/1.1 101") && closeCode(received.subarray(head + 4)) === null) return;
      finish();
    });
    sock.write(Buffer.from(req.bytes, "latin1"));
  });
}

function rawOutcome(received: Buffer): Outcome {
  const text = received.toString("latin1");
  const status = Number(/^HTTP\/1\.[01] (\d{3})/.exec(text)?.[1] ?? 0);
  if (status === 0) return { verdict: "refused", detail: received.length ? "not HTTP" : "closed without an answer" };
  if (status === 101) {
    const code = closeCode(received.subarray(text.indexOf("\r\n\r\n") + 4));
    if (code === 1011) return { verdict: "server-error", detail: "101 then close 1011" };
    return code ? { verdict: "refused", detail: `101 then close ${code}` } : { verdict: "accepted", detail: "101 and no close" };
  }
  if (status >= 500) return { verdict: "server-error", detail: `${status}` };
  if (status >= 400) return { verdict: "refused", detail: `${status}` };
  return { verdict: "accepted", detail: `${status}` };
}

/** The status code of the first close frame among the server's (unmasked) frames; null until one is complete. */
export function closeCode(frames: Buffer): number | null {
  let at = 0;
  while (at + 2 <= frames.length) {
    const opcode = frames[at]! & 0x0f;
    const len7 = frames[at + 1]! & 0x7f;
    const head = len7 === 126 ? 4 : len7 === 127 ? 10 : 2;
    if (at + head > frames.length) return null;
    const len = len7 === 126 ? frames.readUInt16BE(at + 2) : len7 === 127 ? Number(frames.readBigUInt64BE(at + 2)) : len7;
    if (at + head + len > frames.length) return null;
    if (opcode === 0x8) return len >= 2 ? frames.readUInt16BE(at + head) : 1005;
    at += head + len;
  }
  return null;
}

/** A client frame: masked unless told otherwise, as RFC 6455 requires of clients. */
export function clientFrame(
  opcode: number,
  payload: Buffer,
  opts: { fin?: boolean; rsv?: number; masked?: boolean; declaredLength?: bigint } = {},
): Buffer {
  const masked = opts.masked ?? true;
  const first = ((opts.fin ?? true) ? 0x80 : 0) | ((opts.rsv ?? 0) << 4) | opcode;
  const length = opts.declaredLength ?? BigInt(payload.length);
  let head: Buffer;
  if (length < 126n) head = Buffer.from([first, (masked ? 0x80 : 0) | Number(length)]);
  else if (length < 65_536n) {
    head = Buffer.from([first, (masked ? 0x80 : 0) | 126, 0, 0]);
    head.writeUInt16BE(Number(length), 2);
  } else {
    head = Buffer.alloc(10);
    head[0] = first;
    head[1] = (masked ? 0x80 : 0) | 127;
    head.writeBigUInt64BE(length, 2);
  }
  if (!masked) return Buffer.concat([head, payload]);
  const key = Buffer.from([0x37, 0xfa, 0x21, 0x3d]);
  return Buffer.concat([head, key, Buffer.from(payload.map((b, i) => b ^ key[i % 4]!))]);
}

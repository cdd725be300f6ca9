// The media socket door: WebSocket upgrades to the media worker with hostile paths and
// signatures, carrying hostile Twilio Media Streams messages: JSON garbage, events of the wrong
// shape, huge frames, and `start` events with missing, forged, tampered or replayed stream tokens
// (the only genuine tokens are those of calls that already ended). A stream must never go live.
import fc from "fast-check";
import twilio from "twilio";
import { WebSocket } from "ws";
import { parseTwilioMessage } from "../../media-worker/protocol/inbound.js";
import type { FuzzContext } from "./context.js";
import { short, type Door, type Outcome } from "./door.js";
import { headerSafe, hostileString } from "./hostile.js";
import { PATH_MARK, junkFrame, rawFramesArbitrary, startFrame } from "./media.frames.js";
import { rawHttpArbitrary, sendRaw, type RawRequest } from "./raw-http.js";

export interface SocketInput {
  kind: "socket";
  path: string;
  signature: { label: string; value: string | null };
  /** Text frames, or binary ones (a byte array). */
  frames: (string | number[])[];
  label: string;
}

export type MediaInput = SocketInput | RawRequest;

/**
 * Milliseconds the worker has to answer a well-formed `start` (it must refuse it) before the
 * stream counts as live. Refusals take milliseconds; the bound only matters if one never comes.
 */
const START_VERDICT_MS = 10_000;

const hexId = fc.array(fc.integer({ min: 0, max: 255 }), { minLength: 12, maxLength: 12 }).map((b) => Buffer.from(b).toString("hex"));
function paths(ctx: FuzzContext): fc.Arbitrary<string> {
  const seeded = fc.constantFrom(...ctx.calls.map((c) => c.callId));
  return fc.oneof(
    { weight: 6, arbitrary: seeded.map((id) => `/${id}`) },
    { weight: 2, arbitrary: hexId.map((id) => `/${id}`) },
    {
      weight: 2,
      arbitrary: fc.oneof(
        seeded.map((id) => `/${id.toUpperCase()}`),
        seeded.map((id) => `/${id}?token=x`),
        seeded.map((id) => `/${id}/`),
        seeded.map((id) => `//${id}`),
        seeded.map((id) => `/../${id}`),
        fc.constantFrom("/", "/healthz", "/%2e%2e/", `/${"a".repeat(5000)}`, "/%00", "/\u00e9"),
        hostileString({ maxHuge: 2000 }).map((s) => `/${encodeURIComponent(s.replace(/[\uD800-\uDFFF]/g, "?"))}`),
      ),
    },
  );
}

function signatures(ctx: FuzzContext, path: string): fc.Arbitrary<SocketInput["signature"]> {
  const signed = (url: string, token = ctx.authToken) => twilio.getExpectedTwilioSignature(token, url, {});
  const own = ctx.mediaPublicUrl + path;
  return fc.oneof(
    { weight: 7, arbitrary: fc.constant({ label: "good", value: signed(own) }) },
    { weight: 1, arbitrary: fc.constant({ label: "none", value: null }) },
    {
      weight: 1,
      arbitrary: fc
        .oneof(fc.base64String({ minLength: 28, maxLength: 28 }), hostileString({ maxHuge: 1000 }).map(headerSafe))
        .map((v) => ({ label: "forged", value: v })),
    },
    {
      weight: 1,
      arbitrary: fc.constantFrom(
        { label: "other-path", value: signed(`${ctx.mediaPublicUrl}/${ctx.calls[0]!.callId}x`) },
        { label: "other-host", value: signed(`wss://evil.example.com${path}`) },
        { label: "wrong-auth-token", value: signed(own, `${ctx.authToken}x`) },
      ),
    },
  );
}

function socketArbitrary(ctx: FuzzContext): fc.Arbitrary<SocketInput> {
  // Built once: arbitraries made inside chain() would be rebuilt for every input.
  const frameArbs = new Map(ctx.calls.map((c) => [c.callId, framesArb(startFrame(ctx, c.callId))]));
  const anyPath = framesArb(startFrame(ctx, null));
  return paths(ctx).chain((path) => {
    const pathCallId = path.slice(1);
    return fc.record({ signature: signatures(ctx, path), frames: frameArbs.get(pathCallId) ?? anyPath }).map(({ signature, frames }) => ({
      kind: "socket" as const,
      path,
      signature,
      frames: frames.map((f) => (typeof f === "string" ? f.replaceAll(JSON.stringify(PATH_MARK).slice(1, -1), pathCallId) : f)),
      label: `${frames.length} frame(s)`,
    }));
  });
}

const framesArb = (start: fc.Arbitrary<string>) =>
  fc.array(fc.oneof({ weight: 2, arbitrary: junkFrame }, { weight: 1, arbitrary: start }), { maxLength: 6 });

/** True when a frame would pass as a `start` (the worker must then refuse the stream). */
const isStart = (f: string | number[]) => {
  if (typeof f !== "string") return false;
  const parsed = parseTwilioMessage(f);
  return parsed.ok && parsed.event.kind === "start";
};

export async function sendSocket(ctx: FuzzContext, input: SocketInput): Promise<Outcome> {
  const headers: Record<string, string> = input.signature.value === null ? {} : { "x-twilio-signature": input.signature.value };
  let ws: WebSocket;
  try {
    ws = new WebSocket(ctx.mediaUrl + input.path, { headers, perMessageDeflate: false, handshakeTimeout: 10_000 });
  } catch (err) {
    // The client refuses URLs it cannot send (e.g. a path with a space): nothing reached the worker.
    return { verdict: "refused", detail: `client: ${(err as Error).message.slice(0, 60)}` };
  }
  let serverSpoke = false;
  const closed = new Promise<Outcome>((resolve) => {
    ws.on("unexpected-response", (_req, res) => {
      const status = res.statusCode ?? 0;
      res.resume();
      resolve({ verdict: status >= 500 ? "server-error" : "refused", detail: `upgrade ${status}` });
      ws.terminate();
    });
    ws.on("error", (err) => resolve({ verdict: "transport-error", detail: err.message }));
    ws.on("message", () => (serverSpoke = true));
    ws.on("close", (code, reason) => resolve(closeOutcome(code, reason.toString())));
  });
  const opened = await Promise.race([new Promise<true>((r) => ws.once("open", () => r(true))), closed]);
  if (opened !== true) return opened;
  let wantsVerdict = false;
  for (const f of input.frames) {
    if (ws.readyState !== WebSocket.OPEN) break;
    ws.send(typeof f === "string" ? f : Buffer.from(f));
    wantsVerdict ||= isStart(f);
  }
  // A pong comes back after the worker handled every frame before the ping.
  if (ws.readyState === WebSocket.OPEN) ws.ping();
  const ponged = new Promise<"pong">((r) => ws.once("pong", () => r("pong")));
  const first = await Promise.race([closed, ponged, sleep(10_000).then(() => "timeout" as const)]);
  if (typeof first !== "string") return first;
  if (wantsVerdict) {
    const verdict = await Promise.race([closed, sleep(START_VERDICT_MS).then(() => null)]);
    if (verdict) return verdict;
  }
  ws.close(1000);
  const after = await Promise.race([closed, sleep(2_000).then(() => null)]);
  if (wantsVerdict || serverSpoke)
    return { verdict: "accepted", detail: serverSpoke ? "the worker streamed to it" : "a start was not refused" };
  if (first === "timeout") return { verdict: "transport-error", detail: "no pong within 10 s" };
  if (after === null) ws.terminate();
  return { verdict: "ignored", detail: "messages ignored" };
}

function closeOutcome(code: number, reason: string): Outcome {
  // 1011: the worker failed handling the stream (an exception): the socket's 5xx.
  if (code === 1011) return { verdict: "server-error", detail: `close 1011 ${reason}` };
  if (code === 1006) return { verdict: "transport-error", detail: "connection dropped without a close frame" };
  // A refusal is a policy (1008), size (1009) or protocol close; 1000 ends a stream that was live.
  if (code === 1000) return { verdict: "accepted", detail: `close 1000 ${reason}` };
  return { verdict: "refused", detail: `close ${code} ${reason.replace(/ \(\d+\)$/, "")}`.trim() };
}

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

export function mediaSocketDoor(ctx: FuzzContext, mediaPort: number): Door<MediaInput> {
  return {
    name: "media socket",
    arbitrary: fc.oneof(
      { weight: 18, arbitrary: socketArbitrary(ctx) },
      { weight: 1, arbitrary: rawHttpArbitrary(ctx.calls.map((c) => `/${c.callId}`)) },
      { weight: 1, arbitrary: rawFramesArbitrary(ctx) },
    ),
    send: (input) => (input.kind === "socket" ? sendSocket(ctx, input) : sendRaw(mediaPort, input)),
    describe: (input) =>
      input.kind === "socket"
        ? `ws ${short(input.path, 80)} signature ${input.signature.label} frames ${short(
            input.frames.map((f) => (typeof f === "string" ? short(f, 160) : `<${f.length} bytes>`)),
            600,
          )}`
        : `raw ${short(JSON.stringify(input.bytes), 300)}`,
  };
}

// What the media socket door sends after the upgrade: `start` events with every sort of stream
// token, junk messages, and raw frames that break the WebSocket protocol.
import fc from "fast-check";
import twilio from "twilio";
import type { FuzzContext, SeededCall } from "./context.js";
import { deepJsonText, deepValue, hostileJson, hostileString, operatorObject } from "./hostile.js";
import { clientFrame, type RawRequest } from "./raw-http.js";

/** base64url text of `min` to `max` characters (fast-check makes base64 in blocks of 4). */
const b64url = (min: number, max: number) =>
  fc
    .tuple(fc.base64String({ minLength: Math.ceil(max / 4) * 4, maxLength: Math.ceil(max / 4) * 4 }), fc.integer({ min, max }))
    .map(([s, n]) => s.replace(/=+$/, "").replace(/\+/g, "-").replace(/\//g, "_").slice(0, n));

/** Stream tokens: none, garbage, forged, tampered, or the genuine token of an ended call (mostly `call`'s). */
function tokens(ctx: FuzzContext, call: SeededCall): fc.Arbitrary<string | undefined> {
  const genuine = fc.oneof(
    { weight: 3, arbitrary: fc.constant(call.token) },
    { weight: 1, arbitrary: fc.constantFrom(...ctx.calls.map((c) => c.token)) },
  );
  const tamper = fc.tuple(genuine, fc.nat(), fc.constantFrom("A", "_", "-", "0")).map(([t, i, c]) => {
    const at = 3 + (i % (t.length - 3));
    return t.slice(0, at) + (t[at] === c ? "B" : c) + t.slice(at + 1);
  });
  return fc.oneof(
    { weight: 3, arbitrary: genuine },
    { weight: 2, arbitrary: tamper },
    {
      weight: 1,
      arbitrary: fc
        .tuple(b64url(60, 160), b64url(43, 43))
        .map(([p, m]) => `v2.${p}.${m}`)
        .filter((t) => /^v2\.[\w-]{60,160}\.[\w-]{43}$/.test(t)),
    },
    { weight: 1, arbitrary: fc.tuple(fc.nat(), b64url(43, 43)).map(([n, m]) => `v1.${n}.${m}`) },
    { weight: 1, arbitrary: hostileString({ maxHuge: 2000 }) },
    { weight: 1, arbitrary: fc.constant(undefined) },
  );
}

/** Stands for the socket's call id in a `start` built before the path is known. */
export const PATH_MARK = "\u0000path\u0000";
const sidOf = (prefix: string) =>
  fc.array(fc.integer({ min: 0, max: 255 }), { minLength: 16, maxLength: 16 }).map((b) => prefix + Buffer.from(b).toString("hex"));

/**
 * A `start` message shaped like Twilio's, with hostile parts; most are well-formed. For a path of
 * a seeded call it is mostly that call's own, so its genuine token replays a stream that ended;
 * for any other path (null) PATH_MARK stands for the path's id.
 */
export function startFrame(ctx: FuzzContext, pathCallId: string | null): fc.Arbitrary<string> {
  const own = ctx.calls.find((c) => c.callId === pathCallId);
  const calls = own
    ? fc.oneof({ weight: 3, arbitrary: fc.constant(own) }, { weight: 1, arbitrary: fc.constantFrom(...ctx.calls) })
    : fc.constantFrom(...ctx.calls);
  return calls.chain((chosen) =>
    fc
      .record({
        call: fc.constant(chosen),
        token: tokens(ctx, chosen),
        callId: fc.oneof(
          { weight: 4, arbitrary: fc.constant(pathCallId ?? PATH_MARK) },
          { weight: 1, arbitrary: fc.constantFrom(...ctx.calls.map((c) => c.callId)) },
          { weight: 1, arbitrary: hostileString({ maxHuge: 100 }) },
        ),
        callSid: fc.oneof(
          { weight: 3, arbitrary: fc.constant<string | null>(null) },
          { weight: 1, arbitrary: fc.constantFrom(...ctx.calls.map((c) => c.callSid)) },
          { weight: 1, arbitrary: sidOf("CA") },
        ),
        // Mostly well-formed, so the token checks run; sometimes spoiled, so the parser's do.
        extraParams: fc.oneof(
          { weight: 4, arbitrary: fc.constant({}) },
          { weight: 2, arbitrary: fc.dictionary(fc.string({ maxLength: 64 }), hostileString({ maxHuge: 1024 }), { maxKeys: 3 }) },
          {
            weight: 1,
            arbitrary: fc.dictionary(
              fc.string({ maxLength: 70 }),
              fc.oneof(hostileString({ maxHuge: 2000 }), hostileJson as fc.Arbitrary<never>),
              { maxKeys: 3 },
            ),
          },
        ),
        manyParams: fc.oneof({ weight: 9, arbitrary: fc.constant(null) }, { weight: 1, arbitrary: fc.integer({ min: 33, max: 60 }) }),
        spoil: fc.oneof(
          { weight: 4, arbitrary: fc.constant(null) },
          {
            weight: 1,
            arbitrary: fc.constantFrom(
              "no-media-format",
              "tracks-object",
              "sample-rate-text",
              "sid-huge",
              "start-array",
              "account-sid-operator",
            ),
          },
        ),
      })
      .map(({ call, token, callId, callSid, extraParams, manyParams, spoil }) => {
        const customParameters: Record<string, unknown> = { ...call.customParameters, callId, ...extraParams };
        if (token === undefined) delete customParameters.token;
        else customParameters.token = token;
        if (manyParams) for (let i = 0; i < manyParams; i++) customParameters[`p${i}`] = "x";
        const start: Record<string, unknown> = {
          accountSid: call.accountSid,
          streamSid: "MZ" + "0".repeat(32),
          callSid: callSid ?? call.callSid,
          tracks: ["inbound"],
          mediaFormat: { encoding: "audio/x-mulaw", sampleRate: 8000, channels: 1 },
          customParameters,
        };
        if (spoil === "no-media-format") delete start.mediaFormat;
        if (spoil === "tracks-object") start.tracks = { $gt: "" };
        if (spoil === "sample-rate-text") start.mediaFormat = { encoding: "audio/x-mulaw", sampleRate: "8k", channels: 1 };
        if (spoil === "sid-huge") start.callSid = "C".repeat(100_000);
        if (spoil === "account-sid-operator") start.accountSid = { $ne: null };
        return JSON.stringify({
          event: "start",
          sequenceNumber: "1",
          start: spoil === "start-array" ? [start] : start,
          streamSid: start.streamSid,
        });
      }),
  );
}

/** Messages that are not a usable event: garbage, wrong types, bad fields, too big. */
export const junkFrame: fc.Arbitrary<string | number[]> = fc.oneof(
  hostileString({ maxHuge: 70_000 }),
  hostileJson.map((v) => JSON.stringify(v) ?? "null"),
  fc.constantFrom(
    "not json",
    "[1,2,3]",
    "null",
    "42",
    '"start"',
    "{",
    '{"event":null}',
    '{"event":"start"}',
    '{"event":"start","start":"x"}',
    '{"event":"start","start":{},"event":"mark","mark":{"name":"goodbye"}}',
    '{"event":"media","event":"stop"}',
  ),
  fc
    .tuple(fc.oneof(hostileString({ maxHuge: 100 }), operatorObject), hostileJson)
    .map(([event, body]) => JSON.stringify({ event, media: body, start: body, dtmf: body, mark: body })),
  fc
    .tuple(fc.oneof(hostileString({ maxHuge: 20_000 }), fc.constantFrom("%%%", "AAA", "AAAA=", "////")), hostileJson)
    .map(([payload, chunk]) => JSON.stringify({ event: "media", media: { payload, chunk, timestamp: chunk, track: chunk } })),
  fc.oneof(hostileString({ maxHuge: 100 }), operatorObject).map((digit) => JSON.stringify({ event: "dtmf", dtmf: { digit } })),
  fc.oneof(hostileString({ maxHuge: 1000 }), operatorObject).map((name) => JSON.stringify({ event: "mark", mark: { name } })),
  deepValue.map((v) => JSON.stringify({ event: "media", media: v })),
  deepJsonText.map((t) => `{"event":"start","start":${t}}`),
  deepJsonText,
  fc.constantFrom(JSON.stringify({ event: "stop" }), JSON.stringify({ event: "connected", protocol: "Call", version: "1.0.0" })),
  fc.array(fc.integer({ min: 0, max: 255 }), { maxLength: 64 }),
  fc.constant("x".repeat(70_000)),
);

/**
 * A signed upgrade for a seeded call followed by WebSocket frames that break RFC 6455 (unmasked,
 * reserved bits or opcodes, oversized or fragmented control frames, bad close codes, invalid
 * UTF-8, absurd lengths), ending with a proper close: the worker must close, never fail.
 */
export function rawFramesArbitrary(ctx: FuzzContext): fc.Arbitrary<RawRequest> {
  const text = (s: string) => Buffer.from(s, "utf8");
  const code = (n: number, reason = "") => Buffer.concat([Buffer.from([n >> 8, n & 0xff]), text(reason)]);
  const frames = fc.constantFrom(
    clientFrame(0x1, text('{"event":"connected"}'), { masked: false }),
    clientFrame(0x1, text("{}"), { rsv: 4 }),
    clientFrame(0x1, text("{}"), { rsv: 3 }),
    clientFrame(0x3, text("reserved opcode")),
    clientFrame(0xb, text("reserved control opcode")),
    clientFrame(0x0, text("continuation first")),
    clientFrame(0x1, text('{"event":'), { fin: false }),
    clientFrame(0x9, Buffer.alloc(126, 1)),
    clientFrame(0x9, text("fragmented ping"), { fin: false }),
    clientFrame(0x8, code(999)),
    clientFrame(0x8, code(1005)),
    clientFrame(0x8, code(5000)),
    clientFrame(0x8, Buffer.from([3])),
    clientFrame(0x8, code(1000, "\u00ff".repeat(10)).subarray(0, 5)),
    clientFrame(0x1, Buffer.from([0xc3, 0x28, 0xff, 0xfe])),
    clientFrame(0x1, Buffer.alloc(0), { declaredLength: 2n ** 63n }),
    clientFrame(0x1, Buffer.alloc(0), { declaredLength: 2n ** 53n }),
    clientFrame(0x2, Buffer.from([0xde, 0xad, 0xbe, 0xef])),
    clientFrame(0x9, text("ping")),
    clientFrame(0xa, text("unsolicited pong")),
    clientFrame(0x1, text(JSON.stringify({ event: "start", start: { customParameters: { token: ctx.calls[0]!.token } } }))),
  );
  return fc.tuple(fc.constantFrom(...ctx.calls), fc.array(frames, { minLength: 1, maxLength: 4 })).map(([call, chosen]) => {
    const path = `/${call.callId}`;
    const signature = twilio.getExpectedTwilioSignature(ctx.authToken, ctx.mediaPublicUrl + path, {});
    const upgrade = `GET ${path} HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nX-Twilio-Signature: ${signature}\r\n\r\n`;
    const bytes = Buffer.concat([Buffer.from(upgrade, "latin1"), ...chosen, clientFrame(0x8, code(1000))]);
    return { kind: "raw" as const, bytes: bytes.toString("latin1") };
  });
}

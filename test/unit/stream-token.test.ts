import { createHmac } from "node:crypto";
import { expect } from "chai";
import { signStreamToken, verifyStreamToken, type StreamClaims } from "../../schema/infra/stream-token.js";

describe("stream token", () => {
  const secret = "s".repeat(32);
  const now = 1_800_000_000;
  const claims = (over: Partial<StreamClaims> = {}): StreamClaims => ({
    callId: "a".repeat(24),
    callSid: `CA${"0123456789abcdef".repeat(2)}`,
    accountId: "b".repeat(24),
    agentId: "c".repeat(24),
    ratePerMinuteMicros: 150_000,
    expiresAtSec: now + 60,
    ...over,
  });
  const callId = "a".repeat(24);

  it("when signed for a call, then it verifies for that call until it expires, with the call's facts", () => {
    const token = signStreamToken(secret, claims());
    expect(token).to.match(/^v2\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]{43}$/);
    expect(token.length).to.be.below(170);
    expect(verifyStreamToken(secret, token, callId, now)).to.deep.equal({ ok: true, claims: claims() });
    expect(verifyStreamToken(secret, token, callId, now + 61)).to.deep.equal({ ok: false, reason: "expired" });
  });

  it("when presented for another call or with another secret, then it is refused", () => {
    const token = signStreamToken(secret, claims());
    expect(verifyStreamToken(secret, token, "d".repeat(24), now)).to.deep.equal({ ok: false, reason: "wrong-call" });
    expect(verifyStreamToken("t".repeat(32), token, callId, now)).to.deep.equal({ ok: false, reason: "bad-signature" });
  });

  it("when any fact is edited (rate, expiry, CallSid, account), then the signature no longer matches", () => {
    const token = signStreamToken(secret, claims());
    const [, payload, sig] = token.split(".");
    const bytes = Buffer.from(payload!, "base64url");
    for (const offset of [0, 12, 24, 36 + 5, 48 + 5, bytes.length - 1]) {
      const forged = Buffer.from(bytes);
      forged[offset] = forged[offset]! ^ 1;
      expect(verifyStreamToken(secret, `v2.${forged.toString("base64url")}.${sig}`, callId, now), `byte ${offset}`).to.deep.equal({
        ok: false,
        reason: "bad-signature",
      });
    }
  });

  it("when malformed, then it is refused", () => {
    for (const bad of [
      "",
      "v1",
      "v1.x.y",
      "v2.1.abc",
      `v1.${now}.${"a".repeat(42)}`,
      `v2.${"A".repeat(80)}.${"a".repeat(42)}`,
      "v3.abc.def",
    ]) {
      expect(verifyStreamToken(secret, bad, callId, now)).to.deep.equal({ ok: false, reason: "malformed" });
    }
  });

  it("when the facts cannot be encoded, then signing throws instead of issuing a token", () => {
    expect(() => signStreamToken(secret, claims({ callId: "not-an-id" }))).to.throw(RangeError);
    expect(() => signStreamToken(secret, claims({ callSid: "CA with spaces" }))).to.throw(RangeError);
    expect(() => signStreamToken(secret, claims({ ratePerMinuteMicros: 1.5 }))).to.throw(RangeError);
  });

  it("when signed twice with the same facts, then the token is identical (idempotent TwiML)", () => {
    expect(signStreamToken(secret, claims())).to.equal(signStreamToken(secret, claims()));
  });

  it("when a v1 token from before tokens carried facts is presented, then it still verifies, without facts", () => {
    const sig = createHmac("sha256", secret)
      .update(`stream:${callId}:${now + 60}`)
      .digest("base64url");
    expect(verifyStreamToken(secret, `v1.${now + 60}.${sig}`, callId, now)).to.deep.equal({ ok: true, claims: null });
    expect(verifyStreamToken(secret, `v1.${now + 60}.${sig}`, "d".repeat(24), now).ok).to.equal(false);
  });
});

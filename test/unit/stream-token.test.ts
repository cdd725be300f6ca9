import { expect } from "chai";
import { signStreamToken, verifyStreamToken } from "../../schema/lib/stream-token.js";

describe("stream token", () => {
  const secret = "s".repeat(32);
  const now = 1_800_000_000;

  it("when signed for a call, then it verifies for that call until it expires", () => {
    const token = signStreamToken(secret, "call-1", now + 60);
    expect(verifyStreamToken(secret, token, "call-1", now)).to.deep.equal({ ok: true });
    expect(verifyStreamToken(secret, token, "call-1", now + 61)).to.deep.equal({ ok: false, reason: "expired" });
  });

  it("when presented for another call or with another secret, then it is refused", () => {
    const token = signStreamToken(secret, "call-1", now + 60);
    expect(verifyStreamToken(secret, token, "call-2", now).ok).to.equal(false);
    expect(verifyStreamToken("t".repeat(32), token, "call-1", now).ok).to.equal(false);
  });

  it("when the expiry is edited, then the signature no longer matches", () => {
    const token = signStreamToken(secret, "call-1", now + 60);
    const forged = token.replace(`v1.${now + 60}.`, `v1.${now + 6000}.`);
    expect(verifyStreamToken(secret, forged, "call-1", now)).to.deep.equal({ ok: false, reason: "bad-signature" });
  });

  it("when malformed, then it is refused", () => {
    for (const bad of ["", "v1", "v1.x.y", "v2.1.abc", `v1.${now}.${"a".repeat(42)}`]) {
      expect(verifyStreamToken(secret, bad, "call-1", now)).to.deep.equal({ ok: false, reason: "malformed" });
    }
  });

  it("when signed twice with the same inputs, then the token is identical (idempotent TwiML)", () => {
    expect(signStreamToken(secret, "c", now)).to.equal(signStreamToken(secret, "c", now));
  });
});

import { expect } from "chai";
import { ApiKeyModel } from "../../schema/models/api-key.model.js";
import { ApiKeyUsageModel } from "../../schema/models/api-key-usage.model.js";
import { CallModel } from "../../schema/models/call.model.js";
import { startTestApp, TEST_ADMIN_KEY, type TestApp } from "../helpers/app.js";
import { createFixture, uniqueCallSid, type Fixture } from "../helpers/fixtures.js";
import { parseStreamTwiml, postForm } from "../helpers/twilio.js";

describe("POST /inbound_call authentication", () => {
  let t: TestApp;
  let fx: Fixture;

  before(async () => {
    t = await startTestApp();
  });
  after(async () => {
    await t.close();
  });
  beforeEach(async () => {
    fx = await createFixture({ balanceMicros: 1_000_000 });
  });

  const fields = () => ({ CallSid: uniqueCallSid(), From: "+14155550100", To: fx.number, AccountSid: "AC" + "1".repeat(32) });

  async function expectRefused(res: { status: number; text: string }, callSid: string) {
    expect(res.status).to.equal(401);
    expect(JSON.parse(res.text)).to.deep.include({ success: false, code: "UNAUTHORIZED" });
    expect(await CallModel.countDocuments({ callSid })).to.equal(0);
  }

  describe("when Twilio signs the request", () => {
    it("then a valid signature over the public URL and the query string is accepted", async () => {
      const body = fields();
      const res = await postForm(t, `/inbound_call?agent_id=${String(fx.agentId)}`, body);
      expect(res.status).to.equal(200);
    });

    it("then a signature made with another token is refused", async () => {
      const body = fields();
      await expectRefused(await postForm(t, "/inbound_call", body, { token: "some-other-auth-token" }), body.CallSid);
    });

    it("then a missing signature is refused", async () => {
      const body = fields();
      await expectRefused(await postForm(t, "/inbound_call", body, { token: null }), body.CallSid);
    });

    it("then a signature made for another URL is refused", async () => {
      const body = fields();
      const res = await postForm(t, "/inbound_call", body, { signedUrl: "https://evil.example.com/inbound_call" });
      await expectRefused(res, body.CallSid);
    });

    it("then a signature over the body with one field changed is refused", async () => {
      const body = fields();
      const signed = { ...body, To: "+19999999999" };
      const sigOf = await import("twilio").then((m) => m.default.getExpectedTwilioSignature);
      const res = await fetch(`${t.url}/inbound_call`, {
        method: "POST",
        headers: {
          "content-type": "application/x-www-form-urlencoded",
          "x-twilio-signature": sigOf("test-twilio-auth-token-0123456789", `${t.config.publicBaseUrl}/inbound_call`, signed),
        },
        body: new URLSearchParams(body).toString(),
      });
      await expectRefused({ status: res.status, text: await res.text() }, body.CallSid);
    });

    it("then behind a proxy the signature is checked against PUBLIC_BASE_URL, not the Host header", async () => {
      const proxied = await startTestApp({ PUBLIC_BASE_URL: "https://tunnel.example.net:8443/twilio" });
      try {
        const body = fields();
        // Twilio called the tunnel; the app itself sees 127.0.0.1 and a different Host.
        const res = await postForm(proxied, "/inbound_call", body, {
          signedUrl: "https://tunnel.example.net:8443/twilio/inbound_call",
          headers: { host: "internal:3000", "x-forwarded-host": "other.example" },
        });
        expect(res.status, res.text).to.equal(200);
      } finally {
        await proxied.close();
      }
    });

    it("then with no TWILIO_AUTH_TOKEN configured a signature cannot authenticate", async () => {
      const unsigned = await startTestApp({ TWILIO_AUTH_TOKEN: "" });
      try {
        const body = fields();
        await expectRefused(await postForm(unsigned, "/inbound_call", body), body.CallSid);
      } finally {
        await unsigned.close();
      }
    });
  });

  describe("when a Bearer API key is used", () => {
    async function keyFor(accountId: Fixture["accountId"]) {
      return t.app.apiKeys.create({ accountId, scope: "account", name: "webhook" });
    }

    it("then the account's own key is accepted without a signature", async () => {
      const { key } = await keyFor(fx.accountId);
      const body = fields();
      const res = await postForm(t, "/inbound_call", body, { token: null, headers: { authorization: `Bearer ${key}` } });
      expect(res.status).to.equal(200);
      expect(parseStreamTwiml(res.text).params.agentId).to.equal(String(fx.agentId));
    });

    it("then the platform admin key is accepted", async () => {
      const body = fields();
      const res = await postForm(t, "/inbound_call", body, { token: null, headers: { authorization: `Bearer ${TEST_ADMIN_KEY}` } });
      expect(res.status).to.equal(200);
    });

    it("then a revoked key is refused", async () => {
      const { key, apiKey } = await keyFor(fx.accountId);
      await ApiKeyModel.updateOne({ _id: apiKey._id }, { $set: { revokedAt: new Date() } });
      const body = fields();
      const res = await postForm(t, "/inbound_call", body, { token: null, headers: { authorization: `Bearer ${key}` } });
      await expectRefused(res, body.CallSid);
    });

    it("then an unknown key is refused even with a valid Twilio signature", async () => {
      const body = fields();
      const res = await postForm(t, "/inbound_call", body, { headers: { authorization: "Bearer c247_notakey" } });
      await expectRefused(res, body.CallSid);
    });

    it("then another account's key cannot start a call on this account's agent", async () => {
      const other = await createFixture({ balanceMicros: 1_000_000 });
      const { key } = await keyFor(other.accountId);
      const body = { ...fields(), agent_id: String(fx.agentId) };
      const res = await postForm(t, "/inbound_call", body, { token: null, headers: { authorization: `Bearer ${key}` } });
      expect(res.status).to.equal(404);
      expect(JSON.parse(res.text).code).to.equal("AGENT_NOT_FOUND");
      const byNumber = await postForm(t, "/inbound_call", fields(), { token: null, headers: { authorization: `Bearer ${key}` } });
      expect(byNumber.status).to.equal(404);
      expect(await CallModel.countDocuments({ callSid: body.CallSid })).to.equal(0);
    });

    it("then it records when the key was last used", async () => {
      const { key, apiKey } = await keyFor(fx.accountId);
      await postForm(t, "/inbound_call", fields(), { token: null, headers: { authorization: `Bearer ${key}` } });
      let stored = null;
      for (let i = 0; i < 20 && !stored?.lastUsedAt; i++) {
        await new Promise((r) => setTimeout(r, 25));
        stored = await ApiKeyUsageModel.findById(apiKey._id).lean();
      }
      expect(stored?.lastUsedAt).to.be.instanceOf(Date);
    });
  });
});

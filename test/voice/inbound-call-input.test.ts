import { expect } from "chai";
import { CallModel } from "../../schema/models/call.model.js";
import { startTestApp, type TestApp } from "../helpers/app.js";
import { createFixture, uniqueCallSid, type Fixture } from "../helpers/fixtures.js";
import { postForm, storedCall } from "../helpers/twilio.js";
import twilio from "twilio";
import { TEST_AUTH_TOKEN } from "../helpers/app.js";

describe("POST /inbound_call input validation", () => {
  let t: TestApp;
  let fx: Fixture;

  before(async () => {
    t = await startTestApp();
    fx = await createFixture({ balanceMicros: 1_000_000 });
  });
  after(async () => {
    await t.close();
  });

  const fields = (extra: Record<string, string> = {}) => ({ CallSid: uniqueCallSid(), From: "+14155550100", To: fx.number, ...extra });

  /** Sends a raw body, signed over the fields it decodes to, so only validation can refuse it. */
  async function postRaw(rawBody: string, contentType = "application/x-www-form-urlencoded", path = "/inbound_call") {
    const decoded: Record<string, string | string[]> = {};
    for (const [k, v] of new URLSearchParams(rawBody)) {
      const prev = decoded[k];
      decoded[k] = prev === undefined ? v : [...(Array.isArray(prev) ? prev : [prev]), v];
    }
    const res = await fetch(t.url + path, {
      method: "POST",
      headers: {
        "content-type": contentType,
        "x-twilio-signature": twilio.getExpectedTwilioSignature(TEST_AUTH_TOKEN, t.config.publicBaseUrl + path, decoded),
      },
      body: rawBody,
    });
    return { status: res.status, contentType: res.headers.get("content-type") ?? "", json: JSON.parse(await res.text()) };
  }

  async function callCount() {
    return CallModel.countDocuments({ accountId: fx.accountId });
  }

  it("when CallSid, From or To are missing, then MISSING_PARAMS names them and nothing is written", async () => {
    const before = await callCount();
    const res = await postForm(t, "/inbound_call", { AccountSid: "AC1" });
    expect(res.status).to.equal(400);
    expect(res.contentType).to.match(/^application\/json/);
    const json = JSON.parse(res.text);
    expect(json).to.deep.include({ success: false, code: "MISSING_PARAMS" });
    expect(json.error).to.include("CallSid").and.include("From").and.include("To");
    expect(await callCount()).to.equal(before);
  });

  it("when the content type is JSON, then 415 and nothing is written", async () => {
    const before = await callCount();
    const res = await fetch(`${t.url}/inbound_call`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify(fields()),
    });
    expect(res.status).to.equal(415);
    expect(((await res.json()) as { code: string }).code).to.equal("UNSUPPORTED_MEDIA_TYPE");
    expect(await callCount()).to.equal(before);
  });

  it("when the body is larger than the limit, then 413 and nothing is written", async () => {
    const before = await callCount();
    const big = new URLSearchParams({ ...fields(), Padding: "x".repeat(40_000) }).toString();
    const res = await postRaw(big);
    expect(res.status).to.equal(413);
    expect(res.json.code).to.equal("PAYLOAD_TOO_LARGE");
    expect(await callCount()).to.equal(before);
  });

  it("when an oversized body comes chunked (no Content-Length), then 413 with Connection: close, and the client's next request still works", async () => {
    const chunk = new TextEncoder().encode("Padding=" + "x".repeat(16 * 1024));
    let sent = 0;
    const body = new ReadableStream<Uint8Array>({
      pull(controller) {
        if (sent++ < 8) controller.enqueue(chunk);
        else controller.close();
      },
    });
    const res = await fetch(`${t.url}/inbound_call`, {
      method: "POST",
      headers: { "content-type": "application/x-www-form-urlencoded" },
      body,
      duplex: "half",
    });
    expect(res.status).to.equal(413);
    expect(res.headers.get("connection")).to.equal("close");
    expect(((await res.json()) as { code: string }).code).to.equal("PAYLOAD_TOO_LARGE");
    // The same client (undici's pool) goes on: it must not reuse the connection the server gave up.
    const next = fields();
    expect((await postForm(t, "/inbound_call", next)).status).to.equal(200);
    // Written just after the answer: wait, so the counts of the tests below are not disturbed.
    await storedCall(next.CallSid);
  });

  for (const [label, raw] of [
    ["an operator in a field name", (b: string) => `${b}&agent_id[$ne]=x`],
    ["a bracketed field name", (b: string) => `${b}&To[]=%2B1`],
    ["a proto field name", (b: string) => `${b}&__proto__[x]=1`],
    ["a control character", (b: string) => b.replace("From=%2B14155550100", "From=%2B1415%00555")],
    ["a repeated CallSid", (b: string) => `${b}&CallSid=CAother`],
    ["invalid UTF-8", (b: string) => `${b}&CallerName=%FF%FE`],
  ] as const) {
    it(`when the body has ${label}, then 400 INVALID_PARAMS and nothing is written`, async () => {
      const before = await callCount();
      const res = await postRaw(raw(new URLSearchParams(fields()).toString()));
      expect(res.status).to.equal(400);
      expect(res.json).to.deep.include({ success: false, code: "INVALID_PARAMS" });
      expect(res.json.error).to.be.a("string").with.length.above(0);
      expect(await callCount()).to.equal(before);
    });
  }

  it("when the query string carries an operator, then 400 and nothing is written", async () => {
    const before = await callCount();
    const body = fields();
    const res = await postForm(t, "/inbound_call?agent_id[$ne]=x", body);
    expect(res.status).to.equal(400);
    expect(await callCount()).to.equal(before);
  });

  it("when a caller ID is longer than 256 characters, then 400 and nothing is written", async () => {
    const res = await postForm(t, "/inbound_call", fields({ From: "sip:" + "a".repeat(300) }));
    expect(res.status).to.equal(400);
    expect(JSON.parse(res.text).code).to.equal("INVALID_PARAMS");
  });

  it("when the CallSid is not a SID, then 400", async () => {
    const res = await postForm(t, "/inbound_call", fields({ CallSid: "CA 123" }));
    expect(res.status).to.equal(400);
  });

  it("when Twilio sends fields we do not use, then they are accepted and still count for the signature", async () => {
    const res = await postForm(
      t,
      "/inbound_call",
      fields({ CallerCity: "OAKLAND", StirVerstat: "TN-Validation-Passed-A", "SipHeader_X-Foo": "bar" }),
    );
    expect(res.status).to.equal(200);
  });

  it("when a dependency fails, then INTERNAL_ERROR carries no internal detail and nothing is written", async () => {
    const broken = await startTestApp({ REDIS_URL: "redis://127.0.0.1:1" });
    try {
      const body = fields();
      const res = await postForm(broken, "/inbound_call", body);
      expect(res.status).to.equal(500);
      const json = JSON.parse(res.text);
      expect(json).to.include({ success: false, error: "Internal error", code: "INTERNAL_ERROR" });
      expect(json.requestId).to.be.a("string");
      expect(res.text).to.not.match(/redis|ECONNREFUSED|at .*\.js/i);
      expect(await CallModel.countDocuments({ callSid: body.CallSid })).to.equal(0);
    } finally {
      await broken.close();
    }
  });

  it("when the fallback URL is called, then it answers an apology in TwiML", async () => {
    const res = await fetch(`${t.url}/fallback`, { method: "POST" });
    expect(res.status).to.equal(200);
    expect(await res.text())
      .to.include("<Say>")
      .and.include("<Hangup/>");
  });
});

// Every Twilio webhook goes through twilioWebhook(): the content type, the body, the query where
// the route reads it, then the caller, in that order, with the auth mode the route chose.
import { expect } from "chai";
import twilio from "twilio";
import { keyOf } from "../../api/auth/auth-failures.js";
import { startTestApp, TEST_AUTH_TOKEN, type TestApp } from "../helpers/app.js";
import { uniqueCallSid } from "../helpers/fixtures.js";
import { postForm } from "../helpers/twilio.js";

const WEBHOOKS = ["/inbound_call", "/call_status", "/forwarding_verification/0123456789abcdef01234567"];
let addresses = Math.floor(Math.random() * 200);

describe("Twilio webhooks: twilioWebhook()", () => {
  let t: TestApp;
  const used: string[] = [];

  before(async () => {
    t = await startTestApp({ TRUST_PROXY: "true" });
  });
  after(async () => {
    if (used.length) await t.redis.del(...used.map(keyOf));
    await t.close();
  });

  /** A client address of its own (TEST-NET-2), so no other test shares its failure counter. */
  function address(): string {
    const ip = `198.51.100.${addresses++ % 250}`;
    used.push(ip);
    return ip;
  }

  async function send(path: string, body: string, headers: Record<string, string>) {
    const res = await fetch(t.url + path, { method: "POST", headers, body });
    return { status: res.status, body: (await res.json()) as { code?: string; error?: string } };
  }

  it("when a webhook gets JSON without credentials, then every one answers 415 before asking who calls", async () => {
    for (const path of WEBHOOKS) {
      const res = await send(path, "{}", { "content-type": "application/json" });
      expect(res.status, path).to.equal(415);
      expect(res.body.code, path).to.equal("UNSUPPORTED_MEDIA_TYPE");
    }
  });

  it("when a body field name is operator-like, then every webhook answers INVALID_PARAMS before asking who calls", async () => {
    for (const path of WEBHOOKS) {
      const res = await send(path, "CallSid=CA1&agent_id%5B%24ne%5D=x", { "content-type": "application/x-www-form-urlencoded" });
      expect(res.status, path).to.equal(400);
      expect(res.body.code, path).to.equal("INVALID_PARAMS");
    }
  });

  it("when /inbound_call's query string has an operator-like name, then it is INVALID_PARAMS before asking who calls", async () => {
    const res = await send("/inbound_call?agent_id%5B%24ne%5D=x", "CallSid=CA1", { "content-type": "application/x-www-form-urlencoded" });
    expect(res.status).to.equal(400);
    expect(res.body.code).to.equal("INVALID_PARAMS");
  });

  it("when /call_status is called with a query string, then the query is not read: a signed callback is handled", async () => {
    const path = "/call_status?a%5Bb%5D=1";
    const fields = { CallSid: uniqueCallSid(), CallStatus: "completed" };
    const res = await postForm(t, path, fields);
    expect(res.status, res.text).to.equal(404);
    expect(JSON.parse(res.text).code).to.equal("CALL_NOT_FOUND");
  });

  it("when no credential is sent, then each webhook names what it accepts", async () => {
    const form = { "content-type": "application/x-www-form-urlencoded" };
    for (const [path, error] of [
      ["/inbound_call", "Missing X-Twilio-Signature or Authorization header"],
      ["/call_status", "Missing X-Twilio-Signature or Authorization header"],
      [WEBHOOKS[2]!, "Missing X-Twilio-Signature"],
    ] as const) {
      const res = await send(path, "CallSid=CA1", form);
      expect(res.status, path).to.equal(401);
      expect(res.body, path).to.deep.equal({ success: false, error, code: "UNAUTHORIZED" });
    }
  });

  it("when a signature is wrong, then it counts against the address on the webhooks that take keys, not on the verification webhook", async () => {
    const counted = async (ip: string) => Number((await t.redis.get(keyOf(ip))) ?? 0);
    const forged = (path: string, fields: Record<string, string>) =>
      twilio.getExpectedTwilioSignature(`${TEST_AUTH_TOKEN}-not`, t.config.publicBaseUrl + path, fields);
    const fields = { CallSid: uniqueCallSid(), Digits: "123456" };
    for (const [path, counts] of [
      ["/inbound_call", 1],
      ["/call_status", 1],
      [WEBHOOKS[2]!, 0],
    ] as const) {
      const ip = address();
      const res = await send(path, new URLSearchParams(fields).toString(), {
        "content-type": "application/x-www-form-urlencoded",
        "x-forwarded-for": ip,
        "x-twilio-signature": forged(path, fields),
      });
      expect(res.status, path).to.equal(401);
      expect(res.body.error, path).to.equal("Invalid Twilio signature");
      expect(await counted(ip), path).to.equal(counts);
    }
  });
});

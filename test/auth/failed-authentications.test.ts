import { expect } from "chai";
import { keyOf } from "../../api/auth/auth-failures.js";
import { TEST_ADMIN_KEY, startTestApp, type TestApp } from "../helpers/app.js";
import { withDbCommands } from "../helpers/db-commands.js";
import { createFixture, uniqueCallSid, type Fixture } from "../helpers/fixtures.js";
import { createAccount, type ApiAccount } from "../helpers/graphql.js";
import { inboundCallFields, postForm } from "../helpers/twilio.js";

const LIMIT = 20;
let addresses = Math.floor(Math.random() * 200);
/** A client address of its own per use (TEST-NET-3, at most 50 per run), so tests never share a counter. */
const freshAddress = () => `203.0.113.${addresses++ % 250}`;

describe("failed authentications per client address", function () {
  this.timeout(30_000);
  let t: TestApp;
  let web2: TestApp;
  let a: ApiAccount;
  let fx: Fixture;
  const used: string[] = [];

  before(async () => {
    // "": AUTH_FAILURES_PER_MINUTE at its default, 20. Behind a trusted proxy, as on Heroku.
    [t, web2] = await Promise.all([
      startTestApp({ AUTH_FAILURES_PER_MINUTE: "", TRUST_PROXY: "true" }),
      startTestApp({ AUTH_FAILURES_PER_MINUTE: "", TRUST_PROXY: "true" }),
    ]);
    a = await createAccount(t);
    fx = await createFixture({ balanceMicros: 50_000_000 });
  });
  after(async () => {
    if (used.length) await t.redis.del(...used.map(keyOf));
    await Promise.all([t.close(), web2.close()]);
  });

  function address(): string {
    const ip = freshAddress();
    used.push(ip);
    return ip;
  }

  async function graphql(app: TestApp, ip: string, authorization: string | null) {
    const headers: Record<string, string> = { "content-type": "application/json", "x-forwarded-for": ip };
    if (authorization !== null) headers.authorization = authorization;
    const res = await fetch(`${app.url}/graphql`, { method: "POST", headers, body: JSON.stringify({ query: "{ me { id } }" }) });
    const body = (await res.json()) as { data?: unknown; errors?: { extensions?: { code?: string } }[] };
    return { status: res.status, code: body.errors?.[0]?.extensions?.code ?? null, retryAfter: res.headers.get("retry-after"), body };
  }

  /** `n` requests with a wrong key, each answered 401. */
  async function fail(app: TestApp, ip: string, n: number) {
    for (let i = 0; i < n; i++) expect((await graphql(app, ip, `Bearer c247_wrong-${i}`)).status, `failure ${i + 1}`).to.equal(401);
  }

  describe("when an address presents 20 wrong keys to GraphQL within a minute", () => {
    it("then its next request answers 429 TOO_MANY_FAILED_AUTHENTICATIONS, a good key included, and no key is looked up", async () => {
      const ip = address();
      await fail(t, ip, LIMIT);
      const { result, commands } = await withDbCommands(() => graphql(t, ip, `Bearer ${a.key}`));
      expect(result.status).to.equal(429);
      expect(result.code).to.equal("TOO_MANY_FAILED_AUTHENTICATIONS");
      expect(result.body).to.not.have.property("data");
      expect(Number(result.retryAfter)).to.be.within(1, 60);
      expect(commands.filter((c) => c.includes("apikeys"))).to.deep.equal([]);
      // Another address is not affected.
      expect((await graphql(t, address(), `Bearer ${a.key}`)).status).to.equal(200);
    });

    it("then the window is fixed: once it ends the address may try again", async () => {
      const ip = address();
      await fail(t, ip, LIMIT);
      const ttl = await t.redis.pttl(keyOf(ip));
      expect(ttl).to.be.within(1, 60_000);
      expect((await graphql(t, ip, `Bearer ${a.key}`)).status).to.equal(429);
      // The minute runs out (sooner, for the test).
      await t.redis.pexpire(keyOf(ip), 20);
      await new Promise((r) => setTimeout(r, 40));
      expect((await graphql(t, ip, `Bearer ${a.key}`)).status).to.equal(200);
      expect((await graphql(t, ip, "Bearer c247_wrong")).status).to.equal(401);
    });
  });

  describe("when authentications succeed or present nothing", () => {
    it("then they are not counted: 20 failures are still allowed after them", async () => {
      const ip = address();
      for (let i = 0; i < 30; i++) expect((await graphql(t, ip, `Bearer ${a.key}`)).status).to.equal(200);
      for (let i = 0; i < 30; i++) expect((await graphql(t, ip, null)).status).to.equal(401);
      await fail(t, ip, LIMIT);
      expect((await graphql(t, ip, `Bearer ${TEST_ADMIN_KEY}`)).status).to.equal(429);
    });
  });

  describe("when the failures come through both web processes and both webhooks", () => {
    it("then they share one count per address", async () => {
      const ip = address();
      await fail(t, ip, 5);
      await fail(web2, ip, 5);
      for (let i = 0; i < 5; i++) {
        const res = await postForm(t, "/inbound_call", inboundCallFields(fx.number), {
          token: null,
          headers: { authorization: "Bearer c247_wrong", "x-forwarded-for": ip },
        });
        expect(res.status).to.equal(401);
      }
      for (let i = 0; i < 5; i++) {
        const res = await postForm(
          web2,
          "/call_status",
          { CallSid: uniqueCallSid(), CallStatus: "completed" },
          { token: null, headers: { authorization: "Bearer c247_wrong", "x-forwarded-for": ip } },
        );
        expect(res.status).to.equal(401);
      }
      expect((await graphql(web2, ip, `Bearer ${a.key}`)).status).to.equal(429);
    });
  });

  describe("when a webhook sees too many failures from an address", () => {
    it("then a key answers 429 in the webhook's JSON error shape, before the key is looked up", async () => {
      const ip = address();
      await fail(t, ip, LIMIT);
      const headers = { authorization: `Bearer ${a.key}`, "x-forwarded-for": ip };
      const { result: res, commands } = await withDbCommands(() =>
        postForm(t, "/inbound_call", inboundCallFields(fx.number), { token: null, headers }),
      );
      expect(res.status).to.equal(429);
      expect(res.contentType).to.match(/^application\/json/);
      expect(JSON.parse(res.text)).to.deep.include({ success: false, code: "TOO_MANY_FAILED_AUTHENTICATIONS" });
      expect(commands.filter((c) => c.includes("apikeys"))).to.deep.equal([]);
    });

    it("then wrong Twilio signatures count too and are refused past the limit, while Twilio's valid signature still gets its call admitted", async () => {
      const ip = address();
      for (let i = 0; i < LIMIT; i++) {
        const res = await postForm(t, "/inbound_call", inboundCallFields(fx.number), {
          token: "not-the-auth-token",
          headers: { "x-forwarded-for": ip },
        });
        expect(res.status, `failure ${i + 1}`).to.equal(401);
      }
      const refused = await postForm(t, "/inbound_call", inboundCallFields(fx.number), {
        token: "not-the-auth-token",
        headers: { "x-forwarded-for": ip },
      });
      expect(refused.status).to.equal(429);
      expect(JSON.parse(refused.text)).to.deep.include({ code: "TOO_MANY_FAILED_AUTHENTICATIONS" });
      const genuine = await postForm(t, "/inbound_call", inboundCallFields(fx.number), { headers: { "x-forwarded-for": ip } });
      expect(genuine.status, genuine.text).to.equal(200);
    });
  });

  describe("when requests come through a proxy", () => {
    it("then the address counted is the last X-Forwarded-For hop, so a client cannot escape by writing the header itself", async () => {
      const ip = address();
      for (let i = 0; i < LIMIT; i++) expect((await graphql(t, `198.51.100.${i}, ${ip}`, "Bearer c247_wrong")).status).to.equal(401);
      expect((await graphql(t, `198.51.100.99, ${ip}`, `Bearer ${a.key}`)).status).to.equal(429);
    });

    it("then without TRUST_PROXY the header is not believed and the socket's peer is counted", async () => {
      const direct = await startTestApp({ AUTH_FAILURES_PER_MINUTE: "" });
      // The peer is 127.0.0.1 for every test: its counter is cleared before and after.
      used.push("127.0.0.1");
      await direct.redis.del(keyOf("127.0.0.1"));
      try {
        for (let i = 0; i < LIMIT; i++) expect((await graphql(direct, address(), "Bearer c247_wrong")).status).to.equal(401);
        expect((await graphql(direct, address(), `Bearer ${a.key}`)).status).to.equal(429);
      } finally {
        await direct.redis.del(keyOf("127.0.0.1"));
        await direct.close();
      }
    });
  });
});

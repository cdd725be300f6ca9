// Nothing internal leaks (issue 12, point 6): the web process's connection to the run's FerretDB
// goes through a loopback proxy that the tests cut, so the database is really unreachable (every
// connection reset) while Redis still answers. Short server-selection and buffering timeouts keep
// each failure under a second.
import { expect } from "chai";
import { connectDatabase, disconnectDatabase } from "../../schema/infra/db.js";
import { startTestApp, TEST_ADMIN_KEY, type TestApp } from "../helpers/app.js";
import { testEnv } from "../helpers/env.js";
import { createFixture, uniqueCallSid, uniqueNumber, type Fixture } from "../helpers/fixtures.js";
import { freePort } from "../helpers/free-port.js";
import { capturingLogger, type LogLine } from "../helpers/log-capture.js";
import { TcpProxy } from "../helpers/tcp-proxy.js";
import { inboundCallFields, postForm, storedCall } from "../helpers/twilio.js";

/** Words of the causes (mongoose, the driver, Apollo's wrapper) that must never reach a client. */
const INTERNAL =
  /buffering|findOne|findById|ECONNREFUSED|ECONNRESET|MongoServerSelectionError|MongoNetworkError|Mongo|Server selection|Context creation failed|timed out|\bat \S+\.js/;
const DB_TIMEOUTS_MS = 500;

describe("web process while the database is unreachable", function () {
  this.timeout(30_000);
  let proxy: TcpProxy;
  let t: TestApp;
  const log = capturingLogger();
  let fx: Fixture;
  let accountKey: string;
  let callSid: string;
  let requestCount = 0;

  before(async () => {
    const target = new URL(testEnv().mongodbUri);
    proxy = await TcpProxy.start({ host: target.hostname, port: Number(target.port) });
    target.host = `127.0.0.1:${proxy.port}`;
    await disconnectDatabase();
    await connectDatabase(target.toString(), {
      monitorCommands: true,
      serverSelectionTimeoutMS: DB_TIMEOUTS_MS,
      bufferTimeoutMS: DB_TIMEOUTS_MS,
    });
    t = await startTestApp({}, { logger: log.logger });
    // While the database still answers: an account with a key, and a call admitted and stored.
    fx = await createFixture({ balanceMicros: 1_000_000 });
    accountKey = (await t.app.apiKeys.create({ accountId: fx.accountId, scope: "account", name: "down" })).key;
    callSid = uniqueCallSid();
    const admitted = await postForm(t, "/inbound_call", inboundCallFields(fx.number, { CallSid: callSid }));
    expect(admitted.status, admitted.text).to.equal(200);
    await storedCall(callSid);
    proxy.cut();
  });
  after(async () => {
    await t.close();
    proxy.mend();
    await disconnectDatabase();
    await connectDatabase(testEnv().mongodbUri, { monitorCommands: true });
    await proxy.close();
  });

  /** A request id of our own, so the answer and the log line can be matched to this request. */
  const requestId = () => `db-down-test-${++requestCount}-${Date.now()}`;

  /** The error line logged for `id`; fails the test when there is none or it has no cause. */
  function loggedCause(id: string, msg: string): NonNullable<LogLine["err"]> {
    const line = log.lines.find((l) => l.requestId === id && l.msg === msg);
    expect(line, `no "${msg}" line for ${id} in ${JSON.stringify(log.lines.map((l) => l.msg))}`).to.not.equal(undefined);
    expect(line!.level).to.equal(50);
    expect(line!.err?.message, "the cause").to.be.a("string").and.not.equal("");
    expect(line!.err?.stack).to.be.a("string");
    return line!.err!;
  }

  function expectNothingInternal(text: string) {
    expect(text).to.not.match(INTERNAL);
  }

  /** Nothing internal, and not the logged cause's own words either. */
  function expectCauseHidden(text: string, cause: { message: string }) {
    expectNothingInternal(text);
    expect(text).to.not.include(cause.message);
  }

  async function graphql(query: string, key: string, id: string) {
    const res = await fetch(`${t.url}/graphql`, {
      method: "POST",
      headers: { "content-type": "application/json", authorization: `Bearer ${key}`, "x-request-id": id },
      body: JSON.stringify({ query }),
    });
    return { status: res.status, requestIdHeader: res.headers.get("x-request-id"), text: await res.text() };
  }

  it("when a GraphQL request's account key cannot be looked up, then it is INTERNAL_ERROR with the request id and nothing of the cause, and the cause is logged", async () => {
    const id = requestId();
    const res = await graphql(
      `
        {
          me {
            id
            name
          }
        }
      `,
      accountKey,
      id,
    );
    expect(res.status).to.equal(500);
    expect(res.requestIdHeader).to.equal(id);
    expect(JSON.parse(res.text)).to.deep.equal({
      errors: [{ message: "Internal error", extensions: { code: "INTERNAL_ERROR", requestId: id } }],
    });
    const cause = loggedCause(id, "graphql context creation failed");
    expect(cause.message).to.match(/ECONNRESET|Server selection timed out|connection .*closed/);
    expectCauseHidden(res.text, cause);
  });

  it("when a resolver's read fails (admin key, no lookup needed), then its error is INTERNAL_ERROR with the request id and its path, and the cause is logged", async () => {
    const id = requestId();
    const res = await graphql(
      `
        {
          accounts(first: 5) {
            nodes {
              id
            }
          }
        }
      `,
      TEST_ADMIN_KEY,
      id,
    );
    expect(res.status).to.equal(200);
    const body = JSON.parse(res.text) as { data: unknown; errors: unknown[] };
    expect(body.data).to.equal(null);
    expect(body.errors).to.deep.equal([
      { message: "Internal error", path: ["accounts"], extensions: { code: "INTERNAL_ERROR", requestId: id } },
    ]);
    expectCauseHidden(res.text, loggedCause(id, "graphql operation failed"));
  });

  it("when a signed status callback cannot read its call, then /call_status answers INTERNAL_ERROR with the request id and nothing of the cause, and the cause is logged", async () => {
    const id = requestId();
    const fields = { CallSid: callSid, AccountSid: `AC${"0".repeat(32)}`, CallStatus: "completed", CallDuration: "9" };
    const res = await postForm(t, "/call_status", fields, { headers: { "x-request-id": id } });
    expect(res.status).to.equal(500);
    expect(JSON.parse(res.text)).to.deep.equal({ success: false, error: "Internal error", code: "INTERNAL_ERROR", requestId: id });
    expectCauseHidden(res.text, loggedCause(id, "request failed"));
  });

  it("when /inbound_call cannot route a number, then it is the retryable DATABASE_UNAVAILABLE and nothing of the cause", async () => {
    const res = await postForm(t, "/inbound_call", inboundCallFields(uniqueNumber()), { headers: { "x-request-id": requestId() } });
    expect(res.status).to.equal(503);
    expect(JSON.parse(res.text)).to.deep.equal({
      success: false,
      error: "The database is not answering; try again",
      code: "DATABASE_UNAVAILABLE",
    });
    expectNothingInternal(res.text);
  });

  it("when /healthz is asked, then it names the database as down and nothing more", async () => {
    const res = await fetch(`${t.url}/healthz`);
    expect(res.status).to.equal(503);
    const text = await res.text();
    expect(JSON.parse(text)).to.deep.include({ status: "degraded", mongodb: "down", redis: "up" });
    expectNothingInternal(text);
  });

  describe("and the process-wide connection points at a closed port", () => {
    before(async () => {
      await disconnectDatabase();
      const closed = `mongodb://127.0.0.1:${await freePort()}/unreachable`;
      const refused = await connectDatabase(closed, { serverSelectionTimeoutMS: DB_TIMEOUTS_MS, bufferTimeoutMS: DB_TIMEOUTS_MS }).then(
        () => null,
        (err: Error) => err,
      );
      expect(refused?.message).to.match(/ECONNREFUSED/);
    });

    it("when a GraphQL request's key cannot be looked up, then it is INTERNAL_ERROR with the request id and nothing of the cause, and the cause is logged", async () => {
      const id = requestId();
      const res = await graphql(
        `
          {
            me {
              id
            }
          }
        `,
        accountKey,
        id,
      );
      expect(res.status).to.equal(500);
      expect(JSON.parse(res.text)).to.deep.equal({
        errors: [{ message: "Internal error", extensions: { code: "INTERNAL_ERROR", requestId: id } }],
      });
      const cause = loggedCause(id, "graphql context creation failed");
      // The driver's MongoNotConnectedError (a process that never connected gets mongoose's "buffering timed out").
      expect(cause.message).to.match(/Client must be connected|buffering timed out/);
      expectCauseHidden(res.text, cause);
    });

    it("when a signed status callback cannot read its call, then /call_status answers INTERNAL_ERROR with the request id, and the cause is logged", async () => {
      const id = requestId();
      const res = await postForm(
        t,
        "/call_status",
        { CallSid: callSid, AccountSid: `AC${"0".repeat(32)}`, CallStatus: "completed", CallDuration: "9" },
        { headers: { "x-request-id": id } },
      );
      expect(res.status).to.equal(500);
      expect(JSON.parse(res.text)).to.deep.equal({ success: false, error: "Internal error", code: "INTERNAL_ERROR", requestId: id });
      const cause = loggedCause(id, "request failed");
      expect(cause.message).to.match(/Client must be connected|buffering timed out/);
      expectCauseHidden(res.text, cause);
    });
  });
});

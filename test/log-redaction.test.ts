// LOG_REDACT_PII, through each process's real entry point: every in-process test logger has it
// off, so these start `node dist/...` with the variable set and read what the process prints.
import { expect } from "chai";
import { TwilioStreamClient } from "../media-worker/simulator/stream-client.js";
import { TEST_ADMIN_KEY, TEST_AUTH_TOKEN } from "./helpers/app.js";
import { AppProcess } from "./helpers/app-process.js";
import { testEnv } from "./helpers/env.js";
import { FakeTwilioRest } from "./helpers/fake-twilio.js";
import { uniqueNumber } from "./helpers/fixtures.js";
import { freePort } from "./helpers/free-port.js";
import { createAccount, gqlOk } from "./helpers/graphql.js";
import { TEST_ACCOUNT_SID, mediaEnv } from "./helpers/media.js";

const START_VERIFICATION = `mutation ($e164: String!) { startForwardingNumberVerification(e164: $e164) { verification { id } } }`;

describe("LOG_REDACT_PII in the real processes", function () {
  this.timeout(30_000);
  let twilio: FakeTwilioRest;
  let proc: AppProcess | null = null;

  before(async () => {
    twilio = await FakeTwilioRest.start(TEST_AUTH_TOKEN);
  });
  after(async () => {
    await twilio.close();
  });
  afterEach(async () => {
    await proc?.stop();
    proc = null;
  });

  /** The web process; resolves to its URL. */
  async function startWeb(redact: string): Promise<{ url: string }> {
    const { mongodbUri, redisUrl } = testEnv();
    const port = await freePort();
    const url = `http://127.0.0.1:${port}`;
    const started = await AppProcess.start(
      "dist/api/main.js",
      {
        MONGODB_URI: mongodbUri,
        REDIS_URL: redisUrl,
        PORT: String(port),
        PUBLIC_BASE_URL: url,
        MEDIA_PUBLIC_URL: "wss://media.example.com",
        TWILIO_AUTH_TOKEN: TEST_AUTH_TOKEN,
        ADMIN_API_KEY: TEST_ADMIN_KEY,
        TWILIO_API_BASE_URL: twilio.url,
        TWILIO_ACCOUNT_SID: TEST_ACCOUNT_SID,
        TWILIO_VERIFICATION_CALLER_ID: "+14155550001",
        LOG_LEVEL: "info",
        LOG_REDACT_PII: redact,
      },
      /"msg":"web listening"/,
    );
    proc = started.proc;
    return { url };
  }

  /** A forwarding-number verification call: the web logs the number it calls under `pii`. */
  async function verificationLog(web: { url: string }) {
    const account = await createAccount(web, { phoneNumbers: [] });
    const e164 = uniqueNumber();
    await gqlOk(web, START_VERIFICATION, { e164 }, { key: account.key });
    return { e164, line: await proc!.logged("forwarding number verification call placed") };
  }

  it("when LOG_REDACT_PII=true, then the web process logs the number it calls as [redacted], and prints it nowhere", async () => {
    const { e164, line } = await verificationLog(await startWeb("true"));
    expect(line).to.include({ pii: "[redacted]" });
    expect(line.verificationId).to.be.a("string");
    expect(proc!.output).to.not.contain(e164.slice(1));
  });

  it("when LOG_REDACT_PII=false, then the same line carries the number (what the redaction hides)", async () => {
    const { e164, line } = await verificationLog(await startWeb("false"));
    expect(line.pii).to.deep.equal({ e164 });
  });

  /** The worker process, and a stream it refuses: it logs the peer's address under `pii`. */
  async function refusedStreamLog(redact: string) {
    const started = await AppProcess.start(
      "dist/media-worker/main.js",
      mediaEnv(twilio.url, { LOG_LEVEL: "info", LOG_REDACT_PII: redact }),
      /"port":(\d+)[^\n]*"msg":"media worker listening"/,
    );
    proc = started.proc;
    const refused = TwilioStreamClient.connect({
      url: `ws://127.0.0.1:${started.ready[1]}/not-a-call`,
      callSid: "CA0",
      accountSid: TEST_ACCOUNT_SID,
      customParameters: {},
    });
    await refused.then(
      () => expect.fail("the worker accepted a stream on a path that is no call"),
      (err: Error) => expect(err.message).to.contain("HTTP 404"),
    );
    return proc.logged("stream refused");
  }

  it("when LOG_REDACT_PII=true, then the worker process logs a refused stream's address as [redacted]", async () => {
    const line = await refusedStreamLog("true");
    expect(line).to.include({ reason: "bad-path", pii: "[redacted]" });
    expect(JSON.stringify(line)).to.not.contain("127.0.0.1");
  });

  it("when LOG_REDACT_PII=false, then the worker logs the address", async () => {
    const line = await refusedStreamLog("false");
    expect(line).to.include({ reason: "bad-path" });
    // The worker listens on every interface: an IPv4 peer shows as ::ffff:127.0.0.1.
    expect(line.pii)
      .to.have.property("address")
      .that.matches(/^(::ffff:)?127\.0\.0\.1$/);
  });
});

import { expect } from "chai";
import { TwilioApiError, TwilioRestClient } from "../../media-worker/twilio/twilio-rest.client.js";
import { FakeTwilioRest } from "../helpers/fake-twilio.js";

const TOKEN = "rest-test-token-0123456789";
const AC = `AC${"2".repeat(32)}`;
const CA = `CA${"3".repeat(32)}`;

describe("Twilio REST hang-up", () => {
  let fake: FakeTwilioRest;
  before(async () => {
    fake = await FakeTwilioRest.start(TOKEN);
  });
  after(async () => {
    await fake.close();
  });

  const client = (opts: Partial<ConstructorParameters<typeof TwilioRestClient>[0]> = {}) =>
    new TwilioRestClient({ baseUrl: fake.url, accountSid: undefined, authToken: TOKEN, ...opts });

  it("when a call is hung up, then it POSTs Status=completed to the call resource with Basic auth", async () => {
    expect(await client().hangUp(AC, CA)).to.equal("completed");
    expect(fake.hangUpsFor(CA).at(-1)).to.deep.equal({
      accountSid: AC,
      callSid: CA,
      fields: { Status: "completed" },
      user: AC,
      password: TOKEN,
    });
  });

  it("when TWILIO_ACCOUNT_SID is set, then it authenticates as that account (subaccount calls)", async () => {
    const parent = `AC${"4".repeat(32)}`;
    await client({ accountSid: parent }).hangUp(AC, CA);
    expect(fake.hangUpsFor(CA).at(-1)?.user).to.equal(parent);
  });

  it("when Twilio answers 404 with code 20404, then the call is already over", async () => {
    const ended = `CA${"5".repeat(32)}`;
    fake.alreadyEnded.add(ended);
    expect(await client().hangUp(AC, ended)).to.equal("already-ended");
  });

  it("when Twilio fails with 500, then the hang-up is retried", async () => {
    const sid = `CA${"6".repeat(32)}`;
    fake.failNext = 2;
    expect(await client().hangUp(AC, sid)).to.equal("completed");
    expect(fake.hangUpsFor(sid)).to.have.length(1);
  });

  it("when the credentials are wrong, then it fails without retrying", async () => {
    const before = fake.requests;
    try {
      await client({ authToken: "wrong" }).hangUp(AC, CA);
      expect.fail("should have thrown");
    } catch (err) {
      expect(err).to.be.instanceOf(TwilioApiError);
      expect(err).to.include({ httpStatus: 401, twilioCode: 20003, retryable: false });
    }
    expect(fake.requests - before).to.equal(1);
  });

  it("when Twilio is unreachable, then it fails as retryable", async () => {
    try {
      await client({ baseUrl: "http://127.0.0.1:1", attempts: 1 }).hangUp(AC, CA);
      expect.fail("should have thrown");
    } catch (err) {
      expect(err).to.be.instanceOf(TwilioApiError);
      expect(err).to.include({ httpStatus: null, retryable: true });
    }
  });

  it("when no auth token is configured, then nothing is sent", async () => {
    const before = fake.requests;
    expect(await client({ authToken: undefined }).hangUp(AC, CA)).to.equal("not-configured");
    expect(fake.requests).to.equal(before);
  });
});

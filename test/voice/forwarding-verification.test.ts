// Issue 12, point 2: a forwarding number is proven by a call on which the code shown in the
// dashboard is keyed in. Twilio's REST API is a fake on loopback; the app, FerretDB and Redis are real.
import { expect } from "chai";
import { XMLParser } from "fast-xml-parser";
import { ForwardingNumberModel } from "../../schema/models/forwarding-number.model.js";
import { TEST_ADMIN_KEY, TEST_AUTH_TOKEN, startTestApp, type TestApp } from "../helpers/app.js";
import { FakeTwilioRest, type CreatedCallRequest } from "../helpers/fake-twilio.js";
import { uniqueNumber } from "../helpers/fixtures.js";
import { createAccount, createAgent, gql, gqlError, gqlOk, type ApiAccount } from "../helpers/graphql.js";
import { inboundCallFields, parseStreamTwiml, postForm, type PostOptions } from "../helpers/twilio.js";

const TWILIO_SID = "AC" + "f".repeat(32);
const CALLER_ID = "+14155550001";
const TEN_MINUTES = 10 * 60_000;

const START = `mutation ($e164: String!, $accountId: ID) {
  startForwardingNumberVerification(e164: $e164, accountId: $accountId) {
    code verification { id e164 status attemptsLeft expiresAt createdAt callSid account { id } }
  }
}`;
const STATUS = `query ($id: ID!) { forwardingNumberVerification(id: $id) { id status attemptsLeft } }`;
const ME = `{ me { phoneNumbers } forwardingNumbers { nodes { e164 method } } }`;

interface Gather {
  "@numDigits": string;
  "@action": string;
  "@method": string;
  Say: string;
}
interface ParsedTwiml {
  gather: Gather | null;
  say: string[];
  hangup: boolean;
}

function parseTwiml(xml: string): ParsedTwiml {
  const doc = new XMLParser({ ignoreAttributes: false, attributeNamePrefix: "@" }).parse(xml) as {
    Response: { Gather?: Gather; Say?: string | string[]; Hangup?: unknown };
  };
  const say = doc.Response.Say === undefined ? [] : ([] as string[]).concat(doc.Response.Say);
  return { gather: doc.Response.Gather ?? null, say, hangup: "Hangup" in doc.Response };
}

describe("Forwarding number verification by call", () => {
  let t: TestApp;
  let twilio: FakeTwilioRest;
  let offsetMs = 0;
  let a: ApiAccount;
  let e164: string;

  before(async () => {
    twilio = await FakeTwilioRest.start(TEST_AUTH_TOKEN);
    t = await startTestApp(
      { TWILIO_API_BASE_URL: twilio.url, TWILIO_ACCOUNT_SID: TWILIO_SID, TWILIO_VERIFICATION_CALLER_ID: CALLER_ID },
      { clock: () => Date.now() + offsetMs },
    );
  });
  after(async () => {
    await t.close();
    await twilio.close();
  });
  beforeEach(async () => {
    offsetMs = 0;
    twilio.callCreateError = null;
    a = await createAccount(t, { phoneNumbers: [] });
    e164 = uniqueNumber();
  });

  async function start(account: ApiAccount = a, number = e164) {
    const data = await gqlOk(t, START, { e164: number }, { key: account.key });
    const { code, verification } = data.startForwardingNumberVerification;
    const call = twilio.createdCalls.find((c) => c.sid === verification.callSid);
    expect(call, "the verification call was created").to.not.equal(undefined);
    return { code: code as string, verification, call: call! };
  }

  /** The Gather action URL of the call's TwiML, as a path of the app. */
  function actionPath(call: CreatedCallRequest): string {
    const gather = parseTwiml(call.fields.Twiml!).gather!;
    return new URL(gather["@action"]).pathname;
  }

  /** Twilio posting the Gather action: the digits keyed in on the call, signed. */
  function keypad(call: CreatedCallRequest, digits: string, opts: PostOptions & { path?: string; callSid?: string } = {}) {
    return postForm(
      t,
      opts.path ?? actionPath(call),
      {
        AccountSid: TWILIO_SID,
        CallSid: opts.callSid ?? call.sid,
        From: CALLER_ID,
        To: call.fields.To!,
        Digits: digits,
        FinishedOnKey: "",
        CallStatus: "in-progress",
        Direction: "outbound-api",
        ApiVersion: "2010-04-01",
      },
      opts,
    );
  }

  const wrong = (code: string) => String((Number(code) + 1) % 1_000_000).padStart(6, "0");
  const status = async (id: string, key = a.key) => (await gqlOk(t, STATUS, { id }, { key })).forwardingNumberVerification;

  describe("when an account starts a verification", () => {
    it("then it gets a 6-digit code and Twilio calls the number with a Gather posting to the signed verification webhook", async () => {
      const { code, verification, call } = await start();
      expect(code).to.match(/^\d{6}$/);
      expect(verification).to.deep.include({ e164, status: "PENDING", attemptsLeft: 5, account: { id: a.id } });
      expect(Date.parse(verification.expiresAt) - Date.parse(verification.createdAt)).to.equal(TEN_MINUTES);
      expect(call).to.deep.include({ accountSid: TWILIO_SID, user: TWILIO_SID, password: TEST_AUTH_TOKEN });
      expect(call.fields).to.deep.include({ To: e164, From: CALLER_ID });
      const twiml = parseTwiml(call.fields.Twiml!);
      expect(twiml.gather).to.deep.include({ "@numDigits": "6", "@method": "POST" });
      expect(twiml.gather!["@action"]).to.equal(`${t.config.publicBaseUrl}/forwarding_verification/${verification.id}`);
      expect(twiml.gather!.Say).to.include("Call24x7 verification code");
      // The code is never sent to Twilio, nor stored in the clear.
      expect(JSON.stringify(call.fields)).to.not.include(code);
    });

    it("then keying the code in verifies it, the call says so, and the number is the account's", async () => {
      const { code, verification, call } = await start();
      const res = await keypad(call, code);
      expect(res.status).to.equal(200);
      expect(res.contentType).to.match(/^text\/xml/);
      const twiml = parseTwiml(res.text);
      expect(twiml.gather).to.equal(null);
      expect(twiml.say.join(" ")).to.include("verified");
      expect(twiml.hangup).to.equal(true);
      expect((await status(verification.id)).status).to.equal("VERIFIED");
      const me = await gqlOk(t, ME, {}, { key: a.key });
      expect(me.me.phoneNumbers).to.deep.equal([e164]);
      expect(me.forwardingNumbers.nodes).to.deep.equal([{ e164, method: "CALL" }]);
    });
  });

  describe("when a wrong code is keyed in", () => {
    it("then the call asks again while tries remain, and the fifth wrong code locks the verification", async () => {
      const { code, verification, call } = await start();
      for (let left = 4; left >= 1; left--) {
        const twiml = parseTwiml((await keypad(call, wrong(code))).text);
        expect(twiml.gather, `after ${5 - left} wrong codes`).to.not.equal(null);
        expect(twiml.gather!["@action"]).to.equal(`${t.config.publicBaseUrl}${actionPath(call)}`);
        expect(twiml.gather!.Say).to.include(left === 1 ? "one try" : `${left} tries`);
        expect((await status(verification.id)).attemptsLeft).to.equal(left);
      }
      const locked = parseTwiml((await keypad(call, wrong(code))).text);
      expect(locked.gather).to.equal(null);
      expect(locked.say.join(" ")).to.include("too many times");
      expect(await status(verification.id)).to.deep.include({ status: "LOCKED", attemptsLeft: 0 });
      // Locked is locked: the right code now changes nothing.
      expect(parseTwiml((await keypad(call, code)).text).say.join(" ")).to.include("too many times");
      expect(await ForwardingNumberModel.countDocuments({ e164 })).to.equal(0);
    });

    it("then entries arriving at once still get five tries in all", async () => {
      const { code, verification, call } = await start();
      const results = await Promise.all(Array.from({ length: 8 }, () => keypad(call, wrong(code))));
      expect(results.map((r) => r.status)).to.deep.equal(Array(8).fill(200));
      expect(results.filter((r) => parseTwiml(r.text).gather !== null)).to.have.length(4);
      expect(await status(verification.id)).to.deep.include({ status: "LOCKED", attemptsLeft: 0 });
    });
  });

  describe("when the code has expired", () => {
    it("then the right code is refused after 10 minutes and nothing is verified", async () => {
      const { code, verification, call } = await start();
      offsetMs = TEN_MINUTES - 1_000;
      expect((await status(verification.id)).status).to.equal("PENDING");
      offsetMs = TEN_MINUTES;
      expect((await status(verification.id)).status).to.equal("EXPIRED");
      const twiml = parseTwiml((await keypad(call, code)).text);
      expect(twiml.say.join(" ")).to.include("expired");
      expect((await status(verification.id)).status).to.equal("EXPIRED");
      expect(await ForwardingNumberModel.countDocuments({ e164 })).to.equal(0);
    });
  });

  describe("when the webhook is not signed by Twilio", () => {
    for (const [what, opts] of [
      ["unsigned", { token: null }],
      ["signed with another token", { token: "not-the-auth-token-0123456789" }],
      ["signed over another URL", { signedUrl: "https://voice.example.com/forwarding_verification/other" }],
      ["sent with an API key instead", { token: null, headers: { authorization: `Bearer ${TEST_ADMIN_KEY}` } }],
    ] as const) {
      it(`then a request ${what} is 401 and changes nothing`, async () => {
        const { code, verification, call } = await start();
        const res = await keypad(call, code, opts);
        expect(res.status).to.equal(401);
        expect(JSON.parse(res.text)).to.deep.include({ success: false, code: "UNAUTHORIZED" });
        expect(await status(verification.id)).to.deep.include({ status: "PENDING", attemptsLeft: 5 });
        expect(await ForwardingNumberModel.countDocuments({ e164 })).to.equal(0);
      });
    }

    it("then a signed entry from another call than the verification's counts for nothing", async () => {
      const { code, verification, call } = await start();
      const twiml = parseTwiml((await keypad(call, code, { callSid: `CA${"1".repeat(32)}` })).text);
      expect(twiml.say.join(" ")).to.include("no longer valid");
      expect(await status(verification.id)).to.deep.include({ status: "PENDING", attemptsLeft: 5 });
    });

    it("then an unknown verification id gets a goodbye and verifies nothing", async () => {
      const { code, call } = await start();
      const res = await keypad(call, code, { path: `/forwarding_verification/${"0".repeat(32)}` });
      expect(res.status).to.equal(200);
      expect(parseTwiml(res.text).say.join(" ")).to.include("no longer valid");
      expect(await ForwardingNumberModel.countDocuments({ e164 })).to.equal(0);
    });
  });

  describe("when a verification is started again", () => {
    it("then the new code replaces the old one", async () => {
      const first = await start();
      const second = await start();
      expect((await status(first.verification.id)).status).to.equal("SUPERSEDED");
      expect(parseTwiml((await keypad(first.call, first.code)).text).say.join(" ")).to.include("no longer valid");
      expect(await ForwardingNumberModel.countDocuments({ e164 })).to.equal(0);
      expect(parseTwiml((await keypad(second.call, second.code)).text).say.join(" ")).to.include("verified");
      expect((await ForwardingNumberModel.findOne({ e164 }).lean())!.accountId.toHexString()).to.equal(a.id);
    });

    it("then a number gets at most 3 calls an hour from one account (RATE_LIMITED, no call)", async () => {
      for (let i = 0; i < 3; i++) await start();
      const before = twilio.createdCalls.length;
      const error = await gqlError(t, "RATE_LIMITED", START, { e164 }, { key: a.key });
      expect(error.message).to.include("hour");
      expect(twilio.createdCalls.length).to.equal(before);
    });
  });

  describe("when another account holds the number", () => {
    it("then a number verified by A cannot be verified by B: no call is placed (CONFLICT)", async () => {
      const first = await start();
      await keypad(first.call, first.code);
      const b = await createAccount(t, { phoneNumbers: [] });
      const before = twilio.createdCalls.length;
      const error = await gqlError(t, "CONFLICT", START, { e164 }, { key: b.key });
      expect(error.message).to.include("another account");
      expect(twilio.createdCalls.length).to.equal(before);
    });

    it("then B's right code after A won the number is a CONFLICT on the call, and A keeps it", async () => {
      const b = await createAccount(t, { phoneNumbers: [] });
      const ofA = await start(a);
      const ofB = await start(b);
      expect(parseTwiml((await keypad(ofA.call, ofA.code)).text).say.join(" ")).to.include("verified");
      expect(parseTwiml((await keypad(ofB.call, ofB.code)).text).say.join(" ")).to.include("another Call24x7 account");
      expect((await status(ofB.verification.id, b.key)).status).to.equal("CONFLICT");
      const holders = await ForwardingNumberModel.find({ e164 }).lean();
      expect(holders.map((h) => h.accountId.toHexString())).to.deep.equal([a.id]);
    });

    it("then a number already verified for the account is a CONFLICT, and not called", async () => {
      const first = await start();
      await keypad(first.call, first.code);
      const before = twilio.createdCalls.length;
      expect((await gqlError(t, "CONFLICT", START, { e164 }, { key: a.key })).message).to.include("already verified for this account");
      expect(twilio.createdCalls.length).to.equal(before);
    });

    it("then another account's verification reads as NOT_FOUND", async () => {
      const { verification } = await start();
      const b = await createAccount(t, { phoneNumbers: [] });
      await gqlError(t, "NOT_FOUND", STATUS, { id: verification.id }, { key: b.key });
    });
  });

  describe("when the verified number forwards calls", () => {
    it("then they reach the account's agent on a shared number and on its own number, never on another account's", async () => {
      const { code, call } = await start();
      await keypad(call, code);
      const agent = await createAgent(t, a.key, { name: "Forwarded calls" });
      await gqlOk(t, `mutation ($a: ID) { setActiveInboundAgent(agentId: $a) { id } }`, { a: agent }, { key: a.key });
      const platform = await createAccount(t, { phoneNumbers: [] });
      for (const id of [a.id, platform.id]) {
        await gqlOk(t, `mutation ($id: ID!) { creditBalance(accountId: $id, amountUsd: "5.00", reference: "start") { balanceUsd } }`, {
          id,
        });
      }
      const otherAgent = await createAgent(t, platform.key, { name: "Platform line" });
      const number = (input: Record<string, unknown>) =>
        gqlOk(t, `mutation ($input: CreatePhoneNumberInput!) { createPhoneNumber(input: $input) { e164 shared } }`, {
          input: { e164: uniqueNumber(), ...input },
        });
      const shared = (await number({ accountId: platform.id, agentId: otherAgent, shared: true })).createPhoneNumber;
      const notShared = (await number({ accountId: platform.id, agentId: otherAgent })).createPhoneNumber;
      const own = (await number({ accountId: a.id })).createPhoneNumber;
      expect(shared.shared).to.equal(true);
      const agentOf = async (to: string) => {
        const res = await postForm(t, "/inbound_call", inboundCallFields(to, { ForwardedFrom: e164 }));
        expect(res.status, res.text).to.equal(200);
        return parseStreamTwiml(res.text).params.agentId;
      };
      expect(await agentOf(shared.e164)).to.equal(agent);
      expect(await agentOf(own.e164)).to.equal(agent);
      expect(await agentOf(notShared.e164)).to.equal(otherAgent);
    });
  });

  describe("when the number cannot be called", () => {
    it("then Twilio's refusal is VERIFICATION_CALL_FAILED with Twilio's reason, and nothing is verified", async () => {
      twilio.callCreateError = { status: 400, code: 21211, message: `Invalid 'To' Phone Number: ${e164}` };
      const res = await gql(t, START, { e164 }, { key: a.key });
      expect(res.errors?.[0]?.extensions?.code).to.equal("VERIFICATION_CALL_FAILED");
      expect(res.errors?.[0]?.message).to.include("Invalid 'To' Phone Number");
      expect(await ForwardingNumberModel.countDocuments({ e164 })).to.equal(0);
    });

    it("then a number callers dial (one of ours) is BAD_USER_INPUT and not called", async () => {
      const ours = uniqueNumber();
      await gqlOk(
        t,
        `mutation ($e164: String!, $acc: ID) { createPhoneNumber(input: { e164: $e164, accountId: $acc }) { id } }`,
        { e164: ours, acc: a.id },
        { key: TEST_ADMIN_KEY },
      );
      const before = twilio.createdCalls.length;
      const error = await gqlError(t, "BAD_USER_INPUT", START, { e164: ours }, { key: a.key });
      expect(error.message).to.match(/^e164 /);
      expect(twilio.createdCalls.length).to.equal(before);
    });

    it("then a number that is not E.164 is BAD_USER_INPUT and not called", async () => {
      const before = twilio.createdCalls.length;
      const error = await gqlError(t, "BAD_USER_INPUT", START, { e164: "415-555-0100" }, { key: a.key });
      expect(error.message).to.match(/^e164 /);
      expect(twilio.createdCalls.length).to.equal(before);
    });
  });
});

describe("Forwarding number verification without Twilio", () => {
  let t: TestApp;

  before(async () => {
    t = await startTestApp({ TWILIO_AUTH_TOKEN: "" });
  });
  after(async () => {
    await t.close();
  });

  it("then starting one is TWILIO_NOT_CONFIGURED naming the variables, and the admin can still mark a number verified", async () => {
    const a = await createAccount(t, { phoneNumbers: [] });
    const e164 = uniqueNumber();
    const error = await gqlError(t, "TWILIO_NOT_CONFIGURED", START, { e164 }, { key: a.key });
    expect(error.message).to.include("TWILIO_ACCOUNT_SID").and.include("TWILIO_AUTH_TOKEN").and.include("TWILIO_VERIFICATION_CALLER_ID");
    const marked = await gqlOk(
      t,
      `mutation ($a: ID!, $e: String!) { setForwardingNumberVerified(accountId: $a, e164: $e) { e164 method account { id } } }`,
      {
        a: a.id,
        e: e164,
      },
    );
    expect(marked.setForwardingNumberVerified).to.deep.equal({ e164, method: "ADMIN", account: { id: a.id } });
    expect((await gqlOk(t, ME, {}, { key: a.key })).me.phoneNumbers).to.deep.equal([e164]);
  });

  it("then the verification webhook refuses everything: signatures cannot be checked", async () => {
    const res = await postForm(
      t,
      `/forwarding_verification/${"0".repeat(32)}`,
      { CallSid: `CA${"0".repeat(32)}`, Digits: "123456" },
      { token: null },
    );
    expect(res.status).to.equal(401);
  });
});

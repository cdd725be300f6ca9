import { expect } from "chai";
import { Types } from "mongoose";
import { PhoneNumberModel } from "../../schema/models/phone-number.model.js";
import { startTestApp, TEST_AUTH_TOKEN, type TestApp } from "../helpers/app.js";
import { FakeTwilioRest } from "../helpers/fake-twilio.js";
import { PLATFORM_ACCOUNT_SID } from "../helpers/fake-twilio-numbers.js";
import { uniqueNumber } from "../helpers/fixtures.js";
import { freePort } from "../helpers/free-port.js";
import { createAccount, createAgent, gql, gqlError, gqlOk, type ApiAccount } from "../helpers/graphql.js";

const FIELDS = `id e164 source twilioSid agent { id } account { id }`;
const CREATE = `mutation ($input: CreatePhoneNumberInput!) { createPhoneNumber(input: $input) { ${FIELDS} } }`;
const UPDATE = `mutation ($id: ID!, $input: UpdatePhoneNumberInput!) { updatePhoneNumber(id: $id, input: $input) { ${FIELDS} } }`;
const DELETE = `mutation ($id: ID!) { deletePhoneNumber(id: $id) }`;
const BUY = `mutation ($e164: String!, $agentId: ID, $accountId: ID) { buyPhoneNumber(e164: $e164, agentId: $agentId, accountId: $accountId) { ${FIELDS} } }`;
const AVAILABLE = `query ($country: String!, $areaCode: Int, $contains: String) {
  availablePhoneNumbers(country: $country, areaCode: $areaCode, contains: $contains) { e164 friendlyName locality region isoCountry capabilities { voice sms mms } }
}`;

const BASE = "https://voice.example.com";
const POINTED_AT_US = {
  VoiceUrl: `${BASE}/inbound_call`,
  VoiceMethod: "POST",
  VoiceFallbackUrl: `${BASE}/fallback`,
  VoiceFallbackMethod: "POST",
  StatusCallback: `${BASE}/call_status`,
  StatusCallbackMethod: "POST",
};
const OTHER_TWILIO_ACCOUNT = `AC${"8".repeat(32)}`;

describe("GraphQL phone numbers proven through Twilio", () => {
  let t: TestApp;
  let twilio: FakeTwilioRest;
  let a: ApiAccount;
  let agentId: string;

  before(async () => {
    twilio = await FakeTwilioRest.start(TEST_AUTH_TOKEN);
    t = await startTestApp({ TWILIO_ACCOUNT_SID: PLATFORM_ACCOUNT_SID, TWILIO_API_BASE_URL: twilio.url });
  });
  after(async () => {
    await t.close();
    await twilio.close();
  });
  beforeEach(async () => {
    twilio.failNext = 0;
    twilio.numbers.failNextUpdates = 0;
    a = await createAccount(t);
    agentId = await createAgent(t, a.key);
  });

  const updatesOf = (sid: string) => twilio.numbers.updates.filter((u) => u.sid === sid);

  describe("when an account key registers a number the platform's Twilio account holds", () => {
    it("then it is stored as VERIFIED with its sid, and Twilio points it at our three URLs, all POST", async () => {
      const e164 = uniqueNumber();
      const number = twilio.numbers.hold(PLATFORM_ACCOUNT_SID, e164);
      const data = await gqlOk(t, CREATE, { input: { e164, agentId } }, { key: a.key });
      expect(data.createPhoneNumber).to.deep.include({
        e164,
        source: "VERIFIED",
        twilioSid: number.sid,
        agent: { id: agentId },
        account: { id: a.id },
      });
      expect(twilio.numbers.lookups.at(-1)).to.deep.include({ accountSid: PLATFORM_ACCOUNT_SID });
      expect(twilio.numbers.lookups.at(-1)!.fields.PhoneNumber).to.equal(e164);
      expect(updatesOf(number.sid).map((u) => u.fields)).to.deep.equal([POINTED_AT_US]);
      expect(number).to.deep.include({
        voiceUrl: `${BASE}/inbound_call`,
        voiceFallbackUrl: `${BASE}/fallback`,
        statusCallback: `${BASE}/call_status`,
      });
      expect((await PhoneNumberModel.findOne({ e164 }).lean())!.twilioSid).to.equal(number.sid);
    });

    it("then a voice application on the number is removed, as Twilio would otherwise ignore the URLs", async () => {
      const e164 = uniqueNumber();
      const number = twilio.numbers.hold(PLATFORM_ACCOUNT_SID, e164, { voiceApplicationSid: `AP${"1".repeat(32)}` });
      await gqlOk(t, CREATE, { input: { e164 } }, { key: a.key });
      expect(updatesOf(number.sid)[0]!.fields).to.deep.equal({ ...POINTED_AT_US, VoiceApplicationSid: "" });
      expect(number.voiceApplicationSid).to.equal("");
    });
  });

  describe("when an account key registers a number the platform cannot prove", () => {
    it("then a number held nowhere, or only in another Twilio account, is PHONE_NUMBER_NOT_HELD, and nothing is stored or updated", async () => {
      const nowhere = uniqueNumber();
      const elsewhere = uniqueNumber();
      const foreign = twilio.numbers.hold(OTHER_TWILIO_ACCOUNT, elsewhere);
      const updates = twilio.numbers.updates.length;
      for (const e164 of [nowhere, elsewhere]) {
        const error = await gqlError(t, "PHONE_NUMBER_NOT_HELD", CREATE, { input: { e164 } }, { key: a.key });
        expect(error.message).to.include(e164).and.to.include("buyPhoneNumber");
        expect(error.extensions?.field).to.equal("e164");
      }
      expect(await PhoneNumberModel.countDocuments({ e164: { $in: [nowhere, elsewhere] } })).to.equal(0);
      expect(twilio.numbers.updates.length).to.equal(updates);
      expect(foreign.voiceUrl).to.equal("");
    });

    it("then a longer number that merely contains it does not prove it (Twilio's filter matches partially)", async () => {
      const e164 = uniqueNumber();
      twilio.numbers.hold(PLATFORM_ACCOUNT_SID, `${e164}9`.slice(0, 16));
      const shorter = e164.slice(0, -1);
      await gqlError(t, "PHONE_NUMBER_NOT_HELD", CREATE, { input: { e164: shorter } }, { key: a.key });
      expect(await PhoneNumberModel.countDocuments({ e164: shorter })).to.equal(0);
    });

    it("then a number another account has is a CONFLICT, and Twilio is not asked anything", async () => {
      const e164 = uniqueNumber();
      const number = twilio.numbers.hold(PLATFORM_ACCOUNT_SID, e164);
      const b = await createAccount(t);
      await gqlOk(t, CREATE, { input: { e164 } }, { key: b.key });
      const asked = twilio.numbers.requestsAbout(e164);
      const error = await gqlError(t, "CONFLICT", CREATE, { input: { e164 } }, { key: a.key });
      expect(error.message).to.include(e164);
      expect(twilio.numbers.requestsAbout(e164)).to.equal(asked);
      expect(updatesOf(number.sid)).to.have.length(1);
      expect(String((await PhoneNumberModel.findOne({ e164 }).lean())!.accountId)).to.equal(b.id);
    });

    it("then invalid input is BAD_USER_INPUT before Twilio is asked", async () => {
      const before = twilio.requests;
      await gqlError(t, "BAD_USER_INPUT", CREATE, { input: { e164: "4155550100" } }, { key: a.key });
      await gqlError(t, "BAD_USER_INPUT", CREATE, { input: { e164: uniqueNumber(), agentId: "nope" } }, { key: a.key });
      await gqlError(t, "BAD_USER_INPUT", CREATE, { input: { e164: uniqueNumber(), friendlyName: "x".repeat(201) } }, { key: a.key });
      expect(twilio.requests).to.equal(before);
    });
  });

  describe("when Twilio fails", () => {
    it("then a lookup failing with 500s is a retryable TWILIO_API_ERROR, nothing is stored, and a retry succeeds", async () => {
      const e164 = uniqueNumber();
      const number = twilio.numbers.hold(PLATFORM_ACCOUNT_SID, e164);
      twilio.failNext = 2; // both attempts
      const res = await gql(t, CREATE, { input: { e164 } }, { key: a.key });
      expect(res.errors?.[0]?.extensions).to.deep.include({ code: "TWILIO_API_ERROR", retryable: true });
      expect(await PhoneNumberModel.countDocuments({ e164 })).to.equal(0);
      expect(updatesOf(number.sid)).to.have.length(0);
      await gqlOk(t, CREATE, { input: { e164 } }, { key: a.key });
      expect(await PhoneNumberModel.countDocuments({ e164 })).to.equal(1);
    });

    it("then a number that cannot be pointed at us is not kept: the claim is withdrawn", async () => {
      const e164 = uniqueNumber();
      const number = twilio.numbers.hold(PLATFORM_ACCOUNT_SID, e164);
      twilio.numbers.failNextUpdates = 2;
      const res = await gql(t, CREATE, { input: { e164 } }, { key: a.key });
      expect(res.errors?.[0]?.extensions).to.deep.include({ code: "TWILIO_API_ERROR", retryable: true });
      expect(await PhoneNumberModel.countDocuments({ e164 })).to.equal(0);
      expect(number.voiceUrl).to.equal("");
      // Another account may claim it now.
      const b = await createAccount(t);
      await gqlOk(t, CREATE, { input: { e164 } }, { key: b.key });
    });

    it("then an unreachable Twilio is a retryable TWILIO_API_ERROR and nothing is stored", async () => {
      const closed = await startTestApp({
        TWILIO_ACCOUNT_SID: PLATFORM_ACCOUNT_SID,
        TWILIO_API_BASE_URL: `http://127.0.0.1:${await freePort()}`,
      });
      try {
        const e164 = uniqueNumber();
        const res = await gql(closed, CREATE, { input: { e164 } }, { key: a.key });
        expect(res.errors?.[0]?.extensions).to.deep.include({ code: "TWILIO_API_ERROR", retryable: true });
        expect(await PhoneNumberModel.countDocuments({ e164 })).to.equal(0);
      } finally {
        await closed.close();
      }
    });
  });

  describe("when the web process has no Twilio credentials", () => {
    it("then account keys get TWILIO_NOT_CONFIGURED naming the variables, and admin keys still register numbers", async () => {
      const bare = await startTestApp({ TWILIO_API_BASE_URL: twilio.url });
      try {
        const e164 = uniqueNumber();
        twilio.numbers.hold(PLATFORM_ACCOUNT_SID, e164);
        const before = twilio.requests;
        const error = await gqlError(bare, "TWILIO_NOT_CONFIGURED", CREATE, { input: { e164 } }, { key: a.key });
        expect(error.message).to.include("TWILIO_ACCOUNT_SID").and.to.include("TWILIO_AUTH_TOKEN");
        await gqlError(bare, "TWILIO_NOT_CONFIGURED", AVAILABLE, { country: "US" }, { key: a.key });
        await gqlError(bare, "TWILIO_NOT_CONFIGURED", BUY, { e164 }, { key: a.key });
        expect(await PhoneNumberModel.countDocuments({ e164 })).to.equal(0);
        const data = await gqlOk(bare, CREATE, { input: { e164, accountId: a.id } });
        expect(data.createPhoneNumber).to.deep.include({ source: "ADMIN", twilioSid: null });
        expect(twilio.requests).to.equal(before);
      } finally {
        await bare.close();
      }
    });
  });

  describe("when an admin key registers or reassigns a number", () => {
    it("then any number is registered without asking Twilio", async () => {
      const before = twilio.requests;
      const e164 = uniqueNumber();
      const data = await gqlOk(t, CREATE, { input: { e164, accountId: a.id, agentId } });
      expect(data.createPhoneNumber).to.deep.include({ e164, source: "ADMIN", twilioSid: null, agent: { id: agentId } });
      expect(twilio.requests).to.equal(before);
    });

    it("then a number moves to another account, its old agent cleared or the new account's agent set", async () => {
      const b = await createAccount(t);
      const agentOfB = await createAgent(t, b.key);
      const { createPhoneNumber } = await gqlOk(t, CREATE, { input: { e164: uniqueNumber(), accountId: a.id, agentId } });
      const id = createPhoneNumber.id;
      const before = twilio.requests;
      const moved = await gqlOk(t, UPDATE, { id, input: { accountId: b.id } });
      expect(moved.updatePhoneNumber).to.deep.include({ account: { id: b.id }, agent: null });
      await gqlError(t, "NOT_FOUND", `query ($id: ID!) { phoneNumber(id: $id) { id } }`, { id }, { key: a.key });
      const back = await gqlOk(t, UPDATE, { id, input: { accountId: a.id, agentId } });
      expect(back.updatePhoneNumber).to.deep.include({ account: { id: a.id }, agent: { id: agentId } });
      await gqlError(t, "NOT_FOUND", UPDATE, { id, input: { accountId: b.id, agentId } });
      const stored = await PhoneNumberModel.findById(id).lean();
      expect(String(stored!.accountId)).to.equal(a.id);
      await gqlOk(t, UPDATE, { id, input: { accountId: b.id, agentId: agentOfB } });
      expect(String((await PhoneNumberModel.findById(id).lean())!.agentId)).to.equal(agentOfB);
      expect(twilio.requests).to.equal(before);
    });

    it("then a number stored before numbers had a source reads as ADMIN, without a sid", async () => {
      const now = new Date();
      const { insertedId } = await PhoneNumberModel.collection.insertOne({
        e164: uniqueNumber(),
        accountId: new Types.ObjectId(a.id),
        agentId: null,
        friendlyName: "",
        createdAt: now,
        updatedAt: now,
      });
      const data = await gqlOk(
        t,
        `query ($id: ID!) { phoneNumber(id: $id) { source twilioSid } }`,
        { id: insertedId.toHexString() },
        { key: a.key },
      );
      expect(data.phoneNumber).to.deep.equal({ source: "ADMIN", twilioSid: null });
    });

    it("then an account key cannot move its number to another account: NOT_FOUND, nothing changes", async () => {
      const b = await createAccount(t);
      const { createPhoneNumber } = await gqlOk(t, CREATE, { input: { e164: uniqueNumber(), accountId: a.id, agentId } });
      const error = await gqlError(t, "NOT_FOUND", UPDATE, { id: createPhoneNumber.id, input: { accountId: b.id } }, { key: a.key });
      expect(error.message).to.equal(`Account ${b.id} not found`);
      const stored = await PhoneNumberModel.findById(createPhoneNumber.id).lean();
      expect(String(stored!.accountId)).to.equal(a.id);
      expect(String(stored!.agentId)).to.equal(agentId);
      const same = await gqlOk(t, UPDATE, { id: createPhoneNumber.id, input: { accountId: a.id } }, { key: a.key });
      expect(same.updatePhoneNumber.agent).to.deep.equal({ id: agentId });
    });
  });

  describe("when numbers for sale are searched", () => {
    it("then the filters go to Twilio's Local search and its answer is mapped", async () => {
      const wanted = `+1415${String(Date.now() % 10_000_000).padStart(7, "0")}`;
      twilio.numbers.offer({
        phoneNumber: wanted,
        isoCountry: "US",
        friendlyName: "(415) 555-0100",
        locality: "San Francisco",
        region: "CA",
        capabilities: { voice: true, sms: true, mms: false },
      });
      twilio.numbers.offer({ phoneNumber: "+12125550100", isoCountry: "US" });
      const contains = wanted.slice(5, 9);
      const data = await gqlOk(t, AVAILABLE, { country: "us", areaCode: 415, contains }, { key: a.key });
      expect(twilio.numbers.searches.at(-1)).to.deep.equal({
        accountSid: PLATFORM_ACCOUNT_SID,
        country: "US",
        fields: { PageSize: "20", AreaCode: "415", Contains: contains },
      });
      expect(data.availablePhoneNumbers).to.deep.include({
        e164: wanted,
        friendlyName: "(415) 555-0100",
        locality: "San Francisco",
        region: "CA",
        isoCountry: "US",
        capabilities: { voice: true, sms: true, mms: false },
      });
      expect(data.availablePhoneNumbers.map((n: { e164: string }) => n.e164)).to.not.include("+12125550100");
    });

    const invalid: [string, Record<string, unknown>, RegExp][] = [
      ["a three-letter country", { country: "USA" }, /^country /],
      ["an unknown country", { country: "XQ" }, /^country /],
      ["a two-digit area code", { country: "US", areaCode: 41 }, /^areaCode /],
      ["an area code outside the US and CA", { country: "GB", areaCode: 207 }, /^areaCode /],
      ["a one-character pattern", { country: "US", contains: "5" }, /^contains /],
      ["a pattern with a dash", { country: "US", contains: "555-0100" }, /^contains /],
      ["a pattern of wildcards", { country: "US", contains: "***" }, /^contains /],
      ["a pattern over 16 characters", { country: "US", contains: "1".repeat(17) }, /^contains /],
    ];
    for (const [what, vars, field] of invalid) {
      it(`then ${what} is BAD_USER_INPUT naming the field, and Twilio is not asked`, async () => {
        const before = twilio.requests;
        const error = await gqlError(t, "BAD_USER_INPUT", AVAILABLE, vars, { key: a.key });
        expect(error.message).to.match(field);
        expect(twilio.requests).to.equal(before);
      });
    }
  });

  describe("when a number is bought", () => {
    const forSale = () => {
      const e164 = uniqueNumber();
      twilio.numbers.offer({ phoneNumber: e164, isoCountry: "US" });
      return e164;
    };

    it("then Twilio buys it pointed at us, and it is stored as PURCHASED for the account", async () => {
      const e164 = forSale();
      const data = await gqlOk(t, BUY, { e164, agentId }, { key: a.key });
      const number = twilio.numbers.find(e164)!;
      expect(number.accountSid).to.equal(PLATFORM_ACCOUNT_SID);
      expect(data.buyPhoneNumber).to.deep.include({
        e164,
        source: "PURCHASED",
        twilioSid: number.sid,
        agent: { id: agentId },
        account: { id: a.id },
      });
      expect(twilio.numbers.purchases.at(-1)!.fields).to.deep.equal({ PhoneNumber: e164, ...POINTED_AT_US });
      expect(number.voiceUrl).to.equal(`${BASE}/inbound_call`);
      expect(twilio.numbers.available.map((n) => n.phoneNumber)).to.not.include(e164);
    });

    it("then an admin buys for the account it names", async () => {
      const e164 = forSale();
      const data = await gqlOk(t, BUY, { e164, accountId: a.id });
      expect(data.buyPhoneNumber).to.deep.include({ source: "PURCHASED", account: { id: a.id } });
    });

    it("then a number Twilio does not sell is a TWILIO_API_ERROR with Twilio's reason, and nothing is stored", async () => {
      const e164 = uniqueNumber();
      const res = await gql(t, BUY, { e164 }, { key: a.key });
      expect(res.errors?.[0]?.extensions?.code).to.equal("TWILIO_API_ERROR");
      expect(res.errors?.[0]?.extensions?.retryable).to.equal(undefined);
      expect(res.errors?.[0]?.message).to.include("not available");
      expect(await PhoneNumberModel.countDocuments({ e164 })).to.equal(0);
    });

    it("then a purchase whose answer is lost is found by a lookup and stored", async () => {
      const e164 = forSale();
      twilio.numbers.loseNextPurchaseAnswer = true;
      const data = await gqlOk(t, BUY, { e164 }, { key: a.key });
      const number = twilio.numbers.find(e164)!;
      expect(data.buyPhoneNumber).to.deep.include({ source: "PURCHASED", twilioSid: number.sid });
      expect(twilio.numbers.purchases.filter((p) => p.fields.PhoneNumber === e164)).to.have.length(1);
      expect(number.voiceUrl).to.equal(`${BASE}/inbound_call`);
    });

    it("then a number already registered, or an agent of another account, is refused before anything is bought", async () => {
      const taken = uniqueNumber();
      await gqlOk(t, CREATE, { input: { e164: taken, accountId: a.id } });
      twilio.numbers.offer({ phoneNumber: taken, isoCountry: "US" });
      await gqlError(t, "CONFLICT", BUY, { e164: taken }, { key: a.key });
      const b = await createAccount(t);
      const e164 = forSale();
      await gqlError(t, "NOT_FOUND", BUY, { e164, agentId }, { key: b.key });
      await gqlError(t, "BAD_USER_INPUT", BUY, { e164: "+1 415" }, { key: a.key });
      expect(twilio.numbers.purchases.filter((p) => [taken, e164].includes(p.fields.PhoneNumber!))).to.have.length(0);
    });

    it("then a bought number that cannot be stored is PHONE_NUMBER_NOT_STORED with the sid", async () => {
      const e164 = forSale();
      const b = await createAccount(t);
      // Someone registers the number while Twilio is selling it.
      twilio.numbers.beforePurchaseAnswer = async (phoneNumber) => {
        await PhoneNumberModel.create({ e164: phoneNumber, accountId: b.id, source: "admin" });
      };
      try {
        const error = await gqlError(t, "PHONE_NUMBER_NOT_STORED", BUY, { e164 }, { key: a.key });
        const sid = twilio.numbers.find(e164)!.sid;
        expect(error.extensions?.twilioSid).to.equal(sid);
        expect(error.message).to.include(sid);
      } finally {
        twilio.numbers.beforePurchaseAnswer = null;
      }
      expect(await PhoneNumberModel.countDocuments({ e164, accountId: a.id })).to.equal(0);
    });
  });

  describe("when a number is deleted", () => {
    const verified = async () => {
      const e164 = uniqueNumber();
      const number = twilio.numbers.hold(PLATFORM_ACCOUNT_SID, e164);
      const data = await gqlOk(t, CREATE, { input: { e164 } }, { key: a.key });
      return { id: data.createPhoneNumber.id as string, number };
    };

    it("then our URLs are cleared at Twilio, and the number is gone", async () => {
      const { id, number } = await verified();
      expect((await gqlOk(t, DELETE, { id }, { key: a.key })).deletePhoneNumber).to.equal(true);
      expect(updatesOf(number.sid).at(-1)!.fields).to.deep.equal({ VoiceUrl: "", VoiceFallbackUrl: "", StatusCallback: "" });
      expect(number).to.deep.include({ voiceUrl: "", voiceFallbackUrl: "", statusCallback: "" });
      expect(await PhoneNumberModel.exists({ _id: id })).to.equal(null);
    });

    it("then a URL someone set since in the Twilio console stays", async () => {
      const { id, number } = await verified();
      number.voiceUrl = "https://elsewhere.example/voice";
      await gqlOk(t, DELETE, { id }, { key: a.key });
      expect(updatesOf(number.sid).at(-1)!.fields).to.deep.equal({ VoiceFallbackUrl: "", StatusCallback: "" });
      expect(number.voiceUrl).to.equal("https://elsewhere.example/voice");
    });

    it("then a Twilio failure is a retryable error and the number stays until a retry succeeds", async () => {
      const { id, number } = await verified();
      twilio.numbers.failNextUpdates = 2;
      const res = await gql(t, DELETE, { id }, { key: a.key });
      expect(res.errors?.[0]?.extensions).to.deep.include({ code: "TWILIO_API_ERROR", retryable: true });
      expect(await PhoneNumberModel.exists({ _id: id })).to.not.equal(null);
      expect(number.voiceUrl).to.equal(`${BASE}/inbound_call`);
      await gqlOk(t, DELETE, { id }, { key: a.key });
      expect(number.voiceUrl).to.equal("");
      expect(await PhoneNumberModel.exists({ _id: id })).to.equal(null);
    });

    it("then a number the platform no longer holds, or one registered by an admin, is deleted without an update", async () => {
      const { id, number } = await verified();
      twilio.numbers.incoming.delete(number.sid);
      const updates = twilio.numbers.updates.length;
      await gqlOk(t, DELETE, { id }, { key: a.key });
      const { createPhoneNumber } = await gqlOk(t, CREATE, { input: { e164: uniqueNumber(), accountId: a.id } });
      const before = twilio.requests;
      await gqlOk(t, DELETE, { id: createPhoneNumber.id });
      expect(twilio.requests).to.equal(before);
      expect(twilio.numbers.updates.length).to.equal(updates);
      expect(await PhoneNumberModel.countDocuments({ _id: { $in: [id, createPhoneNumber.id] } })).to.equal(0);
    });
  });
});

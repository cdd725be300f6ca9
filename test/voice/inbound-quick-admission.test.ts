// A number whose routing the web process has cached is admitted in one Redis round trip
// (CallAdmissions.admitHolding); whatever that script cannot decide goes down the general path,
// with the same outcome as before.
import { expect } from "chai";
import { Types } from "mongoose";
import { CallAdmissions } from "../../schema/billing/call-admissions.js";
import { OpenCalls } from "../../schema/billing/open-calls.js";
import { ReservationService, reservationKeys } from "../../schema/billing/reservation.service.js";
import { ledger } from "../../schema/ledger/ledger.service.js";
import { ROUTING_VERSION_KEY } from "../../schema/infra/routing-version.js";
import { AgentModel } from "../../schema/models/agent.model.js";
import { callIdForSid } from "../../schema/models/call.model.js";
import { PhoneNumberModel } from "../../schema/models/phone-number.model.js";
import { startTestApp, type TestApp } from "../helpers/app.js";
import { withDbCommands } from "../helpers/db-commands.js";
import { createFixture, type Fixture } from "../helpers/fixtures.js";
import { waitFor } from "../helpers/media.js";
import { inboundCallFields, parseStreamTwiml, postForm, storedCall } from "../helpers/twilio.js";

const ROUTING_READS = /^find (agents|accounts|phonenumbers)$/;
const LEDGER_READS = /^find ledger/;
/** Default rate 150,000 micro-dollars a minute: the first minute's hold. */
const FIRST_MINUTE = 150_000;

describe("Inbound call: one Redis round trip for a cached number", () => {
  let t: TestApp;
  let fx: Fixture;
  let reservations: ReservationService;

  before(async () => {
    t = await startTestApp();
    reservations = new ReservationService(t.redis);
  });
  after(async () => {
    await t.close();
  });
  beforeEach(async () => {
    fx = await createFixture({ balanceMicros: 5_000_000 });
    // The first call fills the routing cache and the balance snapshot; the second loads the script.
    for (let i = 0; i < 2; i++) await settled(await admitted(inboundCallFields(fx.number)));
  });

  async function admitted(fields: ReturnType<typeof inboundCallFields>): Promise<string> {
    const res = await postForm(t, "/inbound_call", fields);
    expect(res.status).to.equal(200);
    return fields.CallSid;
  }

  /** Waits until the call's document is written and its pending entry gone, so no write of it overlaps what a test counts. */
  async function settled(callSid: string): Promise<void> {
    const admissions = new CallAdmissions(t.redis);
    await storedCall(callSid);
    await waitFor("the pending entry to go", async () => !(await admissions.isPending(String(callIdForSid(callSid)))) || null);
  }

  /** The Redis commands the web process sends while `fn` runs. */
  async function redisCommands<T>(fn: () => Promise<T>): Promise<{ result: T; commands: string[] }> {
    const commands: string[] = [];
    const original = t.redis.sendCommand.bind(t.redis);
    t.redis.sendCommand = (command: { name: string }, stream?: unknown) => {
      commands.push(command.name);
      return original(command as never, stream as never);
    };
    try {
      return { result: await fn(), commands };
    } finally {
      t.redis.sendCommand = original;
    }
  }

  describe("when the number takes its next call", () => {
    it("then the webhook sends one Redis command and no database read, and the call is admitted in full", async () => {
      const fields = inboundCallFields(fx.number);
      const { result, commands } = await redisCommands(() => withDbCommands(() => postForm(t, "/inbound_call", fields)));
      expect(result.result.status).to.equal(200);
      expect(commands).to.deep.equal(["evalsha"]);
      expect(result.commands.filter((c) => ROUTING_READS.test(c) || LEDGER_READS.test(c))).to.deep.equal([]);

      const callId = String(callIdForSid(fields.CallSid));
      expect(parseStreamTwiml(result.result.text).params).to.include({ callId, agentId: String(fx.agentId) });
      expect(await new CallAdmissions(t.redis).get(callId)).to.include({
        callSid: fields.CallSid,
        accountId: String(fx.accountId),
        ratePerMinuteMicros: FIRST_MINUTE,
      });
      expect(await reservations.heldByCall(fx.accountId, fields.CallSid)).to.equal(FIRST_MINUTE);
      expect(await new OpenCalls(t.redis).isWatched(callId)).to.equal(true);
      expect((await storedCall(fields.CallSid)).status).to.equal("ringing");
    });
  });

  describe("when Twilio retries a call admitted on the fast path", () => {
    it("then the retry gets the same TwiML and holds nothing more", async () => {
      const fields = inboundCallFields(fx.number);
      const first = await postForm(t, "/inbound_call", fields);
      await settled(fields.CallSid);
      const again = await redisCommands(() => postForm(t, "/inbound_call", fields));
      expect(again.result.status).to.equal(200);
      expect(again.result.text).to.equal(first.text);
      expect(again.commands).to.deep.equal(["evalsha"]);
      expect(await reservations.reservedMicros(fx.accountId)).to.equal(3 * FIRST_MINUTE);
    });
  });

  describe("when another process changed the routing since the entry was cached", () => {
    it("then the script refuses the stale entry, nothing is held for it, and the call goes to the new agent", async () => {
      const moved = await AgentModel.create({ accountId: fx.accountId, name: "Night desk" });
      // Written past mongoose (no hook in this process): only the version tells the cache.
      await PhoneNumberModel.collection.updateOne({ e164: fx.number }, { $set: { agentId: moved._id } });
      await t.redis.incr(ROUTING_VERSION_KEY);
      const fields = inboundCallFields(fx.number);
      const res = await withDbCommands(() => postForm(t, "/inbound_call", fields));
      expect(res.result.status).to.equal(200);
      expect(parseStreamTwiml(res.result.text).params.agentId).to.equal(String(moved._id));
      expect(res.commands.filter((c) => ROUTING_READS.test(c))).to.have.length.greaterThan(0);
      expect(await reservations.reservedMicros(fx.accountId)).to.equal(3 * FIRST_MINUTE);
    });
  });

  describe("when the balance snapshot is gone", () => {
    it("then the ledger is read and the call is admitted", async () => {
      await t.redis.del(reservationKeys(fx.accountId)[4]);
      const fields = inboundCallFields(fx.number);
      const res = await withDbCommands(() => postForm(t, "/inbound_call", fields));
      expect(res.result.status).to.equal(200);
      expect(res.commands.filter((c) => LEDGER_READS.test(c))).to.have.length.greaterThan(0);
      expect(await reservations.heldByCall(fx.accountId, fields.CallSid)).to.equal(FIRST_MINUTE);
    });
  });

  describe("when the snapshot shows too little but a credit has landed since", () => {
    it("then the ledger's balance admits the call", async () => {
      const poor = await createFixture({ balanceMicros: FIRST_MINUTE + 10 });
      expect((await postForm(t, "/inbound_call", inboundCallFields(poor.number))).status).to.equal(200);
      // The snapshot says 10 micro-dollars are left; a credit goes straight to the ledger.
      await ledger.append({
        accountId: poor.accountId,
        kind: "credit",
        amountMicros: 1_000_000,
        reference: `top-up-${new Types.ObjectId().toHexString()}`,
        floorMicros: null,
      });
      const fields = inboundCallFields(poor.number);
      const res = await postForm(t, "/inbound_call", fields);
      expect(res.status).to.equal(200);
      expect(await reservations.heldByCall(poor.accountId, fields.CallSid)).to.equal(FIRST_MINUTE);
    });
  });
});

import { expect } from "chai";
import { Redis } from "ioredis";
import { Types } from "mongoose";
import { AdmissionDrain } from "../../schema/billing/admission-drain.js";
import { CallAdmissions, type AdmissionRecord } from "../../schema/billing/call-admissions.js";
import { createLogger } from "../../schema/infra/logger.js";
import { CallModel, callIdForSid } from "../../schema/models/call.model.js";
import { testEnv } from "../helpers/env.js";
import { uniqueCallSid } from "../helpers/fixtures.js";

const log = createLogger({ name: "test", level: "silent", redactPii: false });

function record(over: Partial<AdmissionRecord> = {}): AdmissionRecord {
  const callSid = uniqueCallSid();
  return {
    callId: String(callIdForSid(callSid)),
    callSid,
    accountId: String(new Types.ObjectId()),
    agentId: String(new Types.ObjectId()),
    from: "+14155550100",
    to: "+14155550199",
    forwardedFrom: null,
    externalCallId: "crm-1",
    twilioAccountSid: `AC${"0".repeat(32)}`,
    ratePerMinuteMicros: 120_000,
    startedAt: new Date().toISOString(),
    agent: { name: "Front desk", instructions: "", language: "en-US", voice: {} as AdmissionRecord["agent"]["voice"] },
    ...over,
  };
}

describe("CallAdmissions", () => {
  let redis: Redis;
  before(() => {
    redis = new Redis(testEnv().redisUrl);
  });
  after(async () => {
    await redis.quit();
  });

  it("when a CallSid is admitted twice, then the first admission stands and the second gets it", async () => {
    const admissions = new CallAdmissions(redis);
    const first = record();
    expect(await admissions.admit(first)).to.deep.equal({ record: first, created: true });
    const again = await admissions.admit({ ...first, startedAt: new Date(Date.now() + 5_000).toISOString() });
    expect(again).to.deep.equal({ record: first, created: false });
    expect(await admissions.get(first.callId)).to.deep.equal(first);
    expect(await admissions.isPending(first.callId)).to.equal(true);
  });

  it("when the call is persisted several times, by several processes, then one document exists with the admission's facts", async () => {
    const a = new CallAdmissions(redis);
    const b = new CallAdmissions(redis);
    const r = record();
    await a.admit(r);
    expect(await Promise.all([a.persist(r.callId), a.persist(r.callId), b.persist(r.callId)])).to.deep.equal([true, true, true]);
    // Once more after the fact: E11000 on the stored document counts as written.
    expect(await b.persist(r.callId)).to.equal(true);
    const docs = await CallModel.find({ callSid: r.callSid }).lean();
    expect(docs).to.have.length(1);
    expect(docs[0]).to.include({
      status: "ringing",
      externalCallId: "crm-1",
      ratePerMinuteMicros: 120_000,
      twilioAccountSid: r.twilioAccountSid,
    });
    expect(String(docs[0]!._id)).to.equal(r.callId);
    expect(docs[0]!.startedAt.toISOString()).to.equal(r.startedAt);
    expect(await a.isPending(r.callId)).to.equal(false);
  });

  it("when the document is written, then it carries the schema's defaults and timestamps, as a mongoose save would", async () => {
    const admissions = new CallAdmissions(redis);
    const r = record({ forwardedFrom: "+14155550123" });
    const before = Date.now();
    await admissions.admit(r);
    expect(await admissions.persist(r.callId)).to.equal(true);
    const doc = await CallModel.findById(r.callId).lean();
    expect(doc).to.deep.include({
      direction: "inbound",
      transcript: [],
      billedSeconds: 0,
      costMicros: 0,
      answeredAt: null,
      endedAt: null,
      endedReason: null,
      forwardedFrom: "+14155550123",
    });
    expect(doc!.createdAt.getTime()).to.be.within(before, Date.now());
    expect(doc!.updatedAt.getTime()).to.equal(doc!.createdAt.getTime());
  });

  it("when an admission record breaks the schema, then persist fails and writes nothing", async () => {
    const admissions = new CallAdmissions(redis);
    const r = record({ to: "x".repeat(300) });
    await admissions.admit(r);
    let failure: unknown = null;
    await admissions.persist(r.callId).catch((err: unknown) => (failure = err));
    expect((failure as { name?: string } | null)?.name).to.equal("ValidationError");
    expect(await CallModel.exists({ _id: r.callId })).to.equal(null);
  });

  it("when a batch of admitted calls is written together, then one ZREM takes them all off the pending set", async () => {
    const own = new Redis(testEnv().redisUrl);
    try {
      const admissions = new CallAdmissions(own);
      const records = Array.from({ length: 5 }, () => record());
      for (const r of records) await admissions.admit(r);
      const sent: { name: string; args: unknown[] }[] = [];
      const original = own.sendCommand.bind(own);
      own.sendCommand = (command: { name: string; args: unknown[] }, stream?: unknown) => {
        sent.push({ name: command.name, args: command.args });
        return original(command as never, stream as never);
      };
      expect(await Promise.all(records.map((r) => admissions.persist(r.callId, r)))).to.deep.equal([true, true, true, true, true]);
      const zrems = sent.filter((c) => c.name === "zrem");
      expect(zrems).to.have.length(1);
      expect(zrems[0]!.args.slice(1)).to.have.members(records.map((r) => r.callId));
      for (const r of records) expect(await admissions.isPending(r.callId)).to.equal(false);
    } finally {
      own.disconnect();
    }
  });

  it("when there is no admission record, then persist reports whether a document exists", async () => {
    const admissions = new CallAdmissions(redis);
    expect(await admissions.persist(String(new Types.ObjectId()))).to.equal(false);
    const r = record();
    await admissions.admit(r);
    await admissions.persist(r.callId);
    await redis.del(`c247:{call:${r.callId}}:admission`);
    expect(await admissions.persist(r.callId)).to.equal(true);
  });

  it("when the admitting process never wrote the call, then another process's drain writes it once its grace is over", async () => {
    const dead = new CallAdmissions(redis);
    const r = record();
    await dead.admit(r);
    const drain = new AdmissionDrain(new CallAdmissions(redis), log);
    await drain.runOnce(Date.now());
    expect(await CallModel.countDocuments({ _id: r.callId })).to.equal(0);
    expect(await drain.runOnce(Date.now() + 10_000)).to.be.at.least(1);
    expect(await CallModel.countDocuments({ _id: r.callId })).to.equal(1);
    expect(await dead.isPending(r.callId)).to.equal(false);
  });

  it("when a pending call has neither record nor document, then the drain gives it up instead of retrying forever", async () => {
    const admissions = new CallAdmissions(redis);
    const r = record();
    await admissions.admit(r);
    await redis.del(`c247:{call:${r.callId}}:admission`);
    await new AdmissionDrain(admissions, log).runOnce(Date.now() + 10_000);
    expect(await admissions.isPending(r.callId)).to.equal(false);
  });
});

import { expect } from "chai";
import { UnrecoverableError } from "bullmq";
import { Types } from "mongoose";
import { parseCloseOutJob } from "../../media-worker/billing/closeout.job.js";
import { CloseOutService, chargeReference } from "../../media-worker/billing/closeout.service.js";
import { enqueueCloseOut } from "../../schema/billing/closeout-queue.js";
import { OpenCalls } from "../../schema/billing/open-calls.js";
import { LedgerService, ledger } from "../../schema/ledger/ledger.service.js";
import { createLogger } from "../../schema/infra/logger.js";
import { formatUsd } from "../../schema/billing/money.js";
import { closeOutJobId, type CallCloseOutJob } from "../../schema/infra/queues.js";
import { AccountModel } from "../../schema/models/account.model.js";
import { CallModel } from "../../schema/models/call.model.js";
import { TEST_AUTH_TOKEN } from "../helpers/app.js";
import { FakeTwilioRest } from "../helpers/fake-twilio.js";
import { createFixture, uniqueCallSid, type Fixture } from "../helpers/fixtures.js";
import { chargesFor, reservations, startTestMedia, waitFor, waitForClosedCall, type TestMedia } from "../helpers/media.js";

const FIVE_DOLLARS = 5_000_000;
const log = createLogger({ name: "test-closeout", level: "silent", redactPii: false });

describe("billing close-out", function () {
  this.timeout(20_000);
  let media: TestMedia;
  let twilioRest: FakeTwilioRest;
  let fx: Fixture;

  before(async () => {
    twilioRest = await FakeTwilioRest.start(TEST_AUTH_TOKEN);
    media = await startTestMedia(twilioRest.url);
  });
  after(async () => {
    await media.close();
    await twilioRest.close();
  });
  beforeEach(async () => {
    fx = await createFixture({ balanceMicros: FIVE_DOLLARS });
  });

  /** A live call holding its first minute, as /inbound_call and the stream's start leave it. */
  async function liveCall(opts: { answered?: boolean } = {}) {
    const callSid = uniqueCallSid();
    const startedAt = new Date(Date.now() - 70_000);
    const call = await CallModel.create({
      callSid,
      accountId: fx.accountId,
      agentId: fx.agentId,
      to: fx.number,
      status: opts.answered === false ? "ringing" : "in-progress",
      startedAt,
      answeredAt: opts.answered === false ? null : new Date(startedAt.getTime() + 1_000),
    });
    await reservations(media.redis).reserve({
      accountId: fx.accountId,
      callKey: callSid,
      once: true,
      amountMicros: 150_000,
      requiredMicros: 150_000,
      ttlMs: 60_000,
    });
    return { callId: String(call._id), callSid };
  }

  const job = (callId: string, over: Partial<CallCloseOutJob> = {}): CallCloseOutJob => ({
    callId,
    status: "completed",
    endedReason: "caller-hangup",
    endedAt: new Date().toISOString(),
    connectedMs: 61_200,
    source: "stream",
    ...over,
  });
  const service = (l: LedgerService = ledger) =>
    new CloseOutService(reservations(media.redis), new OpenCalls(media.redis), log, { ledger: l });

  it("when a call was connected 61.2 s, then it is billed 62 s = $0.155000 in one charge and its hold is released", async () => {
    const { callId, callSid } = await liveCall();
    await new OpenCalls(media.redis).watch(callId);
    const result = await service().closeOut(job(callId));
    expect(result).to.include({ outcome: "closed", billedSeconds: 62, costMicros: 155_000 });

    const charges = await chargesFor(callId);
    expect(charges).to.have.length(1);
    expect(charges[0]).to.include({
      kind: "call_charge",
      amountMicros: -155_000,
      reference: chargeReference(callId),
      seq: result.chargeSeq,
    });
    const call = await CallModel.findById(callId).lean();
    expect(call).to.include({ status: "completed", endedReason: "caller-hangup", billedSeconds: 62, costMicros: 155_000 });
    expect(formatUsd(call!.costMicros)).to.equal("0.155000");
    expect(await reservations(media.redis).heldByCall(fx.accountId, callSid)).to.equal(0);
    expect((await ledger.balance(fx.accountId)).balanceMicros).to.equal(FIVE_DOLLARS - 155_000);
    // Nothing is left for the sweeper.
    expect(await new OpenCalls(media.redis).isWatched(callId)).to.equal(false);
  });

  it("when the call never connected, then nothing is charged whatever the trigger reported", async () => {
    const { callId, callSid } = await liveCall({ answered: false });
    const result = await service().closeOut(job(callId, { status: "failed", endedReason: "not-connected", connectedMs: 5_000 }));
    expect(result).to.include({ billedSeconds: 0, costMicros: 0, chargeSeq: null });
    expect(await chargesFor(callId)).to.have.length(0);
    expect(await CallModel.findById(callId).lean()).to.include({ status: "failed", endedReason: "not-connected", costMicros: 0 });
    expect(await reservations(media.redis).heldByCall(fx.accountId, callSid)).to.equal(0);
  });

  it("when the close-out runs again (a retry), then nothing more is charged", async () => {
    const { callId } = await liveCall();
    const first = await service().closeOut(job(callId));
    const second = await service().closeOut(job(callId));
    expect(second).to.deep.equal(first);
    expect(await chargesFor(callId)).to.have.length(1);
    expect((await ledger.balance(fx.accountId)).balanceMicros).to.equal(FIVE_DOLLARS - 155_000);
  });

  it("when close-outs run concurrently in several processes, then exactly one charge is written", async () => {
    const { callId } = await liveCall();
    // Separate ledger instances share nothing in memory, like separate worker processes.
    const runs = await Promise.all(
      [1, 2, 3, 4, 5, 6].map((i) => service(new LedgerService()).closeOut(job(callId, { connectedMs: 61_200 + i }))),
    );
    expect(new Set(runs.map((r) => r.chargeSeq)).size).to.equal(1);
    expect(await chargesFor(callId)).to.have.length(1);
    const call = await CallModel.findById(callId).lean();
    expect(call).to.include({ billedSeconds: 62, costMicros: 155_000 });
  });

  it("when a worker died after writing the charge, then the retry completes the call record and releases the hold without charging again", async () => {
    const { callId, callSid } = await liveCall();
    // What the killed attempt left behind: the charge, nothing else.
    const { entry } = await ledger.append({
      accountId: fx.accountId,
      kind: "call_charge",
      reference: chargeReference(callId),
      amountMicros: -155_000,
      floorMicros: null,
      callId: new Types.ObjectId(callId),
    });
    expect(await reservations(media.redis).heldByCall(fx.accountId, callSid)).to.equal(150_000);
    const result = await service().closeOut(job(callId));
    expect(result.chargeSeq).to.equal(entry.seq);
    expect(await chargesFor(callId)).to.have.length(1);
    expect(await CallModel.findById(callId).lean()).to.include({ status: "completed", billedSeconds: 62, costMicros: 155_000 });
    expect(await reservations(media.redis).heldByCall(fx.accountId, callSid)).to.equal(0);
  });

  it("when the account's rate changes between attempts, then the first charge stands", async () => {
    const { callId } = await liveCall();
    await service().closeOut(job(callId));
    await AccountModel.updateOne({ _id: fx.accountId }, { $set: { ratePerMinuteMicros: 300_000 } });
    const again = await service().closeOut(job(callId));
    expect(again).to.include({ costMicros: 155_000, billedSeconds: 62 });
    expect(await chargesFor(callId)).to.have.length(1);
  });

  it("when a later close-out reports a different end, then the first end is kept", async () => {
    const { callId } = await liveCall();
    await service().closeOut(job(callId, { connectedMs: 10_000 }));
    await service().closeOut(job(callId, { endedReason: "stream-lost", status: "failed", connectedMs: 99_000 }));
    expect(await CallModel.findById(callId).lean()).to.include({
      status: "completed",
      endedReason: "caller-hangup",
      billedSeconds: 10,
      costMicros: 25_000,
    });
    expect(await chargesFor(callId)).to.have.length(1);
  });

  it("when the close-out is enqueued twice, then one job runs and the first trigger's facts win", async () => {
    const { callId } = await liveCall();
    await enqueueCloseOut(media.queue, job(callId, { connectedMs: 3_000 }));
    await enqueueCloseOut(
      media.queue,
      job(callId, { connectedMs: 9_000, source: "status-callback", endedReason: "stream-lost", status: "failed" }),
    );
    const closed = await waitForClosedCall(callId);
    expect(closed).to.include({ endedReason: "caller-hangup", billedSeconds: 3, costMicros: 7_500 });
    const stored = await media.queue.getJob(closeOutJobId(callId));
    expect(stored?.data).to.include({ connectedMs: 3_000, source: "stream" });
    expect(await chargesFor(callId)).to.have.length(1);
  });

  it("when BullMQ runs a finished close-out job again, then nothing more is charged", async () => {
    const { callId } = await liveCall();
    await enqueueCloseOut(media.queue, job(callId));
    const stored = await waitFor("job completed", async () => {
      const j = await media.queue.getJob(closeOutJobId(callId));
      return j && (await j.isCompleted()) ? j : null;
    });
    await stored.retry("completed");
    await waitFor("second run finished", async () => {
      const j = await media.queue.getJob(closeOutJobId(callId));
      return j !== undefined && (await j.isCompleted()) && j.finishedOn !== stored.finishedOn;
    });
    expect(await chargesFor(callId)).to.have.length(1);
    expect((await ledger.balance(fx.accountId)).balanceMicros).to.equal(FIVE_DOLLARS - 155_000);
  });

  it("when a close-out job's data is malformed, then it fails for good instead of retrying", () => {
    for (const bad of [
      null,
      {},
      { ...job("x") },
      { ...job("a".repeat(24)), connectedMs: -1 },
      { ...job("a".repeat(24)), endedReason: "bored" },
    ]) {
      expect(() => parseCloseOutJob(bad)).to.throw(UnrecoverableError);
    }
    expect(parseCloseOutJob(job("a".repeat(24)))).to.include({ callId: "a".repeat(24) });
  });
});

import { expect } from "chai";
import { CallLiveness } from "../../schema/billing/call-liveness.js";
import { enqueueCloseOut } from "../../schema/billing/closeout-queue.js";
import { closeOutJobId } from "../../schema/infra/queues.js";
import { ledger } from "../../schema/ledger/ledger.service.js";
import { CallModel } from "../../schema/models/call.model.js";
import { CallStatusReportModel } from "../../schema/models/call-status-report.model.js";
import { startTestApp, TEST_ADMIN_KEY, type TestApp } from "../helpers/app.js";
import { createFixture, uniqueCallSid, type Fixture } from "../helpers/fixtures.js";
import { reservations } from "../helpers/media.js";
import { postForm, storedCall } from "../helpers/twilio.js";

describe("POST /call_status", () => {
  let t: TestApp;
  let fx: Fixture;

  before(async () => {
    t = await startTestApp();
  });
  after(async () => {
    await t.close();
  });
  beforeEach(async () => {
    fx = await createFixture({ balanceMicros: 1_000_000 });
  });

  /** A call admitted through /inbound_call, still ringing. */
  async function ringingCall() {
    const callSid = uniqueCallSid();
    const res = await postForm(t, "/inbound_call", {
      CallSid: callSid,
      From: "+14155550100",
      To: fx.number,
      AccountSid: `AC${"1".repeat(32)}`,
    });
    expect(res.status).to.equal(200);
    const call = await storedCall(callSid);
    return { callSid, callId: String(call._id) };
  }

  const status = (callSid: string, extra: Record<string, string> = {}) => ({
    CallSid: callSid,
    AccountSid: `AC${"1".repeat(32)}`,
    CallStatus: "completed",
    CallDuration: "7",
    CallbackSource: "call-progress-events",
    SequenceNumber: "2",
    Timestamp: "Tue, 01 Jul 2025 12:00:00 +0000",
    ...extra,
  });

  const closeOutJob = (callId: string) => t.callEvents.getJob(closeOutJobId(callId));

  it("when a signed final status arrives for a call that never streamed, then its close-out is queued at no cost", async () => {
    const { callSid, callId } = await ringingCall();
    const res = await postForm(t, "/call_status", status(callSid));
    expect(res.status).to.equal(200);
    expect(JSON.parse(res.text)).to.deep.equal({ success: true, callId, outcome: "closed-not-connected" });
    const job = await closeOutJob(callId);
    expect(job?.data).to.deep.include({
      callId,
      status: "failed",
      endedReason: "not-connected",
      connectedMs: 0,
      source: "status-callback",
    });
    // The call is claimed, so a stream arriving late cannot start it.
    expect(await new CallLiveness(t.redis).owner(callId)).to.equal("status-callback");
  });

  for (const final of ["busy", "failed", "no-answer", "canceled"]) {
    it(`when the status is ${final}, then the call is closed out as never connected`, async () => {
      const { callSid, callId } = await ringingCall();
      const res = await postForm(t, "/call_status", status(callSid, { CallStatus: final, CallDuration: "" }));
      expect(JSON.parse(res.text)).to.deep.include({ outcome: "closed-not-connected" });
      expect((await closeOutJob(callId))?.data).to.include({ endedReason: "not-connected" });
    });
  }

  it("when the status is not final, then nothing happens", async () => {
    const { callSid, callId } = await ringingCall();
    for (const s of ["queued", "ringing", "in-progress"]) {
      const res = await postForm(t, "/call_status", status(callSid, { CallStatus: s }));
      expect(res.status).to.equal(200);
      expect(JSON.parse(res.text)).to.deep.equal({ success: true, callId, outcome: "ignored" });
    }
    expect(await closeOutJob(callId)).to.equal(undefined);
    expect(await new CallLiveness(t.redis).owner(callId)).to.equal(null);
  });

  it("when the call's close-out is already queued, then the callback leaves it alone", async () => {
    const { callSid, callId } = await ringingCall();
    const queued = {
      callId,
      status: "completed" as const,
      endedReason: "caller-hangup" as const,
      endedAt: new Date().toISOString(),
      connectedMs: 1_234,
      source: "stream" as const,
    };
    await enqueueCloseOut(t.callEvents, queued);
    const res = await postForm(t, "/call_status", status(callSid));
    expect(JSON.parse(res.text)).to.deep.equal({ success: true, callId, outcome: "closing" });
    expect((await closeOutJob(callId))?.data).to.deep.equal(queued);
    expect(await new CallLiveness(t.redis).owner(callId)).to.equal(null);
  });

  it("when the CallSid is unknown, then it is CALL_NOT_FOUND", async () => {
    const res = await postForm(t, "/call_status", status(uniqueCallSid()));
    expect(res.status).to.equal(404);
    expect(JSON.parse(res.text)).to.deep.include({ success: false, code: "CALL_NOT_FOUND" });
  });

  it("when the signature is missing or wrong, then it is refused and nothing is queued", async () => {
    const { callSid, callId } = await ringingCall();
    for (const token of [null, "another-auth-token-0000000000"]) {
      const res = await postForm(t, "/call_status", status(callSid), { token });
      expect(res.status).to.equal(401);
      expect(JSON.parse(res.text).code).to.equal("UNAUTHORIZED");
    }
    expect(await closeOutJob(callId)).to.equal(undefined);
  });

  it("when fields are missing or malformed, then it is refused with the webhook's error codes", async () => {
    const { callSid } = await ringingCall();
    const cases: [Record<string, string>, number, string][] = [
      [{ CallSid: callSid }, 400, "MISSING_PARAMS"],
      [{ CallStatus: "completed" }, 400, "MISSING_PARAMS"],
      [status(callSid, { CallStatus: "exploded" }), 400, "INVALID_PARAMS"],
      [status(callSid, { CallDuration: "7.5" }), 400, "INVALID_PARAMS"],
      [status("CA bad sid"), 400, "INVALID_PARAMS"],
    ];
    for (const [body, code, errorCode] of cases) {
      const res = await postForm(t, "/call_status", body);
      expect(res.status, JSON.stringify(body)).to.equal(code);
      expect(JSON.parse(res.text).code).to.equal(errorCode);
    }
  });

  it("when an account key reports a final status, its own call's or another account's, then it is FORBIDDEN and nothing is written: no status report, no close-out, the call stays open and its hold and balance are unchanged", async () => {
    const { callSid, callId } = await ringingCall();
    const other = await createFixture();
    const keys = [
      (await t.app.apiKeys.create({ accountId: fx.accountId, scope: "account", name: "own" })).key,
      (await t.app.apiKeys.create({ accountId: other.accountId, scope: "account", name: "other" })).key,
    ];
    const balanceBefore = await ledger.balance(fx.accountId);
    const heldBefore = await reservations(t.redis).heldByCall(fx.accountId, callSid);
    expect(heldBefore).to.be.above(0);
    for (const key of keys) {
      // Signed as well: a present key decides, and an account key may not report status at all.
      for (const token of [null, undefined]) {
        const res = await postForm(t, "/call_status", status(callSid), { token, headers: { authorization: `Bearer ${key}` } });
        expect(res.status).to.equal(403);
        const body = JSON.parse(res.text);
        expect(body).to.include({ success: false, code: "FORBIDDEN" });
        expect(body.error).to.be.a("string").and.match(/admin/);
      }
    }
    expect(await closeOutJob(callId)).to.equal(undefined);
    expect(await CallStatusReportModel.findById(callId).lean()).to.equal(null);
    expect(await new CallLiveness(t.redis).owner(callId)).to.equal(null);
    expect(await CallModel.findById(callId).lean()).to.include({ status: "ringing", endedAt: null });
    expect(await ledger.balance(fx.accountId)).to.deep.equal(balanceBefore);
    expect(await reservations(t.redis).heldByCall(fx.accountId, callSid)).to.equal(heldBefore);
  });

  it("when the platform admin key reports a final status, then it is accepted like Twilio's signature and the close-out is queued", async () => {
    const { callSid, callId } = await ringingCall();
    const res = await postForm(t, "/call_status", status(callSid), { token: null, headers: { authorization: `Bearer ${TEST_ADMIN_KEY}` } });
    expect(res.status, res.text).to.equal(200);
    expect(JSON.parse(res.text)).to.deep.equal({ success: true, callId, outcome: "closed-not-connected" });
    expect((await closeOutJob(callId))?.data).to.include({ endedReason: "not-connected", source: "status-callback" });
    expect(await CallStatusReportModel.findById(callId).lean()).to.include({ callStatus: "completed", durationSeconds: 7 });
  });
});

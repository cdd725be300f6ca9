import { expect } from "chai";
import { admitCall, openStream, type AdmittedCall } from "../../media-worker/simulator/simulate-call.js";
import { OpenCalls } from "../../schema/billing/open-calls.js";
import { AccountModel } from "../../schema/models/account.model.js";
import { CallModel, callIdForSid } from "../../schema/models/call.model.js";
import { createFixture, type Fixture } from "../helpers/fixtures.js";
import { gqlOk } from "../helpers/graphql.js";
import { useMediaStack } from "../helpers/media-stack.js";
import { reservations, simulatorTarget, waitFor, waitForClosedCall } from "../helpers/media.js";
import { inboundCallFields, parseStreamTwiml, postForm, storedCall } from "../helpers/twilio.js";

const FIRST_MINUTE = 150_000;

describe("POST /inbound_call: concurrent calls per account (maxConcurrentCalls)", function () {
  this.timeout(30_000);
  const stack = useMediaStack();
  let fx: Fixture;

  beforeEach(async () => {
    fx = await createFixture({ balanceMicros: 50_000_000 });
  });

  const admit = () => admitCall(simulatorTarget(stack.t, stack.media), { to: fx.number });
  const held = () => reservations(stack.t.redis).reservedMicros(fx.accountId);

  /** Posts a new call and checks it was refused for the limit, leaving no trace at all. */
  async function expectRefused(fields = inboundCallFields(fx.number)) {
    const res = await postForm(stack.t, "/inbound_call", fields);
    expect(res.status, res.text).to.equal(429);
    expect(res.contentType).to.match(/^application\/json/);
    expect(JSON.parse(res.text)).to.deep.include({ success: false, code: "CONCURRENCY_LIMIT" });
    const callId = String(callIdForSid(fields.CallSid));
    expect(await reservations(stack.t.redis).heldByCall(fx.accountId, fields.CallSid)).to.equal(0);
    expect(await stack.t.app.admissions.get(callId)).to.equal(null);
    expect(await stack.t.app.admissions.isPending(callId)).to.equal(false);
    expect(await new OpenCalls(stack.t.redis).isWatched(callId)).to.equal(false);
    // Nothing was queued that could write it later: still absent after the drain's first chance.
    await new Promise((r) => setTimeout(r, 300));
    expect(await CallModel.findById(callId).lean()).to.equal(null);
    return fields;
  }

  it("when the account has 10 calls in progress, then the 11th answers 429 CONCURRENCY_LIMIT with no hold, admission or Call; once one is closed out, an 11th is admitted", async () => {
    // One call streams through the worker, so that it ends the real way: stop, close-out, release.
    const target = simulatorTarget(stack.t, stack.media);
    const streamed = await admit();
    const client = await openStream(target, streamed, { mediaUrl: stack.media.mediaUrl });
    const others: AdmittedCall[] = [];
    for (let i = 0; i < 9; i++) others.push(await admit());
    expect(await held()).to.equal(10 * FIRST_MINUTE);

    await expectRefused();
    expect(await held()).to.equal(10 * FIRST_MINUTE);

    client.sendStop();
    await client.closed;
    expect(await waitForClosedCall(streamed.callId)).to.include({ status: "completed", endedReason: "caller-hangup" });
    // The close-out released the call's hold, after its charge: the count fell with it.
    expect(await reservations(stack.t.redis).heldByCall(fx.accountId, streamed.callSid)).to.equal(0);
    const eleventh = await admit();
    expect(await storedCall(eleventh.callSid)).to.include({ status: "ringing" });
    await expectRefused();
    expect(await held()).to.equal(10 * FIRST_MINUTE);
  });

  it("when a call admitted before is retried at the limit, then it is answered from its admission; a refused call's retry is refused again", async () => {
    const first = inboundCallFields(fx.number);
    const answered = await postForm(stack.t, "/inbound_call", first);
    expect(answered.status).to.equal(200);
    for (let i = 0; i < 9; i++) await admit();
    const retry = await postForm(stack.t, "/inbound_call", first);
    expect(retry.status).to.equal(200);
    expect(parseStreamTwiml(retry.text).params.callId).to.equal(parseStreamTwiml(answered.text).params.callId);
    const refused = await expectRefused();
    await expectRefused(refused);
    expect(await held()).to.equal(10 * FIRST_MINUTE);
  });

  it("when 25 calls arrive at once, then exactly 10 are admitted and the others hold nothing", async () => {
    const sent = Array.from({ length: 25 }, () => inboundCallFields(fx.number));
    const answers = await Promise.all(sent.map((f) => postForm(stack.t, "/inbound_call", f)));
    expect(answers.filter((a) => a.status === 200)).to.have.length(10);
    expect(answers.filter((a) => a.status === 429)).to.have.length(15);
    expect(await held()).to.equal(10 * FIRST_MINUTE);
    const refusedIds = sent.filter((_, i) => answers[i]!.status === 429).map((f) => callIdForSid(f.CallSid));
    await new Promise((r) => setTimeout(r, 300));
    expect(await CallModel.countDocuments({ _id: { $in: refusedIds } })).to.equal(0);
  });

  it("when an admin changes the account's limit, then the next call obeys the new one at once", async () => {
    const setLimit = (maxConcurrentCalls: number | null) =>
      gqlOk(
        stack.t,
        `mutation ($id: ID, $input: UpdateAccountInput!) { updateAccount(id: $id, input: $input) { limits { maxConcurrentCalls } } }`,
        {
          id: String(fx.accountId),
          input: { limits: { maxConcurrentCalls } },
        },
      );
    expect((await setLimit(2)).updateAccount.limits.maxConcurrentCalls).to.equal(2);
    await admit();
    await admit();
    await expectRefused();
    await setLimit(3);
    await admit();
    await expectRefused();
    // null: back to the default of 10.
    expect((await setLimit(null)).updateAccount.limits.maxConcurrentCalls).to.equal(10);
    await admit();
    expect(await AccountModel.findById(fx.accountId).lean()).to.have.nested.property("limits.maxConcurrentCalls", null);
    await waitFor("the four calls to be held", async () => (await held()) === 4 * FIRST_MINUTE);
  });
});

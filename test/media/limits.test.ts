import { expect } from "chai";
import { goodbyeTones, renderTones, toFramePayloads } from "../../media-worker/audio/tone.js";
import { SAFETY_MS } from "../../media-worker/session/call-budget.js";
import { SimulatorError, admitCall, simulateCall, type SimulatedCall } from "../../media-worker/simulator/simulate-call.js";
import { ledger } from "../../schema/ledger/ledger.service.js";
import { startTestApp, TEST_AUTH_TOKEN, type TestApp } from "../helpers/app.js";
import { FakeTwilioRest } from "../helpers/fake-twilio.js";
import { createFixture } from "../helpers/fixtures.js";
import { gqlOk } from "../helpers/graphql.js";
import { chargesFor, reservations, simulatorTarget, startTestMedia, waitFor, waitForClosedCall, type TestMedia } from "../helpers/media.js";

/** $1.80 a minute: $0.30 buys 10 seconds, so balance cutoffs happen within seconds. */
const RATE_PER_MINUTE = 1_800_000;
const PER_SECOND = RATE_PER_MINUTE / 60;
const THIRTY_CENTS = 300_000;
/**
 * Whole-millisecond rounding where a lower bound on timing is checked: timers (Node's may fire up
 * to a millisecond early), the simulator's mark timers, and connected time, rounded up at each end.
 */
const TIMER_SLACK_MS = 5;

describe("media worker: balance and duration limits", function () {
  this.timeout(30_000);
  let twilioRest: FakeTwilioRest;
  let media: TestMedia;

  before(async () => {
    twilioRest = await FakeTwilioRest.start(TEST_AUTH_TOKEN);
    media = await startTestMedia(twilioRest.url);
  });
  after(async () => {
    await media.close();
    await twilioRest.close();
  });

  /** The caller heard the goodbye: buffered audio cleared, goodbye tones, a goodbye mark. */
  function expectGoodbye(result: SimulatedCall, goodbyeMs: number) {
    const goodbye = toFramePayloads(renderTones(goodbyeTones(goodbyeMs)));
    expect(result.client.clears).to.be.at.least(1);
    expect(result.client.marksRequested.at(-1)).to.equal("goodbye");
    expect(result.client.received.slice(-goodbye.length)).to.deep.equal(goodbye);
  }

  describe("when two calls share an account holding $0.30", () => {
    let t: TestApp;
    before(async () => {
      // The first "minute" held at admission is 5 s here, so $0.30 admits exactly two calls.
      t = await startTestApp({ MIN_BALANCE_SECONDS: "5" });
    });
    after(async () => {
      await t.close();
    });

    it("then both are admitted, a third is refused, both end by the balance cutoff and the balance stays above minus one second per call", async () => {
      const fx = await createFixture({ balanceMicros: THIRTY_CENTS, ratePerMinuteMicros: RATE_PER_MINUTE });
      let third: unknown = null;
      let started = 0;
      const talk = () =>
        simulateCall({
          ...simulatorTarget(t, media),
          to: fx.number,
          durationMs: 15_000,
          onStarted: async () => {
            started++;
            if (started === 2) {
              third = await admitCall(simulatorTarget(t, media), { to: fx.number }).catch((err: unknown) => err);
            }
          },
        });
      const results = await Promise.all([talk(), talk()]);

      expect(third).to.be.instanceOf(SimulatorError);
      expect(third).to.include({ status: 402, code: "INSUFFICIENT_BALANCE" });
      for (const r of results) {
        expect(r.endedByServer).to.equal(true);
        expectGoodbye(r, media.config.goodbyeMs);
        const closed = await waitForClosedCall(r.callId);
        expect(closed).to.include({ status: "completed", endedReason: "insufficient-balance" });
        // It used the time it had paid for, and no more than one extra second.
        expect(closed.billedSeconds).to.be.within(4, 6);
        expect(await chargesFor(r.callId)).to.have.length(1);
        await waitFor("hang-up", () => twilioRest.hangUpsFor(r.callSid).length === 1);
        expect(twilioRest.hangUpsFor(r.callSid)[0]!.fields).to.deep.equal({ Status: "completed" });
      }
      const { balanceMicros } = await ledger.balance(fx.accountId);
      expect(balanceMicros).to.be.at.least(-2 * PER_SECOND);
      expect(await reservations(media.redis).reservedMicros(fx.accountId)).to.equal(0);
    });
  });

  describe("when a call outlives its first reservation", () => {
    let t: TestApp;
    before(async () => {
      t = await startTestApp({ MIN_BALANCE_SECONDS: "2" });
    });
    after(async () => {
      await t.close();
    });

    it("then it extends its hold in chunks while the money lasts, then says goodbye and hangs up", async () => {
      // $0.15 = 5 s: admitted on 2 s, extended by a 2 s chunk once, refused the next.
      const fx = await createFixture({ balanceMicros: 150_000, ratePerMinuteMicros: RATE_PER_MINUTE });
      const result = await simulateCall({ ...simulatorTarget(t, media), to: fx.number, durationMs: 15_000 });
      expect(result.endedByServer).to.equal(true);
      expectGoodbye(result, media.config.goodbyeMs);
      const closed = await waitForClosedCall(result.callId);
      const connectedMs = closed.endedAt!.getTime() - closed.answeredAt!.getTime();
      expect(closed.endedReason).to.equal("insufficient-balance");
      expect(connectedMs).to.be.greaterThan(2_000 + 1_000);
      expect(closed.billedSeconds).to.be.at.most(5);
      expect((await ledger.balance(fx.accountId)).balanceMicros).to.be.at.least(0);
    });
  });

  describe("when the agent's own maximum call duration is lower than the platform's", () => {
    let t: TestApp;
    before(async () => {
      t = await startTestApp();
    });
    after(async () => {
      await t.close();
    });

    it("then the call set through the API ends at the agent's maximum: goodbye, hang-up through Twilio, billed for its connected time", async () => {
      const fx = await createFixture({ balanceMicros: 5_000_000 });
      const AGENT_MAX_SECONDS = 10;
      const updated = await gqlOk(
        t,
        `mutation ($id: ID!, $input: UpdateAgentInput!) { updateAgent(id: $id, input: $input) { maxCallDurationSeconds } }`,
        {
          id: String(fx.agentId),
          input: { maxCallDurationSeconds: AGENT_MAX_SECONDS },
        },
      );
      expect(updated.updateAgent.maxCallDurationSeconds).to.equal(AGENT_MAX_SECONDS);
      // The platform cap (MAX_CALL_SECONDS) is far off, and the caller would stay on for 20 s.
      expect(media.config.maxCallSeconds).to.be.above(3_600);
      const result = await simulateCall({ ...simulatorTarget(t, media), to: fx.number, durationMs: 20_000 });
      expect(result.endedByServer).to.equal(true);
      expectGoodbye(result, media.config.goodbyeMs);
      const closed = await waitForClosedCall(result.callId);
      expect(closed).to.include({ status: "completed", endedReason: "max-duration" });
      const connectedMs = closed.endedAt!.getTime() - closed.answeredAt!.getTime();
      // The goodbye begins GOODBYE_MS plus the safety margin before the agent's maximum (timers
      // fire late on a busy machine, never early) and the call ends once it has played.
      expect(connectedMs).to.be.at.least(AGENT_MAX_SECONDS * 1000 - SAFETY_MS - TIMER_SLACK_MS);
      expect(connectedMs, "ended by the agent's maximum, long before the caller would have hung up").to.be.below(15_000);
      expect(closed.billedSeconds).to.equal(Math.ceil(connectedMs / 1000));
      expect(closed.costMicros).to.equal(closed.billedSeconds * 2_500);
      expect(await chargesFor(result.callId)).to.have.length(1);
      const hangUps = await waitFor(
        "hang-up",
        () => twilioRest.hangUpsFor(result.callSid).length > 0 && twilioRest.hangUpsFor(result.callSid),
      );
      expect(hangUps.map((h) => h.fields)).to.deep.equal([{ Status: "completed" }]);
    });
  });

  describe("when the maximum call duration is reached", () => {
    let t: TestApp;
    let capped: TestMedia;
    before(async () => {
      t = await startTestApp();
      capped = await startTestMedia(twilioRest.url, { MAX_CALL_SECONDS: "2" });
    });
    after(async () => {
      await capped.close();
      await t.close();
    });

    it("then the caller hears the goodbye and the worker hangs up through Twilio's REST API", async () => {
      const fx = await createFixture({ balanceMicros: 5_000_000 });
      const result = await simulateCall({ ...simulatorTarget(t, capped), to: fx.number, durationMs: 10_000 });
      expect(result.endedByServer).to.equal(true);
      expectGoodbye(result, capped.config.goodbyeMs);
      const hangUps = await waitFor(
        "hang-up",
        () => twilioRest.hangUpsFor(result.callSid).length > 0 && twilioRest.hangUpsFor(result.callSid),
      );
      expect(hangUps).to.deep.equal([
        {
          accountSid: result.accountSid,
          callSid: result.callSid,
          fields: { Status: "completed" },
          user: capped.config.twilioAccountSid,
          password: TEST_AUTH_TOKEN,
        },
      ]);
      const closed = await waitForClosedCall(result.callId);
      expect(closed).to.include({ status: "completed", endedReason: "max-duration" });
      // The goodbye begins GOODBYE_MS plus the safety margin before the 2 s maximum and ends when
      // its mark comes back; how late timers fire on a busy machine moves the end, so the bill is
      // checked against the connected time, not a figure.
      const connectedMs = closed.endedAt!.getTime() - closed.answeredAt!.getTime();
      expect(connectedMs).to.be.at.least(2_000 - SAFETY_MS - TIMER_SLACK_MS);
      expect(connectedMs, "ended by the maximum, long before the caller would have hung up").to.be.below(6_000);
      expect(closed.billedSeconds).to.equal(Math.ceil(connectedMs / 1000));
      expect(closed.costMicros).to.equal(closed.billedSeconds * 2_500);
      expect(await chargesFor(result.callId)).to.have.length(1);
    });
  });
});

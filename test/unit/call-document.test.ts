// The webhook writes each new call's document without mongoose's per-document machinery
// (newCallDocument). These tests hold it to mongoose: the same document, refused for the same inputs.
import { expect } from "chai";
import { Types } from "mongoose";
import { CallModel, MAX_IDENTITY_LENGTH, newCallDocument, type NewCallFields } from "../../schema/models/call.model.js";

const fields = (over: Partial<NewCallFields> = {}): NewCallFields => ({
  _id: new Types.ObjectId(),
  callSid: `CA${"1".repeat(32)}`,
  accountId: new Types.ObjectId(),
  agentId: new Types.ObjectId(),
  from: "+14155550100",
  to: "+14155550199",
  forwardedFrom: null,
  externalCallId: null,
  twilioAccountSid: `AC${"0".repeat(32)}`,
  ratePerMinuteMicros: 150_000,
  startedAt: new Date("2026-12-08T01:00:00Z"),
  ...over,
});

/** What mongoose would store for these fields: the document with its defaults, plus the timestamps. */
async function mongooseDocument(f: NewCallFields, now: Date): Promise<Record<string, unknown>> {
  const doc = new CallModel({ ...f, status: "ringing" });
  await doc.validate();
  return { ...doc.toObject(), createdAt: now, updatedAt: now };
}

describe("newCallDocument", () => {
  for (const [label, over] of [
    ["plain fields", {}],
    ["a forwarded call with an external id", { forwardedFrom: "+14155550123", externalCallId: "crm-42" }],
    ["no caller id and no Twilio account", { from: "", twilioAccountSid: null }],
  ] as const) {
    it(`when a call has ${label}, then the document equals the one mongoose would build, every default included`, async () => {
      const f = fields(over);
      const now = new Date();
      expect(newCallDocument(f, now)).to.deep.equal(await mongooseDocument(f, now));
    });
  }

  for (const [label, over] of [
    ["a To longer than the identity limit", { to: "1".repeat(MAX_IDENTITY_LENGTH + 1) }],
    ["a From longer than the identity limit", { from: "1".repeat(MAX_IDENTITY_LENGTH + 1) }],
    ["a ForwardedFrom longer than the identity limit", { forwardedFrom: "1".repeat(MAX_IDENTITY_LENGTH + 1) }],
    ["a CallSid over 64 characters", { callSid: "C".repeat(65) }],
    ["an external id over 256 characters", { externalCallId: "x".repeat(257) }],
    ["a Twilio account over 64 characters", { twilioAccountSid: "A".repeat(65) }],
    ["an empty To", { to: "" }],
    ["a negative rate", { ratePerMinuteMicros: -1 }],
  ] as const) {
    it(`when a call has ${label}, then both refuse it with a ValidationError`, async () => {
      const f = fields(over);
      let ours: unknown = null;
      try {
        newCallDocument(f);
      } catch (err) {
        ours = err;
      }
      expect((ours as Error | null)?.name).to.equal("ValidationError");
      const theirs = await mongooseDocument(f, new Date()).then(
        () => null,
        (err: unknown) => err,
      );
      expect((theirs as Error | null)?.name).to.equal("ValidationError");
    });
  }

  it("when the limits sit exactly at the schema's maximum, then both accept the call", async () => {
    const f = fields({ to: "1".repeat(MAX_IDENTITY_LENGTH), callSid: "C".repeat(64), externalCallId: "x".repeat(256) });
    const now = new Date();
    expect(newCallDocument(f, now)).to.deep.equal(await mongooseDocument(f, now));
  });
});

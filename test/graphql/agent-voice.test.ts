import { expect } from "chai";
import { Types } from "mongoose";
import { AgentModel } from "../../schema/models/agent.model.js";
import { CallModel } from "../../schema/models/call.model.js";
import { startTestApp, type TestApp } from "../helpers/app.js";
import { uniqueCallSid } from "../helpers/fixtures.js";
import { createAccount, createAgent, gqlError, gqlOk, type ApiAccount } from "../helpers/graphql.js";

const VOICE = `engine voice greeting intents { phrases reply endCall } fallbackReply endCallPhrases silenceReminderSeconds silenceTimeoutSeconds maxCallDurationSeconds`;
const CREATE = `mutation ($input: CreateAgentInput!) { createAgent(input: $input) { id ${VOICE} } }`;
const UPDATE = `mutation ($id: ID!, $input: UpdateAgentInput!) { updateAgent(id: $id, input: $input) { id ${VOICE} } }`;

describe("GraphQL agent voice configuration", () => {
  let t: TestApp;
  let a: ApiAccount;

  before(async () => {
    t = await startTestApp();
  });
  after(async () => t.close());
  beforeEach(async () => {
    a = await createAccount(t);
  });

  it("when an agent is created without voice settings, then it reads the defaults and the engine the platform picks", async () => {
    const data = await gqlOk(t, CREATE, { input: { name: "Desk" } }, { key: a.key });
    expect(data.createAgent).to.deep.include({
      engine: "LOCAL",
      voice: "alloy",
      intents: [],
      fallbackReply: "Sorry, I didn't catch that. Could you say it another way?",
      endCallPhrases: ["goodbye", "bye bye"],
      silenceReminderSeconds: 10,
      silenceTimeoutSeconds: 30,
      maxCallDurationSeconds: 600,
    });
    const keyed = await startTestApp({ OPENAI_API_KEY: "sk-configured" });
    try {
      const read = await gqlOk(keyed, `query ($id: ID!) { agent(id: $id) { engine } }`, { id: data.createAgent.id }, { key: a.key });
      expect(read.agent.engine).to.equal("OPENAI_REALTIME");
    } finally {
      await keyed.close();
    }
  });

  it("when an agent is created with intents and limits, then they are stored normalized and read back", async () => {
    const input = {
      name: "Clinic",
      engine: "LOCAL",
      voice: "en-gb+f3",
      intents: [
        { phrases: ["Opening hours?", "When are you open"], reply: "Nine to five." },
        { phrases: ["That's all"], reply: "Goodbye!", endCall: true },
      ],
      fallbackReply: "Pardon?",
      endCallPhrases: ["Bye now"],
      silenceReminderSeconds: 5,
      silenceTimeoutSeconds: 20,
    };
    const data = await gqlOk(t, CREATE, { input }, { key: a.key });
    expect(data.createAgent).to.deep.include({
      engine: "LOCAL",
      voice: "en-gb+f3",
      intents: [
        { phrases: ["opening hours", "when are you open"], reply: "Nine to five.", endCall: false },
        { phrases: ["that's all"], reply: "Goodbye!", endCall: true },
      ],
      fallbackReply: "Pardon?",
      endCallPhrases: ["bye now"],
      silenceReminderSeconds: 5,
      silenceTimeoutSeconds: 20,
    });
    const stored = await AgentModel.findById(data.createAgent.id).lean();
    expect(stored).to.include({ engine: "LOCAL", silenceTimeoutSeconds: 20 });
  });

  const invalid: [string, Record<string, unknown>, RegExp][] = [
    ["a voice the engine does not have", { engine: "OPENAI_REALTIME", voice: "en-us" }, /^voice must be one of alloy/],
    ["an intent without phrases", { intents: [{ phrases: [], reply: "Hi" }] }, /^intents\[0\]\.phrases must have at least one phrase/],
    [
      "a phrase used twice",
      { intents: [{ phrases: ["hours"], reply: "a" }], endCallPhrases: ["Hours"] },
      /^endCallPhrases\[0\] repeats "hours"/,
    ],
    [
      "a reminder not before the timeout",
      { silenceReminderSeconds: 40, silenceTimeoutSeconds: 30 },
      /^silenceReminderSeconds must be shorter/,
    ],
    ["a silence timeout of 0", { silenceTimeoutSeconds: 0 }, /^silenceTimeoutSeconds must be between 1 and 3600/],
    ["an empty fallback", { fallbackReply: " " }, /^fallbackReply must not be empty/],
  ];
  for (const [what, patch, message] of invalid) {
    it(`when an agent is created with ${what}, then it is BAD_USER_INPUT naming the field and nothing is written`, async () => {
      const error = await gqlError(t, "BAD_USER_INPUT", CREATE, { input: { name: "Bad", ...patch } }, { key: a.key });
      expect(error.message).to.match(message);
      expect(await AgentModel.countDocuments({ accountId: a.id })).to.equal(0);
    });
  }

  it("when an update names some voice settings, then the others keep their values and the rules apply to the whole", async () => {
    const id = await createAgent(t, a.key);
    await gqlOk(t, UPDATE, { id, input: { silenceTimeoutSeconds: 60, intents: [{ phrases: ["hours"], reply: "Nine." }] } }, { key: a.key });
    const data = await gqlOk(t, UPDATE, { id, input: { silenceReminderSeconds: 45 } }, { key: a.key });
    expect(data.updateAgent).to.deep.include({
      silenceReminderSeconds: 45,
      silenceTimeoutSeconds: 60,
      intents: [{ phrases: ["hours"], reply: "Nine.", endCall: false }],
    });
    const error = await gqlError(t, "BAD_USER_INPUT", UPDATE, { id, input: { silenceTimeoutSeconds: 30 } }, { key: a.key });
    expect(error.message).to.match(/^silenceReminderSeconds must be shorter/);
    expect(await AgentModel.findById(id).lean()).to.include({ silenceTimeoutSeconds: 60 });
  });

  it("when the engine changes without a voice, then an OpenAI voice gives way to the local default", async () => {
    const id = await createAgent(t, a.key);
    const data = await gqlOk(t, UPDATE, { id, input: { engine: "LOCAL" } }, { key: a.key });
    expect(data.updateAgent).to.include({ engine: "LOCAL", voice: "" });
  });

  it("when a call is read, then its turns and usage are there as the worker stored them", async () => {
    const id = await createAgent(t, a.key);
    const at = new Date("2026-03-01T12:00:01.000Z");
    const call = await CallModel.create({
      callSid: uniqueCallSid(),
      accountId: new Types.ObjectId(a.id),
      agentId: new Types.ObjectId(id),
      to: "+14155550123",
      status: "completed",
      startedAt: at,
      transcript: [
        { role: "agent", kind: "speech", text: "Hi!", at, offsetMs: 0, interrupted: true },
        { role: "caller", kind: "dtmf", text: "5", at: new Date(at.getTime() + 900), offsetMs: 900 },
      ],
      usage: { engine: "LOCAL", provider: "local:espeak-ng+pocketsphinx", audioInSeconds: 3.2, audioOutSeconds: 1.5 },
    });
    const data = await gqlOk(
      t,
      `query ($id: ID!) { call(id: $id) { transcript turns { role kind text at offsetMs interrupted } usage { engine provider audioInSeconds audioOutSeconds inputTokens outputTokens } } }`,
      { id: String(call._id) },
      { key: a.key },
    );
    expect(data.call).to.deep.equal({
      transcript: "agent: Hi!\ncaller: 5",
      turns: [
        { role: "agent", kind: "speech", text: "Hi!", at: "2026-03-01T12:00:01.000Z", offsetMs: 0, interrupted: true },
        { role: "caller", kind: "dtmf", text: "5", at: "2026-03-01T12:00:01.900Z", offsetMs: 900, interrupted: false },
      ],
      usage: {
        engine: "LOCAL",
        provider: "local:espeak-ng+pocketsphinx",
        audioInSeconds: 3.2,
        audioOutSeconds: 1.5,
        inputTokens: null,
        outputTokens: null,
      },
    });
  });
});

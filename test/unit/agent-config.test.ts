import { expect } from "chai";
import {
  AgentConfigError,
  DEFAULT_VOICE_CONFIG,
  normalizePhrase,
  resolveEngine,
  validateAgentConfig,
  type AgentVoiceConfigInput,
} from "../../schema/models/agent-config.js";
import { AgentModel } from "../../schema/models/agent.model.js";
import { Types } from "mongoose";

function refusal(input: AgentVoiceConfigInput, current = DEFAULT_VOICE_CONFIG): AgentConfigError {
  try {
    validateAgentConfig(input, current);
  } catch (err) {
    if (err instanceof AgentConfigError) return err;
    throw err;
  }
  throw new Error("expected the configuration to be refused");
}

describe("agent voice configuration", () => {
  it("when nothing is given, then the defaults apply: reminder after 10 s, hang-up after 30 s, platform engine", () => {
    const config = validateAgentConfig({});
    expect(config).to.deep.equal(DEFAULT_VOICE_CONFIG);
    expect(config.silenceReminderSeconds).to.equal(10);
    expect(config.silenceTimeoutSeconds).to.equal(30);
    expect(config.engine).to.equal(null);
  });

  it("when no engine is chosen, then OPENAI_REALTIME is used with a key and LOCAL without", () => {
    expect(resolveEngine(null, true)).to.equal("OPENAI_REALTIME");
    expect(resolveEngine(null, false)).to.equal("LOCAL");
    expect(resolveEngine("LOCAL", true)).to.equal("LOCAL");
    expect(resolveEngine("OPENAI_REALTIME", false)).to.equal("OPENAI_REALTIME");
  });

  it("when intents are given, then phrases are normalized and endCall defaults to false", () => {
    const config = validateAgentConfig({
      intents: [{ phrases: ["  Opening HOURS? ", "When are you open"], reply: " We open at nine. " }],
      endCallPhrases: ["Bye, bye!"],
    });
    expect(config.intents).to.deep.equal([{ phrases: ["opening hours", "when are you open"], reply: "We open at nine.", endCall: false }]);
    expect(config.endCallPhrases).to.deep.equal(["bye bye"]);
  });

  it("when normalizing, then punctuation and case go and apostrophes stay", () => {
    expect(normalizePhrase("  I’d like to BOOK, please!! ")).to.equal("i'd like to book please");
  });

  const bad: [string, AgentVoiceConfigInput, RegExp][] = [
    ["engine", { engine: "GPT" as never }, /engine must be one of LOCAL, OPENAI_REALTIME/],
    ["voice", { engine: "OPENAI_REALTIME", voice: "en-us" }, /voice must be one of alloy/],
    ["voice", { engine: "LOCAL", voice: "alloy!" }, /espeak-ng voice/],
    ["greeting", { greeting: "x".repeat(1001) }, /at most 1000/],
    ["intents[0].phrases", { intents: [{ phrases: [], reply: "hi" }] }, /at least one phrase/],
    ["intents[0].phrases[0]", { intents: [{ phrases: ["?!"], reply: "hi" }] }, /must contain words/],
    ["intents[0].reply", { intents: [{ phrases: ["hours"], reply: "  " }] }, /must not be empty/],
    [
      "intents[1].phrases[0]",
      {
        intents: [
          { phrases: ["hours"], reply: "a" },
          { phrases: ["Hours!"], reply: "b" },
        ],
      },
      /repeats "hours"/,
    ],
    ["endCallPhrases[0]", { intents: [{ phrases: ["goodbye now"], reply: "a" }], endCallPhrases: ["goodbye now"] }, /repeats/],
    ["fallbackReply", { fallbackReply: "" }, /must not be empty/],
    ["silenceTimeoutSeconds", { silenceTimeoutSeconds: 0 }, /between 1 and 3600/],
    ["silenceTimeoutSeconds", { silenceTimeoutSeconds: 2.5 }, /whole number/],
    ["silenceReminderSeconds", { silenceReminderSeconds: 30, silenceTimeoutSeconds: 30 }, /shorter than silenceTimeoutSeconds/],
    ["maxCallDurationSeconds", { maxCallDurationSeconds: 5 }, /between 10 and 14400/],
    ["intents", { intents: Array.from({ length: 51 }, (_, i) => ({ phrases: [`phrase ${i}`], reply: "r" })) }, /at most 50/],
  ];
  for (const [field, input, message] of bad) {
    it(`when ${field} is invalid (${message.source}), then it is refused naming the field`, () => {
      const err = refusal(input);
      expect(err.field).to.equal(field);
      expect(err.code).to.equal("INVALID_AGENT_CONFIG");
      expect(err.message).to.match(message);
    });
  }

  it("when the reminder is 0, then no reminder is configured and any timeout is accepted", () => {
    const config = validateAgentConfig({ silenceReminderSeconds: 0, silenceTimeoutSeconds: 1 });
    expect(config.silenceReminderSeconds).to.equal(0);
    expect(config.silenceTimeoutSeconds).to.equal(1);
  });

  it("when an update names some fields, then the others keep their current values", () => {
    const current = validateAgentConfig({ greeting: "Hi", silenceTimeoutSeconds: 60 });
    const next = validateAgentConfig({ silenceReminderSeconds: 20 }, current);
    expect(next.greeting).to.equal("Hi");
    expect(next.silenceTimeoutSeconds).to.equal(60);
    expect(next.silenceReminderSeconds).to.equal(20);
  });

  it("when the engine changes without a voice, then a voice the new engine cannot use resets to the default", () => {
    const current = validateAgentConfig({ engine: "OPENAI_REALTIME", voice: "coral" });
    expect(validateAgentConfig({ engine: "LOCAL" }, current).voice).to.equal("");
    expect(validateAgentConfig({ engine: "LOCAL", voice: "en-gb+f3" }, current).voice).to.equal("en-gb+f3");
  });

  it("when an agent document with an invalid configuration is saved, then nothing is written", async () => {
    const accountId = new Types.ObjectId();
    const doc = new AgentModel({ accountId, name: "Bad", silenceReminderSeconds: 40, silenceTimeoutSeconds: 30 });
    let error: unknown = null;
    await doc.save().catch((err: unknown) => (error = err));
    expect(String(error)).to.match(/silenceReminderSeconds must be shorter/);
    expect(await AgentModel.countDocuments({ accountId })).to.equal(0);
  });

  it("when an agent document is saved, then its phrases are stored normalized", async () => {
    const doc = await AgentModel.create({
      accountId: new Types.ObjectId(),
      name: "Front desk",
      intents: [{ phrases: ["Opening Hours?"], reply: "Nine to five." }],
    });
    const stored = await AgentModel.findById(doc._id).lean();
    expect(stored?.intents[0]?.phrases).to.deep.equal(["opening hours"]);
    expect(stored?.intents[0]?.endCall).to.equal(false);
    expect(stored?.engine).to.equal(null);
    expect(stored?.endCallPhrases).to.deep.equal(["goodbye", "bye bye"]);
  });
});

describe("agent documents and voices", () => {
  it("when a LOCAL agent is saved with the default OpenAI voice, then it keeps the engine's default voice instead", async () => {
    const doc = await AgentModel.create({ accountId: new Types.ObjectId(), name: "Local", engine: "LOCAL" });
    expect(doc.voice).to.equal("");
    expect((await AgentModel.findById(doc._id).lean())?.voice).to.equal("");
  });
});

import { expect } from "chai";
import { performance } from "node:perf_hooks";
import { FRAME_BYTES, FRAME_MS, MULAW_SILENCE } from "../../media-worker/audio/mulaw.js";
import { LINES } from "../../media-worker/conversation/lines.js";
import { loadEngineConfig } from "../../media-worker/engines/engine-config.js";
import { EspeakSpeech } from "../../media-worker/engines/local/speech.js";
import { DEFAULT_TURN_OPTIONS, TurnDetector } from "../../media-worker/engines/local/turn-detector.js";
import { SAFETY_MS } from "../../media-worker/session/call-budget.js";
import { callerSpeech } from "../helpers/caller-audio.js";
import { FakeChatCompletions } from "../helpers/fake-chat-completions.js";
import {
  endedCall,
  eventually,
  nothingLeftBehind,
  placeCall,
  startVoiceHarness,
  voiceAgent,
  type VoiceHarness,
} from "../helpers/voice-harness.js";

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
/**
 * Whole-millisecond rounding where a lower bound on timing is checked: timers (Node's may fire up
 * to a millisecond early), the simulator's mark timers, and connected time, rounded up at each end.
 */
const TIMER_SLACK_MS = 5;
const speech = new EspeakSpeech(loadEngineConfig({}).local);
/** The agent's voice when none is set: en-US → en-us. */
const render = (text: string) => speech.render(text, "en-us", { cache: true });

const HOURS = "We are open from nine to five, Monday to Friday.";
const intents = [
  { phrases: ["what are your opening hours"], reply: HOURS },
  { phrases: ["i want to book an appointment"], reply: "Sure. Which day suits you?" },
  { phrases: ["that is all thank you"], reply: "You're welcome. Goodbye!", endCall: true },
];

/**
 * Frames of `mulaw`, spoken after silence, that the local engine's turn detector needs to open the
 * caller's turn (the barge-in), with the worker's settings (LOCAL_BARGE_IN_MS unset).
 */
function framesToOpenTurn(mulaw: Buffer): number {
  const detector = new TurnDetector({ ...DEFAULT_TURN_OPTIONS, startMs: loadEngineConfig({}).local.bargeInMs });
  const silence = Buffer.alloc(FRAME_BYTES, MULAW_SILENCE);
  let ts = 0;
  for (let i = 0; i < 50; i++, ts += FRAME_MS) detector.push(silence, ts);
  for (let at = 0, n = 1; at < mulaw.length; at += FRAME_BYTES, n++, ts += FRAME_MS) {
    const frame = Buffer.alloc(FRAME_BYTES, MULAW_SILENCE);
    mulaw.copy(frame, 0, at, Math.min(at + FRAME_BYTES, mulaw.length));
    if (detector.push(frame, ts)?.kind === "turn-start") return n;
  }
  throw new Error("the turn detector never opens a turn on this audio");
}

/** Waits until the agent has been quiet for `ms` after having said something. */
async function agentDone(line: { received: { at: number }[]; receivedMs(): number }, firstAt: number): Promise<void> {
  await eventually(
    "the agent to finish speaking",
    () => line.received.length > 0 && performance.now() > firstAt + line.receivedMs() + 150,
    15_000,
  );
}

describe("local engine, through the call simulator against the real worker", function () {
  this.timeout(40_000);
  let h: VoiceHarness;

  before(async () => {
    // A caller line holding in stream time sends nothing: the worker must not take that for a dead stream.
    h = await startVoiceHarness({ LOCAL_TURN_SILENCE_MS: "400", STREAM_IDLE_TIMEOUT_MS: "30000" });
  });
  after(async () => h.close());
  afterEach(async () => {
    await h.hangUpAll();
    await nothingLeftBehind();
  });

  it("when the caller says an intent phrase, then its reply is spoken (audible, its full length) and both turns are in the transcript", async () => {
    const fixture = await voiceAgent({ engine: "LOCAL", greeting: "Hello, thanks for calling.", intents });
    const { call, line } = await placeCall(h, fixture);
    await eventually("the greeting", () => line.received.length > 0);
    const greeting = await render("Hello, thanks for calling.");
    await agentDone(line, line.received[0]!.at);
    expect(line.receivedMs()).to.equal(greeting.length / 8);

    await line.say(callerSpeech("what are your opening hours"));
    const reply = await render(HOURS);
    const before = line.received.length;
    await eventually("the reply to arrive in full", () => line.receivedMs() >= (greeting.length + reply.length) / 8, 10_000);
    const replyAudio = Buffer.concat(line.received.slice(before).map((r) => Buffer.from(r.payload, "base64")));
    expect(replyAudio.equals(reply)).to.equal(true);
    expect(line.audibleMs(line.received[before]!.at)).to.be.above(reply.length / 8 / 2);

    await sleep(200);
    line.hangUp();
    const stored = await endedCall(call.callId);
    expect(stored.endedReason).to.equal("caller-hangup");
    expect(stored.transcript.map((t) => [t.role, t.text])).to.deep.equal([
      ["agent", "Hello, thanks for calling."],
      ["caller", "what are your opening hours"],
      ["agent", HOURS],
    ]);
    const [, caller, agent] = stored.transcript;
    expect(caller!.offsetMs).to.be.below(agent!.offsetMs);
    expect(caller!.at.getTime()).to.be.below(agent!.at.getTime());
    expect(stored.usage?.engine).to.equal("LOCAL");
    expect(stored.usage?.provider).to.equal("local:espeak-ng+pocketsphinx");
    expect(stored.usage?.audioOutSeconds).to.equal((greeting.length + reply.length) / 8000);
    expect(stored.usage?.audioInSeconds).to.be.above(2);
  });

  it("when the caller says something that is no intent, then the fallback reply is spoken", async () => {
    const fixture = await voiceAgent({ engine: "LOCAL", greeting: "Hi.", intents, fallbackReply: "Sorry, could you repeat that?" });
    const { call, line } = await placeCall(h, fixture);
    await eventually("the greeting", () => line.received.length > 0);
    await agentDone(line, line.received[0]!.at);
    const before = line.receivedMs();
    await line.say(callerSpeech("the weather is nice today"));
    const fallback = await render("Sorry, could you repeat that?");
    await eventually("the fallback reply", () => line.receivedMs() - before >= fallback.length / 8, 10_000);
    line.hangUp();
    const stored = await endedCall(call.callId);
    expect(stored.transcript.map((t) => [t.role, t.text])).to.deep.equal([
      ["agent", "Hi."],
      ["caller", ""],
      ["agent", "Sorry, could you repeat that?"],
    ]);
  });

  it("when the caller talks over the agent, then the agent's audio is cleared within 300 ms on the simulator's clock and the turn is marked interrupted", async () => {
    const long =
      "Welcome to the clinic. Our team is here to help you with appointments, prescriptions, test results and any other questions you may have today.";
    const fixture = await voiceAgent({ engine: "LOCAL", greeting: long, intents });
    const { call, line } = await placeCall(h, fixture);
    await eventually("the greeting to be playing", () => line.received.length > 0);
    await sleep(1_000);
    // The line stops in stream time at the frame that opens the caller's turn: the clear must come
    // on the audio sent so far, however long the machine takes (the wall-clock reaction time is
    // measured by `npm run bench:engines`).
    const question = callerSpeech("what are your opening hours");
    const opensAt = framesToOpenTurn(question);
    expect(opensAt * FRAME_MS).to.be.at.most(300);
    void line.say(question, { holdAfterFrames: opensAt });
    await line.held();
    await eventually("a clear while the caller's stream stands at the turn's opening", () => line.client.clearTimes.length > 0, 10_000);
    line.resume();
    // The turn stopped: nothing more of it came, and the caller is answered.
    const reply = await render(HOURS);
    await eventually(
      "the reply",
      () => line.received.some((r) => r.at > line.client.clearTimes[0]!) && line.receivedMs(line.client.clearTimes[0]) >= reply.length / 8,
      10_000,
    );
    expect(line.receivedMs(line.client.clearTimes[0])).to.equal(reply.length / 8);
    line.hangUp();
    const stored = await endedCall(call.callId);
    expect(stored.transcript[0]).to.include({ role: "agent", interrupted: true });
    expect(stored.transcript.map((t) => t.text)).to.deep.equal([long, "what are your opening hours", HOURS]);
  });

  it("when the caller stays silent, then the agent reminds once and then says goodbye and hangs up", async () => {
    const fixture = await voiceAgent({ engine: "LOCAL", greeting: "Hi.", silenceReminderSeconds: 1, silenceTimeoutSeconds: 3 });
    const { call, line } = await placeCall(h, fixture);
    const close = await line.client.closed;
    expect(close.code).to.equal(1000);
    const stored = await endedCall(call.callId);
    expect(stored.endedReason).to.equal("silence-timeout");
    expect(stored.status).to.equal("completed");
    expect(stored.transcript.map((t) => t.text)).to.deep.equal(["Hi.", LINES.silenceReminder, LINES.silenceGoodbye]);
    const [greeting, reminder, goodbye] = stored.transcript;
    const [greetingMs, reminderMs, goodbyeMs] = (await Promise.all(["Hi.", LINES.silenceReminder, LINES.silenceGoodbye].map(render))).map(
      (a) => a.length / 8,
    );
    // Silence counts from the end of the greeting: 1 s to the reminder, 3 s to the goodbye (timers
    // fire late on a busy machine, never early; TIMER_SLACK_MS covers rounding to whole ms).
    expect(reminder!.offsetMs - greeting!.offsetMs).to.be.at.least(greetingMs! + 1_000 - TIMER_SLACK_MS);
    expect(goodbye!.offsetMs - greeting!.offsetMs).to.be.at.least(greetingMs! + 3_000 - TIMER_SLACK_MS);
    // The reminder does not restart the silence: the goodbye comes 2 s after it, not 3 s (both
    // timers are set at once, so load delays them alike; the margin is the second in between).
    expect(goodbye!.offsetMs - reminder!.offsetMs).to.be.below(3_000);
    expect(h.hangUps.filter((x) => x.callSid === call.callSid)).to.have.length(1);
    expect(line.receivedMs()).to.equal(greetingMs! + reminderMs! + goodbyeMs!);
  });

  it("when the caller says an end-call phrase, then the agent says goodbye and hangs up after it has played", async () => {
    const fixture = await voiceAgent({ engine: "LOCAL", greeting: "Hi.", intents, endCallPhrases: ["goodbye"] });
    const { call, line } = await placeCall(h, fixture);
    await eventually("the greeting", () => line.received.length > 0);
    await agentDone(line, line.received[0]!.at);
    // The phone goes on "playing" until the test lets the goodbye's mark come back.
    line.client.holdMarks = true;
    const marksBefore = line.client.marksRequested.length;
    await line.say(callerSpeech("goodbye"));
    const greetingMs = (await render("Hi.")).length / 8;
    const goodbyeMs = (await render(LINES.endCallGoodbye)).length / 8;
    await eventually(
      "the goodbye and its mark",
      () => line.receivedMs() >= greetingMs + goodbyeMs && line.client.marksRequested.length > marksBefore,
      10_000,
    );
    // Longer than the goodbye lasts: without its mark the call stays up (the wall-clock delay from
    // mark to hang-up is measured by `npm run bench:engines`).
    await sleep(goodbyeMs + 1_000);
    expect(h.hangUps.filter((x) => x.callSid === call.callSid)).to.have.length(0);
    expect(line.client.isOpen).to.equal(true);
    line.client.releaseMarks();
    const close = await line.client.closed;
    expect(close.code).to.equal(1000);
    const stored = await endedCall(call.callId);
    expect(stored.endedReason).to.equal("end-call-phrase");
    expect(stored.transcript.map((t) => [t.role, t.text])).to.deep.equal([
      ["agent", "Hi."],
      ["caller", "goodbye"],
      ["agent", LINES.endCallGoodbye],
    ]);
    expect(line.receivedMs()).to.equal(greetingMs + goodbyeMs);
    expect(h.hangUps.filter((x) => x.callSid === call.callSid)).to.have.length(1);
  });

  it("when an intent ends the call, then its reply plays and the agent hangs up", async () => {
    const fixture = await voiceAgent({ engine: "LOCAL", greeting: "Hi.", intents });
    const { call, line } = await placeCall(h, fixture);
    await eventually("the greeting", () => line.received.length > 0);
    await agentDone(line, line.received[0]!.at);
    await line.say(callerSpeech("that is all thank you"));
    await line.client.closed;
    const stored = await endedCall(call.callId);
    expect(stored.endedReason).to.equal("agent-ended");
    expect(stored.transcript.map((t) => t.text)).to.deep.equal(["Hi.", "that is all thank you", "You're welcome. Goodbye!"]);
  });

  it("when the caller presses keys, then they are recorded in the transcript", async () => {
    const fixture = await voiceAgent({ engine: "LOCAL", greeting: "Hi.", intents });
    const { call, line } = await placeCall(h, fixture);
    await eventually("the greeting", () => line.received.length > 0);
    line.client.sendDtmf("5");
    line.client.sendDtmf("#");
    await sleep(100);
    line.hangUp();
    const stored = await endedCall(call.callId);
    expect(stored.transcript.filter((t) => t.kind === "dtmf").map((t) => [t.role, t.text])).to.deep.equal([
      ["caller", "5"],
      ["caller", "#"],
    ]);
  });
});

const LLM_TIMEOUT_MS = 2_000;

describe("local engine with an LLM (OpenAI-compatible chat completions)", function () {
  this.timeout(40_000);
  let h: VoiceHarness;
  let llm: FakeChatCompletions;

  before(async () => {
    llm = await FakeChatCompletions.start();
    h = await startVoiceHarness({
      LOCAL_TURN_SILENCE_MS: "400",
      LLM_BASE_URL: llm.baseUrl,
      LLM_API_KEY: "llm-key",
      LLM_MODEL: "tiny-model",
      // The fake's first token comes within milliseconds; a stalled one must be given up on.
      LLM_TIMEOUT_MS: String(LLM_TIMEOUT_MS),
    });
  });
  after(async () => {
    await h.close();
    await llm.close();
  });
  afterEach(async () => {
    await h.hangUpAll();
    await nothingLeftBehind();
  });

  it("when the caller speaks, then the LLM gets the instructions and the conversation, and its streamed reply is spoken", async () => {
    llm.reply = "It is lovely outside. Anything else?";
    const fixture = await voiceAgent({ engine: "LOCAL", greeting: "Hi.", intents, instructions: "You are the front desk of a clinic." });
    const { call, line } = await placeCall(h, fixture);
    await eventually("the greeting", () => line.received.length > 0);
    await agentDone(line, line.received[0]!.at);
    const before = line.receivedMs();
    await line.say(callerSpeech("what are your opening hours"));
    const expected = (await render("It is lovely outside.")).length + (await render("Anything else?")).length;
    await eventually("the LLM's reply", () => line.receivedMs() - before >= expected / 8, 10_000);
    expect(line.receivedMs() - before).to.equal(expected / 8);
    line.hangUp();
    const stored = await endedCall(call.callId);

    const request = llm.requests[llm.requests.length - 1]!;
    expect(request.headers.authorization).to.equal("Bearer llm-key");
    expect(request.body.model).to.equal("tiny-model");
    expect(request.body.stream).to.equal(true);
    expect(request.body.messages).to.deep.equal([
      { role: "system", content: "You are the front desk of a clinic." },
      { role: "user", content: "what are your opening hours" },
    ]);
    expect(stored.transcript.map((t) => t.text)).to.deep.equal([
      "Hi.",
      "what are your opening hours",
      "It is lovely outside. Anything else?",
    ]);
    expect(stored.usage).to.include({ inputTokens: 42, outputTokens: 12, provider: "local:espeak-ng+pocketsphinx+llm:tiny-model" });
  });

  it("when the LLM fails, then the fallback reply is spoken", async () => {
    llm.failWith = 503;
    try {
      const fixture = await voiceAgent({ engine: "LOCAL", greeting: "Hi.", intents, fallbackReply: "Sorry, say that again?" });
      const { call, line } = await placeCall(h, fixture);
      await eventually("the greeting", () => line.received.length > 0);
      await agentDone(line, line.received[0]!.at);
      const before = line.receivedMs();
      await line.say(callerSpeech("what are your opening hours"));
      const fallback = await render("Sorry, say that again?");
      await eventually("the fallback", () => line.receivedMs() - before >= fallback.length / 8, 10_000);
      line.hangUp();
      const stored = await endedCall(call.callId);
      expect(stored.transcript.map((t) => t.text)).to.deep.equal(["Hi.", "what are your opening hours", "Sorry, say that again?"]);
    } finally {
      llm.failWith = null;
    }
  });

  it("when the LLM sends no token within LLM_TIMEOUT_MS, then the request is dropped and the fallback reply is spoken", async () => {
    llm.stall = true;
    try {
      const fixture = await voiceAgent({ engine: "LOCAL", greeting: "Hi.", intents, fallbackReply: "Sorry, one more time?" });
      const { call, line } = await placeCall(h, fixture);
      await eventually("the greeting", () => line.received.length > 0);
      await agentDone(line, line.received[0]!.at);
      const before = line.receivedMs();
      const requests = llm.requests.length;
      await line.say(callerSpeech("what are your opening hours"));
      await eventually("the request to the LLM", () => llm.requests.length > requests, 10_000);
      const fallback = await render("Sorry, one more time?");
      await eventually("the fallback", () => line.receivedMs() - before >= fallback.length / 8, 15_000);
      expect(llm.abandoned).to.equal(1);
      line.hangUp();
      const stored = await endedCall(call.callId);
      expect(stored.transcript.map((t) => t.text)).to.deep.equal(["Hi.", "what are your opening hours", "Sorry, one more time?"]);
      // The fallback waited for the timeout (timers fire late on a busy machine, never early), the
      // configured one rather than the 10 s default.
      const [, caller, agent] = stored.transcript;
      expect(agent!.offsetMs - caller!.offsetMs).to.be.at.least(LLM_TIMEOUT_MS);
      expect(agent!.offsetMs - caller!.offsetMs).to.be.below(loadEngineConfig({ LLM_BASE_URL: llm.baseUrl }).llm!.timeoutMs);
    } finally {
      llm.stall = false;
    }
  });
});

describe("local engine without its system tools", function () {
  this.timeout(20_000);
  let h: VoiceHarness;

  before(async () => {
    h = await startVoiceHarness({ ESPEAK_NG_BIN: "/nonexistent/espeak-ng", GOODBYE_MS: "300" });
  });
  after(async () => h.close());
  afterEach(async () => {
    await h.hangUpAll();
    await nothingLeftBehind();
  });

  it("when espeak-ng is missing, then the call ends engine-unavailable after the goodbye tone", async () => {
    const fixture = await voiceAgent({ engine: "LOCAL", greeting: "Hi." });
    const { call, line } = await placeCall(h, fixture);
    await line.client.closed;
    const stored = await endedCall(call.callId);
    expect(stored.endedReason).to.equal("engine-unavailable");
    expect(stored.status).to.equal("failed");
    expect(line.receivedMs()).to.equal(300);
  });
});

describe("maximum call duration with the local engine", function () {
  this.timeout(20_000);
  let h: VoiceHarness;

  before(async () => {
    h = await startVoiceHarness({ MAX_CALL_SECONDS: "6", GOODBYE_MS: "4000" });
  });
  after(async () => h.close());
  afterEach(async () => {
    await h.hangUpAll();
    await nothingLeftBehind();
  });

  it("when the call reaches its maximum, then the agent says the time-limit goodbye and the worker hangs up", async () => {
    const fixture = await voiceAgent({ engine: "LOCAL", greeting: "Hi.", silenceTimeoutSeconds: 60 });
    const { call, line } = await placeCall(h, fixture);
    await line.client.closed;
    const stored = await endedCall(call.callId);
    expect(stored.endedReason).to.equal("max-duration");
    expect(stored.transcript.map((t) => t.text)).to.deep.equal(["Hi.", LINES.maxDurationGoodbye]);
    // The goodbye begins GOODBYE_MS and the safety margin before the 6 s maximum (timers fire late
    // on a busy machine, never early), not at the maximum itself, and plays to its end.
    const goodbyeAt = stored.transcript[1]!.offsetMs;
    expect(goodbyeAt).to.be.at.least(6_000 - 4_000 - SAFETY_MS - TIMER_SLACK_MS);
    expect(goodbyeAt).to.be.below(4_000);
    const connectedMs = stored.endedAt!.getTime() - stored.answeredAt!.getTime();
    expect(connectedMs).to.be.at.least(goodbyeAt + (await render(LINES.maxDurationGoodbye)).length / 8 - TIMER_SLACK_MS);
    expect(stored.billedSeconds).to.equal(Math.ceil(connectedMs / 1000));
    expect(h.hangUps.some((x) => x.callSid === call.callSid)).to.equal(true);
  });
});

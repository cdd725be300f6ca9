import { expect } from "chai";
import { randomBytes } from "node:crypto";
import { FRAME_BYTES, FRAME_MS } from "../../media-worker/audio/mulaw.js";
import { LINES } from "../../media-worker/conversation/lines.js";
import { loadEngineConfig } from "../../media-worker/engines/engine-config.js";
import { FakeOpenAIRealtime, type ResponsePlan } from "../helpers/fake-openai-realtime.js";
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
/** Audio the fake "speaks": random bytes, so passthrough can be checked byte for byte. */
const audio = (ms: number) => randomBytes(ms * 8);

/** Plans what `say` asked for: the quoted line, 600 ms of audio. */
function sayPlan(request: { response?: { instructions?: string } }): ResponsePlan {
  const quoted = /"([^"]*)"/.exec(request.response?.instructions ?? "")?.[1] ?? "Goodbye!";
  return { audio: audio(600), transcript: quoted };
}

describe("OpenAI Realtime engine, through the call simulator against the real worker and a fake provider", function () {
  this.timeout(30_000);
  let h: VoiceHarness;
  let fake: FakeOpenAIRealtime;

  before(async () => {
    fake = await FakeOpenAIRealtime.start("sk-test-realtime");
    h = await startVoiceHarness({
      OPENAI_API_KEY: "sk-test-realtime",
      OPENAI_REALTIME_URL: fake.url,
      OPENAI_REALTIME_MODEL: "gpt-realtime-test",
      GOODBYE_MS: "400",
    });
  });
  after(async () => {
    await h.close();
    await fake.close();
  });
  beforeEach(() => {
    fake.refuseWith = null;
    fake.planner = (_s, request) =>
      String(request.response?.metadata?.call24x7 ?? "").startsWith("say-")
        ? sayPlan(request)
        : { audio: audio(1_000), transcript: "Hello!" };
  });
  afterEach(async () => {
    await h.hangUpAll();
    await nothingLeftBehind(() => fake.openSessions === 0);
  });

  async function call(config: Parameters<typeof voiceAgent>[0] = {}) {
    const fixture = await voiceAgent({ engine: "OPENAI_REALTIME", greeting: "Welcome to Acme.", ...config });
    const next = fake.nextSession();
    const placed = await placeCall(h, fixture);
    const session = await next;
    return { ...placed, session };
  }

  it("when a call starts, then the session is configured for mu-law and server VAD, and the greeting plays byte for byte with one mark", async () => {
    const greeting = audio(1_500);
    fake.planner = () => ({ audio: greeting, transcript: "Welcome to Acme." });
    const { call: admitted, line, session } = await call({ voice: "coral", instructions: "You are Acme's receptionist." });

    expect(session.request.headers.authorization).to.equal("Bearer sk-test-realtime");
    expect(new URL(session.request.url!, "http://x").searchParams.get("model")).to.equal("gpt-realtime-test");
    await session.until("session.update and the greeting request", () => session.eventsOf("response.create").length > 0);
    expect(session.events[0]!.type).to.equal("session.update");
    const s = session.events[0]!.session;
    expect(s.audio.input.format).to.deep.equal({ type: "audio/pcmu" });
    expect(s.audio.output.format).to.deep.equal({ type: "audio/pcmu" });
    expect(s.audio.output.voice).to.equal("coral");
    expect(s.audio.input.turn_detection.type).to.equal("server_vad");
    expect(s.instructions).to.contain("You are Acme's receptionist.");
    expect(s.tools.map((t: { name: string }) => t.name)).to.deep.equal(["end_call"]);
    expect(session.eventsOf("response.create")[0]!.response.instructions).to.contain('"Welcome to Acme."');

    await eventually("the greeting audio", () => line.receivedAudio().length >= greeting.length);
    expect(line.receivedAudio().equals(greeting)).to.equal(true);
    await eventually("the greeting's mark", () => line.client.marksRequested.length === 1);
    await sleep(300);
    expect(line.client.marksRequested).to.have.length(1);

    line.hangUp();
    const stored = await endedCall(admitted.callId);
    expect(stored.transcript.map((t) => [t.role, t.text])).to.deep.equal([["agent", "Welcome to Acme."]]);
    expect(stored.usage).to.include({
      engine: "OPENAI_REALTIME",
      provider: "openai:gpt-realtime-test",
      inputTokens: 100,
      outputTokens: 50,
    });
    expect(stored.usage?.audioOutSeconds).to.be.closeTo(1.5, 0.02);
  });

  it("when the caller talks, then every frame reaches the provider byte for byte and in order", async () => {
    const { line, session } = await call();
    const speech = audio(800);
    await line.say(speech);
    await sleep(1_000);
    line.stop();
    const sent = Buffer.concat(line.sent.map((p) => Buffer.from(p, "base64")));
    await session.until("all caller audio", () => session.audioBytes >= sent.length);
    expect(Buffer.concat(session.audioIn).equals(sent)).to.equal(true);
    expect(sent.indexOf(speech)).to.be.above(-1);
  });

  it("when the caller barges in, then Twilio gets a clear and the provider a truncate with the milliseconds played on the stream clock", async () => {
    fake.planner = () => null; // the test plays the provider's answer itself
    const { call: admitted, line, session } = await call();
    line.stop(); // the test drives the stream clock frame by frame
    const frame = Buffer.alloc(FRAME_BYTES, 0xff).toString("base64");
    let ts = 0;
    const send = async (frames: number) => {
      for (let i = 0; i < frames; i++, ts += FRAME_MS) line.client.sendMedia(frame, ts);
      await session.until("frames to reach the provider", () => session.audioBytes >= (ts / FRAME_MS) * FRAME_BYTES);
    };
    await send(50); // last frame at 980 ms
    void session.respond({ audio: audio(5_000), transcript: "A long answer." });
    await eventually("agent audio at the caller", () => line.received.length > 0);
    await send(36); // the caller's stream is now at 1,700 ms: 720 ms after the answer began (980 ms)
    const itemId = session.speechStarted();
    await session.until("the truncate", () => session.truncates.length > 0);
    expect(session.responses).to.have.length(1);
    expect(session.truncates).to.deep.equal([{ item_id: session.responses[0]!.itemId, content_index: 0, audio_end_ms: 720 }]);
    await eventually("the clear", () => line.client.clears === 1);

    session.speechStopped(itemId);
    session.callerTranscript(itemId, "Actually, stop.");
    await sleep(100);
    line.hangUp();
    const stored = await endedCall(admitted.callId);
    expect(stored.transcript.map((t) => [t.role, t.text, t.interrupted])).to.deep.equal([
      ["agent", "A long answer.", true],
      ["caller", "Actually, stop.", false],
    ]);
    expect(stored.transcript[1]!.offsetMs).to.equal(1_700);
  });

  it("when the caller barges in on a later reply, then the truncate names the item of the reply being played, not the greeting's, with what was played of it", async () => {
    const greeting = audio(400);
    fake.planner = () => ({ audio: greeting, transcript: "Hi." });
    const { call: admitted, line, session } = await call();
    line.stop(); // the test drives the stream clock frame by frame
    line.client.holdMarks = true; // and says when the greeting has played
    const frame = Buffer.alloc(FRAME_BYTES, 0xff).toString("base64");
    let ts = 0;
    const send = async (frames: number) => {
      for (let i = 0; i < frames; i++, ts += FRAME_MS) line.client.sendMedia(frame, ts);
      await session.until("frames to reach the provider", () => session.audioBytes >= (ts / FRAME_MS) * FRAME_BYTES);
    };
    await send(10);
    await eventually(
      "the greeting and its mark",
      () => line.receivedAudio().length >= greeting.length && line.client.marksRequested.length === 1,
    );
    // The greeting's mark comes back; the frames after it reach the provider only once the worker has handled it.
    line.client.releaseMarks();
    await send(30); // last frame at 780 ms
    void session.respond({ audio: audio(5_000), transcript: "A long answer." });
    await eventually("the answer at the caller", () => line.receivedAudio().length >= greeting.length + 5_000 * 8);
    await send(25); // last frame at 1,280 ms: 500 ms after the answer began
    const itemId = session.speechStarted();
    await session.until("the truncate", () => session.truncates.length > 0);
    const [greetingReply, answer] = session.responses;
    expect(session.responses).to.have.length(2);
    expect(answer!.itemId).to.not.equal(greetingReply!.itemId);
    expect(session.truncates).to.deep.equal([{ item_id: answer!.itemId, content_index: 0, audio_end_ms: 500 }]);
    await eventually("the clear", () => line.client.clears === 1);

    session.speechStopped(itemId);
    session.callerTranscript(itemId, "Wait.");
    await sleep(100);
    line.hangUp();
    const stored = await endedCall(admitted.callId);
    expect(stored.transcript.map((t) => [t.role, t.text, t.interrupted])).to.deep.equal([
      ["agent", "Hi.", false],
      ["agent", "A long answer.", true],
      ["caller", "Wait.", false],
    ]);
  });

  it("when the caller barges in while a reply waits behind the one playing, then the truncate names the one playing", async () => {
    fake.planner = () => null; // the test plays the provider's answers itself
    const { call: admitted, line, session } = await call();
    line.stop(); // the test drives the stream clock frame by frame
    line.client.holdMarks = true; // the first answer is still playing
    const frame = Buffer.alloc(FRAME_BYTES, 0xff).toString("base64");
    let ts = 0;
    const send = async (frames: number) => {
      for (let i = 0; i < frames; i++, ts += FRAME_MS) line.client.sendMedia(frame, ts);
      await session.until("frames to reach the provider", () => session.audioBytes >= (ts / FRAME_MS) * FRAME_BYTES);
    };
    await send(10); // last frame at 180 ms
    const first = audio(2_000);
    void session.respond({ audio: first, transcript: "Welcome to Acme, how can I help?" });
    await eventually(
      "the first answer and its mark",
      () => line.receivedAudio().length >= first.length && line.client.marksRequested.length === 1,
    );
    void session.respond({ audio: audio(1_000), transcript: "Queued." });
    await eventually("the second answer at the caller", () => line.receivedAudio().length >= first.length + 1_000 * 8);
    await send(30); // last frame at 780 ms: 600 ms into the first answer's 2 s
    session.speechStarted();
    await session.until("the truncate", () => session.truncates.length > 0);
    const [playing, queued] = session.responses;
    expect(session.responses).to.have.length(2);
    expect(queued!.itemId).to.not.equal(playing!.itemId);
    expect(session.truncates, "the playing answer's item, not the queued one's").to.deep.equal([
      { item_id: playing!.itemId, content_index: 0, audio_end_ms: 600 },
    ]);
    line.hangUp();
    const stored = await endedCall(admitted.callId);
    expect(stored.transcript.map((t) => [t.text, t.interrupted])).to.deep.equal([
      ["Welcome to Acme, how can I help?", true],
      ["Queued.", true],
    ]);
  });

  it("when the model calls end_call with its goodbye, then the worker hangs up only after the goodbye's mark came back", async () => {
    const { call: admitted, line, session } = await call();
    await eventually("the greeting's mark", () => line.client.marksRequested.length === 1);
    await sleep(1_100);
    // The phone goes on "playing" until the test lets the goodbye's mark come back.
    line.client.holdMarks = true;
    const goodbye = audio(1_200);
    void session.respond({
      audio: goodbye,
      transcript: "Goodbye!",
      functionCall: { name: "end_call", arguments: '{"reason":"caller is done"}' },
    });
    await eventually(
      "the goodbye audio and its mark",
      () => line.receivedAudio().subarray(-goodbye.length).equals(goodbye) && line.client.marksRequested.length === 2,
    );
    // Longer than the 1.2 s goodbye lasts: without its mark the call stays up (the wall-clock delay
    // from mark to hang-up is measured by `npm run bench:engines`).
    await sleep(2_200);
    expect(h.hangUps.filter((x) => x.callSid === admitted.callSid)).to.have.length(0);
    expect(line.client.isOpen).to.equal(true);
    line.client.releaseMarks();
    const close = await line.client.closed;
    expect(close.code).to.equal(1000);
    expect(
      h.hangUps.filter((x) => x.callSid === admitted.callSid),
      "hung up through Twilio's REST API",
    ).to.have.length(1);
    const stored = await endedCall(admitted.callId);
    expect(stored.endedReason).to.equal("agent-ended");
    expect(stored.transcript.map((t) => t.text)).to.deep.equal(["Hello!", "Goodbye!"]);
    // Turn detection went off: nothing the caller says now gets an answer.
    expect(session.eventsOf("session.update").some((e) => e.session.audio?.input?.turn_detection === null)).to.equal(true);
  });

  it("when the model calls end_call without saying goodbye, then the worker asks for one and hangs up after it played", async () => {
    const { call: admitted, line, session } = await call();
    await eventually("the greeting's mark", () => line.client.marksRequested.length === 1);
    void session.respond({ audio: Buffer.alloc(0), transcript: "", functionCall: { name: "end_call", arguments: "{}" } });
    await line.client.closed;
    const output = session.eventsOf("conversation.item.create").find((e) => e.item.type === "function_call_output");
    expect(output, "the tool call is answered").to.not.equal(undefined);
    expect(line.client.marksRequested).to.have.length(2);
    const stored = await endedCall(admitted.callId);
    expect(stored.endedReason).to.equal("agent-ended");
  });

  it("when the caller presses a key, then the model is told and it is recorded", async () => {
    const { call: admitted, line, session } = await call();
    await eventually("the greeting's mark", () => line.client.marksRequested.length === 1);
    await sleep(1_100);
    line.client.sendDtmf("7");
    await session.until("the key press", () => session.eventsOf("conversation.item.create").length > 0);
    expect(session.eventsOf("conversation.item.create")[0]!.item.content[0].text).to.contain('"7"');
    line.hangUp();
    const stored = await endedCall(admitted.callId);
    expect(stored.transcript.some((t) => t.kind === "dtmf" && t.text === "7")).to.equal(true);
  });

  it("when the caller stays silent, then the model is asked to remind and then to say goodbye, and the call ends silence-timeout", async () => {
    const { call: admitted, line, session } = await call({ silenceReminderSeconds: 1, silenceTimeoutSeconds: 3 });
    await line.client.closed;
    const requests = session.eventsOf("response.create").map((e) => e.response.instructions ?? "");
    expect(requests.some((r: string) => r.includes(LINES.silenceReminder))).to.equal(true);
    expect(requests.some((r: string) => r.includes(LINES.silenceGoodbye))).to.equal(true);
    const stored = await endedCall(admitted.callId);
    expect(stored.endedReason).to.equal("silence-timeout");
    expect(stored.transcript.map((t) => t.text)).to.deep.equal(["Hello!", LINES.silenceReminder, LINES.silenceGoodbye]);
  });

  it("when the caller says an end-call phrase, then the model says the goodbye and the call ends end-call-phrase", async () => {
    const { call: admitted, line, session } = await call({ endCallPhrases: ["bye for now"] });
    await eventually("the greeting's mark", () => line.client.marksRequested.length === 1);
    await sleep(1_100); // the greeting has played
    const item = session.speechStarted();
    session.speechStopped(item);
    // Server VAD has begun answering when the transcription arrives: that answer is cancelled.
    void session.respond({ audio: audio(3_000), transcript: "Is there anything else?", chunkBytes: 800, chunkDelayMs: 100 });
    await eventually("the provider's answer to begin", () => line.received.length > 1);
    session.callerTranscript(item, "OK, bye for now!");
    await line.client.closed;
    const types = session.events.map((e) => e.type);
    const cancelAt = types.indexOf("response.cancel");
    expect(cancelAt, "the answer in progress is cancelled").to.be.above(-1);
    expect(types.lastIndexOf("response.create")).to.be.above(cancelAt);
    expect(line.client.clears).to.equal(1);
    const stored = await endedCall(admitted.callId);
    expect(stored.endedReason).to.equal("end-call-phrase");
    expect(stored.transcript.map((t) => [t.text, t.interrupted])).to.deep.equal([
      ["Hello!", false],
      ["OK, bye for now!", false],
      ["Is there anything else?", true],
      [LINES.endCallGoodbye, false],
    ]);
  });

  it("when the provider drops the connection mid-call, then the caller hears the goodbye tone and the call ends provider-disconnected", async () => {
    const { call: admitted, line, session } = await call();
    await eventually("the greeting's mark", () => line.client.marksRequested.length === 1);
    const before = line.receivedMs();
    session.ws.terminate();
    await line.client.closed;
    expect(line.receivedMs() - before).to.equal(400); // GOODBYE_MS of tone
    const stored = await endedCall(admitted.callId);
    expect(stored.endedReason).to.equal("provider-disconnected");
    expect(stored.status).to.equal("failed");
    expect(h.hangUps.some((x) => x.callSid === admitted.callSid)).to.equal(true);
  });

  it("when the provider reports a rate limit mid-call, then the call ends provider-rate-limited and the provider socket is closed", async () => {
    const { call: admitted, line, session } = await call();
    await eventually("the greeting's mark", () => line.client.marksRequested.length === 1);
    session.send({
      type: "error",
      error: { type: "invalid_request_error", code: "rate_limit_exceeded", message: "Rate limit reached", param: null, event_id: null },
    });
    await line.client.closed;
    await eventually("the provider socket to close", () => session.closed);
    const stored = await endedCall(admitted.callId);
    expect(stored.endedReason).to.equal("provider-rate-limited");
  });

  it("when the provider refuses the connection, then the call ends provider-rate-limited without waiting", async () => {
    fake.refuseWith = 429;
    const fixture = await voiceAgent({ engine: "OPENAI_REALTIME", greeting: "Hi." });
    const { call: admitted, line } = await placeCall(h, fixture);
    await line.client.closed;
    const stored = await endedCall(admitted.callId);
    expect(stored.endedReason).to.equal("provider-rate-limited");
  });

  it("when a non-fatal provider error arrives, then the call goes on", async () => {
    const { call: admitted, line, session } = await call();
    await eventually("the greeting's mark", () => line.client.marksRequested.length === 1);
    session.send({
      type: "error",
      error: { type: "invalid_request_error", code: "item_truncate_invalid_item_id", message: "nope", param: null, event_id: null },
    });
    await sleep(300);
    expect(line.client.isOpen).to.equal(true);
    line.hangUp();
    const stored = await endedCall(admitted.callId);
    expect(stored.endedReason).to.equal("caller-hangup");
  });

  it("when the caller hangs up, then the provider socket is closed with the call", async () => {
    const { call: admitted, line, session } = await call();
    await eventually("the greeting", () => line.received.length > 0);
    line.hangUp();
    await endedCall(admitted.callId);
    await eventually("the provider socket to close", () => session.closed, 3_000);
  });
});

describe("OpenAI Realtime engine when the provider accepts the connection and never answers it", function () {
  this.timeout(20_000);
  const CONNECT_TIMEOUT_MS = 500;
  let h: VoiceHarness;
  let fake: FakeOpenAIRealtime;

  before(async () => {
    fake = await FakeOpenAIRealtime.start("sk-test-realtime");
    fake.stallUpgrades = true;
    h = await startVoiceHarness({
      OPENAI_API_KEY: "sk-test-realtime",
      OPENAI_REALTIME_URL: fake.url,
      OPENAI_CONNECT_TIMEOUT_MS: String(CONNECT_TIMEOUT_MS),
      GOODBYE_MS: "400",
    });
  });
  after(async () => {
    await h.close();
    await fake.close();
  });
  afterEach(async () => {
    await h.hangUpAll();
    await nothingLeftBehind();
  });

  it("when the socket has not opened within OPENAI_CONNECT_TIMEOUT_MS, then the worker drops it and the call ends provider-error after the goodbye tone, unbilled", async () => {
    const fixture = await voiceAgent({ engine: "OPENAI_REALTIME", greeting: "Hi.", silenceTimeoutSeconds: 60 });
    const { call: admitted, line } = await placeCall(h, fixture);
    await eventually("the worker's upgrade request at the provider", () => fake.stalled.length === 1);
    const close = await line.client.closed;
    expect(close.code).to.equal(1000);
    await eventually("the worker to drop the unanswered socket", () => fake.stalled[0]!.closed, 3_000);
    expect(line.receivedMs()).to.equal(400); // GOODBYE_MS of tone, nothing from the provider
    const stored = await endedCall(admitted.callId);
    expect(stored).to.include({ endedReason: "provider-error", status: "failed", billedSeconds: 0, costMicros: 0 });
    // It waited for the timeout (timers fire late on a busy machine, never early), the configured
    // one rather than the 5 s default.
    const connectedMs = stored.endedAt!.getTime() - stored.answeredAt!.getTime();
    expect(connectedMs).to.be.at.least(CONNECT_TIMEOUT_MS);
    expect(connectedMs).to.be.below(loadEngineConfig({ OPENAI_API_KEY: "k" }).openai!.connectTimeoutMs);
    expect(h.hangUps.filter((x) => x.callSid === admitted.callSid)).to.have.length(1);
  });
});

describe("OpenAI Realtime agent on a worker without a key", function () {
  this.timeout(20_000);
  let h: VoiceHarness;

  before(async () => {
    h = await startVoiceHarness();
  });
  after(async () => h.close());
  afterEach(async () => {
    await h.hangUpAll();
    await nothingLeftBehind();
  });

  it("when no OPENAI_API_KEY is configured, then the call is answered by the local engine", async () => {
    const fixture = await voiceAgent({ engine: "OPENAI_REALTIME", greeting: "Hi." });
    const { call: admitted, line } = await placeCall(h, fixture);
    await eventually("the greeting", () => line.received.length > 0);
    line.hangUp();
    const stored = await endedCall(admitted.callId);
    expect(stored.usage?.engine).to.equal("LOCAL");
    expect(stored.transcript.map((t) => t.text)).to.deep.equal(["Hi."]);
  });
});

import { expect } from "chai";
import { mulawBase64Ms } from "../../media-worker/audio/mulaw.js";
import { playbackStartMs, playedMs } from "../../media-worker/engines/openai-realtime/playback.js";
import {
  appendAudio,
  fatalReason,
  parseServerEvent,
  responseCreate,
  sessionUpdate,
  truncateItem,
} from "../../media-worker/engines/openai-realtime/realtime.events.js";
import { realtimeSocketUrl } from "../../media-worker/engines/engine-config.js";

describe("OpenAI Realtime protocol", () => {
  it("when configuring a session, then audio is mu-law both ways with server VAD, the voice, the language and the end_call tool", () => {
    const update = JSON.parse(
      sessionUpdate({ instructions: "Be kind.", voice: "coral", language: "fr-FR", transcriptionModel: "whisper-1" }),
    );
    expect(update.type).to.equal("session.update");
    expect(update.session.type).to.equal("realtime");
    expect(update.session.instructions).to.equal("Be kind.");
    expect(update.session.audio.input.format).to.deep.equal({ type: "audio/pcmu" });
    expect(update.session.audio.output.format).to.deep.equal({ type: "audio/pcmu" });
    expect(update.session.audio.output.voice).to.equal("coral");
    expect(update.session.audio.input.turn_detection.type).to.equal("server_vad");
    expect(update.session.audio.input.transcription).to.deep.equal({ model: "whisper-1", language: "fr" });
    expect(update.session.tools.map((t: { name: string }) => t.name)).to.deep.equal(["end_call"]);
  });

  it("when no voice is set, then the provider's default voice is left alone", () => {
    const update = JSON.parse(sessionUpdate({ instructions: "", voice: "", language: "en-US", transcriptionModel: "m" }));
    expect(update.session.audio.output).to.not.have.property("voice");
  });

  it("when building client events, then they are the protocol's JSON", () => {
    expect(JSON.parse(appendAudio("AAAA"))).to.deep.equal({ type: "input_audio_buffer.append", audio: "AAAA" });
    expect(JSON.parse(truncateItem("item_1", 640))).to.deep.equal({
      type: "conversation.item.truncate",
      item_id: "item_1",
      content_index: 0,
      audio_end_ms: 640,
    });
    expect(JSON.parse(responseCreate({ tag: "greeting", instructions: "Say hi", tools: false }))).to.deep.equal({
      type: "response.create",
      response: { metadata: { call24x7: "greeting" }, instructions: "Say hi", tool_choice: "none" },
    });
  });

  it("when parsing server events, then GA and beta audio names both work and bad input is harmless", () => {
    expect(parseServerEvent('{"type":"response.output_audio.delta","response_id":"r","item_id":"i","delta":"AA=="}')).to.deep.equal({
      kind: "audio-delta",
      responseId: "r",
      itemId: "i",
      delta: "AA==",
    });
    expect(parseServerEvent('{"type":"response.audio.delta","response_id":"r","item_id":"i","delta":"AA=="}').kind).to.equal("audio-delta");
    expect(parseServerEvent('{"type":"response.audio_transcript.done","response_id":"r","item_id":"i","transcript":"Hi"}').kind).to.equal(
      "agent-transcript",
    );
    expect(parseServerEvent("not json").kind).to.equal("invalid");
    expect(parseServerEvent('{"type":"response.output_audio.delta"}').kind).to.equal("invalid");
    expect(parseServerEvent('{"type":"rate_limits.updated"}')).to.deep.equal({ kind: "other", type: "rate_limits.updated" });
  });

  it("when a response is done, then its status, error and usage are read", () => {
    const done = parseServerEvent(
      JSON.stringify({
        type: "response.done",
        response: {
          id: "resp_1",
          status: "failed",
          status_details: { type: "failed", error: { type: "rate_limit_error", code: "rate_limit_exceeded", message: "slow down" } },
          usage: { input_tokens: 12, output_tokens: 34 },
        },
      }),
    );
    expect(done).to.deep.equal({
      kind: "response-done",
      responseId: "resp_1",
      status: "failed",
      error: { type: "rate_limit_error", code: "rate_limit_exceeded", message: "slow down" },
      usage: { inputTokens: 12, outputTokens: 34 },
    });
  });

  it("when classifying provider errors, then rate limits and server errors end the call and others do not", () => {
    expect(fatalReason({ type: "invalid_request_error", code: "rate_limit_exceeded", message: "" }, true)).to.equal(
      "provider-rate-limited",
    );
    expect(fatalReason({ type: "server_error", code: null, message: "" }, true)).to.equal("provider-error");
    expect(fatalReason({ type: "invalid_request_error", code: "item_truncate_invalid", message: "" }, true)).to.equal(null);
    expect(fatalReason({ type: "invalid_request_error", code: "unknown_parameter", message: "" }, false)).to.equal("provider-error");
  });

  it("when the caller barges in, then audio_end_ms is the stream time since playback began, within what was sent", () => {
    expect(playedMs(5_000, 4_200, 3_000)).to.equal(800);
    expect(playedMs(9_000, 4_200, 3_000)).to.equal(3_000); // cannot have heard more than was sent
    expect(playedMs(4_000, 4_200, 3_000)).to.equal(0); // not begun yet
    expect(playbackStartMs(1_000, 1_500)).to.equal(1_500); // queued behind an earlier response
    expect(playbackStartMs(2_000, 1_500)).to.equal(2_000);
  });

  it("when measuring base64 mu-law, then 160 bytes are 20 ms", () => {
    expect(mulawBase64Ms(Buffer.alloc(160).toString("base64"))).to.equal(20);
    expect(mulawBase64Ms(Buffer.alloc(161).toString("base64"))).to.equal(20.125);
  });

  it("when building the socket URL, then the model is added unless the endpoint names one (Azure)", () => {
    expect(realtimeSocketUrl({ url: "wss://api.openai.com/v1/realtime", model: "gpt-realtime" })).to.equal(
      "wss://api.openai.com/v1/realtime?model=gpt-realtime",
    );
    expect(
      realtimeSocketUrl({ url: "wss://x.openai.azure.com/openai/realtime?api-version=2025-08-28&deployment=rt", model: "gpt-realtime" }),
    ).to.equal("wss://x.openai.azure.com/openai/realtime?api-version=2025-08-28&deployment=rt");
  });
});

import { randomBytes } from "node:crypto";
import { createServer, type IncomingMessage, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import type { Duplex } from "node:stream";
import { WebSocket, WebSocketServer } from "ws";
import { rawDataText } from "../../media-worker/lib/raw-data.js";

/** What the fake says in answer to one response.create. */
export interface ResponsePlan {
  /** Mu-law audio streamed as output_audio deltas (empty: a response without audio). */
  audio: Buffer;
  transcript: string;
  /** Bytes of audio per delta (default 3,200 = 400 ms). */
  chunkBytes?: number;
  /** Milliseconds between deltas (default 0: all at once, as fast as the provider generates). */
  chunkDelayMs?: number;
  /** A function call after the audio, in the same response. */
  functionCall?: { name: string; arguments: string };
  /** Ends the response `failed` with this error instead of `completed`. */
  fail?: { type: string; code: string; message: string };
}

type Json = Record<string, any>;

const id = (prefix: string) => `${prefix}_${randomBytes(8).toString("hex")}`;

/** One client session on the fake: what it received, and controls to play the provider. */
export class FakeRealtimeSession {
  /** Client events other than audio appends, in order. */
  readonly events: Json[] = [];
  /** Caller audio appended, decoded, in order. */
  readonly audioIn: Buffer[] = [];
  readonly truncates: { item_id: string; content_index: number; audio_end_ms: number }[] = [];
  /** Responses the fake played, in order: their ids and the id of their audio item. */
  readonly responses: { id: string; itemId: string; metadata: Json | null }[] = [];
  session: Json = {};
  closed = false;
  private readonly inProgress = new Map<string, { cancelled: boolean }>();
  private waiters: (() => void)[] = [];

  constructor(
    readonly ws: WebSocket,
    readonly request: IncomingMessage,
    private readonly fake: FakeOpenAIRealtime,
  ) {
    ws.on("message", (data) => this.onClientEvent(rawDataText(data)));
    ws.on("close", () => {
      this.closed = true;
      this.wake();
    });
    this.send({ type: "session.created", session: { id: id("sess"), object: "realtime.session", type: "realtime" } });
  }

  get audioBytes(): number {
    return this.audioIn.reduce((n, b) => n + b.length, 0);
  }

  /** Client events of a type. */
  eventsOf(type: string): Json[] {
    return this.events.filter((e) => e.type === type);
  }

  send(event: Json): void {
    if (this.ws.readyState === WebSocket.OPEN) this.ws.send(JSON.stringify({ event_id: id("event"), ...event }));
  }

  /** The caller began to talk (server VAD). */
  speechStarted(): string {
    const itemId = id("item");
    this.send({ type: "input_audio_buffer.speech_started", audio_start_ms: Math.round(this.audioBytes / 8), item_id: itemId });
    return itemId;
  }

  speechStopped(itemId: string): void {
    this.send({ type: "input_audio_buffer.speech_stopped", audio_end_ms: Math.round(this.audioBytes / 8), item_id: itemId });
    this.send({ type: "input_audio_buffer.committed", previous_item_id: null, item_id: itemId });
  }

  callerTranscript(itemId: string, transcript: string): void {
    this.send({ type: "conversation.item.input_audio_transcription.completed", item_id: itemId, content_index: 0, transcript });
  }

  /** A server-initiated response (what server VAD does after the caller's turn). */
  respond(plan: ResponsePlan, metadata: Json | null = null): Promise<void> {
    return this.playResponse(plan, metadata);
  }

  /** Resolves when `probe` holds (checked on every client event), or rejects after `timeoutMs`. */
  async until(what: string, probe: () => boolean, timeoutMs = 5_000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (!probe()) {
      if (Date.now() > deadline) throw new Error(`fake realtime: timed out waiting for ${what}`);
      await new Promise<void>((resolve) => {
        const t = setTimeout(resolve, 50);
        this.waiters.push(() => {
          clearTimeout(t);
          resolve();
        });
      });
    }
  }

  private wake(): void {
    const waiters = this.waiters;
    this.waiters = [];
    for (const w of waiters) w();
  }

  private onClientEvent(raw: string): void {
    let e: Json;
    try {
      e = JSON.parse(raw) as Json;
    } catch {
      this.send({
        type: "error",
        error: { type: "invalid_request_error", code: "invalid_json", message: "Invalid JSON", param: null, event_id: null },
      });
      return;
    }
    if (e.type === "input_audio_buffer.append") {
      const chunk = Buffer.from(String(e.audio), "base64");
      this.audioIn.push(chunk);
      this.fake.onAudio?.(this, chunk);
    } else {
      this.events.push(e);
      this.handle(e);
    }
    this.wake();
  }

  private handle(e: Json): void {
    switch (e.type) {
      case "session.update":
        this.session = mergeDeep(this.session, e.session ?? {});
        this.send({ type: "session.updated", session: { id: id("sess"), object: "realtime.session", ...this.session } });
        return;
      case "response.create": {
        const plan = this.fake.plan(this, e);
        if (plan) void this.playResponse(plan, e.response?.metadata ?? null);
        return;
      }
      case "response.cancel":
        for (const r of this.inProgress.values()) r.cancelled = true;
        return;
      case "conversation.item.truncate":
        this.truncates.push({ item_id: e.item_id, content_index: e.content_index, audio_end_ms: e.audio_end_ms });
        this.send({
          type: "conversation.item.truncated",
          item_id: e.item_id,
          content_index: e.content_index,
          audio_end_ms: e.audio_end_ms,
        });
        return;
      case "conversation.item.create": {
        const item = { id: id("item"), ...e.item };
        this.send({ type: "conversation.item.added", previous_item_id: null, item });
        this.send({ type: "conversation.item.done", previous_item_id: null, item });
        return;
      }
      default:
        this.send({
          type: "error",
          error: {
            type: "invalid_request_error",
            code: "unknown_event",
            message: `Unknown event type ${e.type}`,
            param: null,
            event_id: e.event_id ?? null,
          },
        });
    }
  }

  private async playResponse(plan: ResponsePlan, metadata: Json | null): Promise<void> {
    const responseId = id("resp");
    const itemId = id("item");
    const state = { cancelled: false };
    this.inProgress.set(responseId, state);
    this.responses.push({ id: responseId, itemId, metadata });
    const response = { id: responseId, object: "realtime.response", status: "in_progress", metadata, output: [] as Json[] };
    this.send({ type: "response.created", response });
    const output: Json[] = [];
    if (plan.audio.length > 0) {
      const item = { id: itemId, type: "message", role: "assistant", status: "in_progress", content: [] };
      this.send({ type: "response.output_item.added", response_id: responseId, output_index: 0, item });
      const chunk = plan.chunkBytes ?? 3_200;
      for (let at = 0; at < plan.audio.length && !state.cancelled; at += chunk) {
        if (plan.chunkDelayMs && at > 0) await new Promise((r) => setTimeout(r, plan.chunkDelayMs));
        if (state.cancelled || this.closed) break;
        const delta = plan.audio.subarray(at, Math.min(at + chunk, plan.audio.length)).toString("base64");
        this.send({
          type: "response.output_audio.delta",
          response_id: responseId,
          item_id: itemId,
          output_index: 0,
          content_index: 0,
          delta,
        });
      }
      this.send({ type: "response.output_audio.done", response_id: responseId, item_id: itemId, output_index: 0, content_index: 0 });
      this.send({
        type: "response.output_audio_transcript.done",
        response_id: responseId,
        item_id: itemId,
        output_index: 0,
        content_index: 0,
        transcript: plan.transcript,
      });
      output.push({ ...item, status: "completed", content: [{ type: "output_audio", transcript: plan.transcript }] });
    }
    if (plan.functionCall && !state.cancelled) {
      const callId = id("call");
      const fnItemId = id("item");
      const fnItem = {
        id: fnItemId,
        type: "function_call",
        status: "completed",
        name: plan.functionCall.name,
        call_id: callId,
        arguments: plan.functionCall.arguments,
      };
      this.send({
        type: "response.output_item.added",
        response_id: responseId,
        output_index: output.length,
        item: { ...fnItem, status: "in_progress" },
      });
      this.send({
        type: "response.function_call_arguments.done",
        response_id: responseId,
        item_id: fnItemId,
        output_index: output.length,
        call_id: callId,
        name: plan.functionCall.name,
        arguments: plan.functionCall.arguments,
      });
      output.push(fnItem);
    }
    this.inProgress.delete(responseId);
    const status = state.cancelled ? "cancelled" : plan.fail ? "failed" : "completed";
    this.send({
      type: "response.done",
      response: {
        ...response,
        status,
        status_details: plan.fail
          ? { type: "failed", error: plan.fail }
          : state.cancelled
            ? { type: "cancelled", reason: "client_cancelled" }
            : null,
        output,
        usage: { total_tokens: 150, input_tokens: 100, output_tokens: 50 },
      },
    });
  }
}

function mergeDeep(target: Json, source: Json): Json {
  const out: Json = { ...target };
  for (const [k, v] of Object.entries(source)) {
    out[k] = v && typeof v === "object" && !Array.isArray(v) && out[k] && typeof out[k] === "object" ? mergeDeep(out[k], v) : v;
  }
  return out;
}

/**
 * The OpenAI Realtime API on loopback, speaking its WebSocket event protocol (GA event names):
 * checks the bearer key and the model, answers session.update, streams scripted responses to
 * response.create (audio deltas, transcripts, function calls, failures), records appended audio
 * and truncates, and lets tests play server VAD events or drop the connection.
 */
export class FakeOpenAIRealtime {
  readonly sessions: FakeRealtimeSession[] = [];
  /** Answers the next upgrades with this HTTP status instead (e.g. 429 for a rate limit). */
  refuseWith: number | null = null;
  /** Leaves the next upgrade requests unanswered, as a provider that accepts the TCP connection and then hangs. */
  stallUpgrades = false;
  /** Upgrades left unanswered: their sockets, and whether the client has closed them. */
  readonly stalled: { socket: Duplex; closed: boolean }[] = [];
  /** Decides what each response.create gets; default: a second of tone-like audio saying "Hello!". */
  planner: (session: FakeRealtimeSession, request: Json) => ResponsePlan | null = () => ({
    audio: Buffer.alloc(8_000, 0x55),
    transcript: "Hello!",
  });
  /** Sees each chunk of caller audio as it arrives (a benchmark plays server VAD with it). */
  onAudio: ((session: FakeRealtimeSession, chunk: Buffer) => void) | null = null;
  private readonly wss = new WebSocketServer({ noServer: true, perMessageDeflate: false });
  private arrivals: ((s: FakeRealtimeSession) => void)[] = [];

  private constructor(
    private readonly server: Server,
    readonly url: string,
    readonly apiKey: string,
  ) {
    server.on("upgrade", (req, socket, head) => this.upgrade(req, socket, head));
  }

  static async start(apiKey = "sk-test-fake-realtime"): Promise<FakeOpenAIRealtime> {
    const server = createServer((_req, res) => {
      res.writeHead(426);
      res.end();
    });
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", () => resolve()));
    const { port } = server.address() as AddressInfo;
    return new FakeOpenAIRealtime(server, `ws://127.0.0.1:${port}/v1/realtime`, apiKey);
  }

  /** Provider sockets still open. */
  get openSessions(): number {
    return this.sessions.filter((s) => !s.closed).length;
  }

  plan(session: FakeRealtimeSession, request: Json): ResponsePlan | null {
    return this.planner(session, request);
  }

  /** The next session to connect (or the latest, if one connected since the last call). */
  nextSession(timeoutMs = 5_000): Promise<FakeRealtimeSession> {
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error("fake realtime: no session connected")), timeoutMs);
      this.arrivals.push((s) => {
        clearTimeout(timer);
        resolve(s);
      });
    });
  }

  async close(): Promise<void> {
    for (const s of this.sessions) s.ws.terminate();
    for (const { socket } of this.stalled) socket.destroy();
    this.wss.close();
    this.server.closeAllConnections();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  private upgrade(req: IncomingMessage, socket: Duplex, head: Buffer): void {
    const reply = (status: number, body: Json) => {
      const text = JSON.stringify(body);
      socket.end(
        `HTTP/1.1 ${status} Error\r\nContent-Type: application/json\r\nContent-Length: ${Buffer.byteLength(text)}\r\nConnection: close\r\n\r\n${text}`,
      );
    };
    const url = new URL(req.url ?? "/", "http://localhost");
    if (req.headers.authorization !== `Bearer ${this.apiKey}`) {
      return reply(401, { error: { type: "invalid_request_error", code: "invalid_api_key", message: "Incorrect API key provided" } });
    }
    if (url.pathname !== "/v1/realtime" || !url.searchParams.get("model")) {
      return reply(400, { error: { type: "invalid_request_error", code: "missing_model", message: "Missing model" } });
    }
    if (this.stallUpgrades) {
      const stalled = { socket, closed: false };
      this.stalled.push(stalled);
      socket.on("error", () => undefined);
      socket.on("close", () => (stalled.closed = true));
      // Read (and ignore) whatever comes, so the client's close is seen; the HTTP server's sockets
      // are half-open, so its end is answered here.
      socket.on("end", () => socket.destroy());
      socket.resume();
      return;
    }
    if (this.refuseWith) {
      return reply(this.refuseWith, { error: { type: "rate_limit_error", code: "rate_limit_exceeded", message: "Rate limit reached" } });
    }
    this.wss.handleUpgrade(req, socket, head, (ws) => {
      const session = new FakeRealtimeSession(ws, req, this);
      this.sessions.push(session);
      const waiting = this.arrivals;
      this.arrivals = [];
      for (const w of waiting) w(session);
    });
  }
}

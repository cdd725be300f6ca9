import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";

type Json = Record<string, any>;

/**
 * An OpenAI-compatible chat-completions endpoint on loopback (what OpenAI, Ollama, vLLM and
 * llama.cpp serve): POST /v1/chat/completions with stream=true answers server-sent events of
 * `chat.completion.chunk`s carrying the scripted reply a few words at a time, then `[DONE]`.
 */
export class FakeChatCompletions {
  readonly requests: { headers: Record<string, unknown>; body: Json }[] = [];
  /** What the model says next. */
  reply = "Happy to help. What else can I do for you?";
  /** Milliseconds between chunks. */
  chunkDelayMs = 10;
  /** Answer with this HTTP status instead. */
  failWith: number | null = null;
  /** Open the stream (headers and the assistant's empty role chunk), then send nothing: a model that never produces a token. */
  stall = false;
  /** Requests the client dropped before the reply was complete. */
  abandoned = 0;

  private constructor(
    private readonly server: Server,
    readonly baseUrl: string,
  ) {}

  static async start(): Promise<FakeChatCompletions> {
    let fake: FakeChatCompletions | null = null;
    const server = createServer((req, res) => void fake!.handle(req, res));
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", () => resolve()));
    fake = new FakeChatCompletions(server, `http://127.0.0.1:${(server.address() as AddressInfo).port}/v1`);
    return fake;
  }

  async close(): Promise<void> {
    this.server.closeAllConnections();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  private async handle(req: import("node:http").IncomingMessage, res: import("node:http").ServerResponse): Promise<void> {
    const chunks: Buffer[] = [];
    for await (const c of req) chunks.push(c as Buffer);
    if (req.method !== "POST" || req.url !== "/v1/chat/completions") {
      res.writeHead(404).end();
      return;
    }
    const body = JSON.parse(Buffer.concat(chunks).toString()) as Json;
    this.requests.push({ headers: req.headers, body });
    if (this.failWith) {
      res.writeHead(this.failWith, { "content-type": "application/json" });
      res.end(JSON.stringify({ error: { message: "overloaded", type: "server_error" } }));
      return;
    }
    res.writeHead(200, { "content-type": "text/event-stream", "cache-control": "no-cache" });
    const id = `chatcmpl-${Date.now()}`;
    const chunk = (delta: Json, finish: string | null = null, usage: Json | null = null) =>
      `data: ${JSON.stringify({ id, object: "chat.completion.chunk", created: 0, model: body.model, choices: usage ? [] : [{ index: 0, delta, finish_reason: finish }], ...(usage ? { usage } : {}) })}\n\n`;
    res.write(chunk({ role: "assistant", content: "" }));
    if (this.stall) {
      await new Promise<void>((resolve) => res.once("close", () => resolve()));
      this.abandoned++;
      return;
    }
    for (const word of this.reply.split(/(?<= )/)) {
      await new Promise((r) => setTimeout(r, this.chunkDelayMs));
      if (res.destroyed) return;
      res.write(chunk({ content: word }));
    }
    res.write(chunk({}, "stop"));
    res.write(chunk({}, null, { prompt_tokens: 42, completion_tokens: 12, total_tokens: 54 }));
    res.end("data: [DONE]\n\n");
  }
}

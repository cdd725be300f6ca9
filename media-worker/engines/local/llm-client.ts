import type { LlmConfig } from "../engine-config.js";

export interface ChatMessage {
  role: "system" | "user" | "assistant";
  content: string;
}

export class LlmError extends Error {
  constructor(
    message: string,
    readonly status: number | null,
  ) {
    super(message);
    this.name = "LlmError";
  }
}

export type ChatChunk = { kind: "text"; text: string } | { kind: "usage"; inputTokens: number; outputTokens: number };

/**
 * Streams a reply from an OpenAI-compatible chat-completions endpoint (OpenAI, Ollama, vLLM,
 * llama.cpp server): POST {base}/chat/completions with stream=true, read as server-sent events.
 * Rejects with LlmError when the server refuses or no token arrives within `timeoutMs`.
 */
export async function* streamChat(cfg: LlmConfig, messages: ChatMessage[], signal: AbortSignal): AsyncGenerator<ChatChunk> {
  const abort = new AbortController();
  const stop = () => abort.abort(signal.reason);
  signal.addEventListener("abort", stop, { once: true });
  const firstToken = setTimeout(() => abort.abort(new LlmError(`no reply within ${cfg.timeoutMs} ms`, null)), cfg.timeoutMs);
  try {
    const headers: Record<string, string> = { "content-type": "application/json", accept: "text/event-stream" };
    if (cfg.apiKey) headers.authorization = `Bearer ${cfg.apiKey}`;
    let res: Response;
    try {
      res = await fetch(`${cfg.baseUrl}/chat/completions`, {
        method: "POST",
        headers,
        body: JSON.stringify({ model: cfg.model, messages, stream: true }),
        signal: abort.signal,
      });
    } catch (err) {
      throw abort.signal.reason instanceof LlmError ? abort.signal.reason : err;
    }
    if (!res.ok || !res.body) {
      const detail = (await res.text().catch(() => "")).slice(0, 200);
      throw new LlmError(`chat completions answered HTTP ${res.status}${detail ? `: ${detail}` : ""}`, res.status);
    }
    const decoder = new TextDecoder();
    let pending = "";
    try {
      for await (const bytes of res.body as unknown as AsyncIterable<Uint8Array>) {
        pending += decoder.decode(bytes, { stream: true });
        let newline: number;
        while ((newline = pending.indexOf("\n")) >= 0) {
          const line = pending.slice(0, newline).trim();
          pending = pending.slice(newline + 1);
          if (!line.startsWith("data:")) continue;
          const data = line.slice(5).trim();
          if (data === "[DONE]") return;
          for (const chunk of parseEvent(data)) {
            if (chunk.kind === "text") clearTimeout(firstToken);
            yield chunk;
          }
        }
      }
    } catch (err) {
      throw abort.signal.reason instanceof LlmError ? abort.signal.reason : err;
    }
  } finally {
    clearTimeout(firstToken);
    signal.removeEventListener("abort", stop);
    abort.abort();
  }
}

function parseEvent(data: string): ChatChunk[] {
  let event: {
    choices?: { delta?: { content?: unknown } }[];
    usage?: { prompt_tokens?: unknown; completion_tokens?: unknown } | null;
    error?: { message?: unknown };
  };
  try {
    event = JSON.parse(data) as typeof event;
  } catch {
    return [];
  }
  if (event.error)
    throw new LlmError(
      `chat completions error: ${(typeof event.error.message === "string" ? event.error.message : (JSON.stringify(event.error.message) ?? "unknown")).slice(0, 200)}`,
      null,
    );
  const out: ChatChunk[] = [];
  const text = event.choices?.[0]?.delta?.content;
  if (typeof text === "string" && text) out.push({ kind: "text", text });
  const usage = event.usage;
  if (usage && typeof usage.prompt_tokens === "number" && typeof usage.completion_tokens === "number") {
    out.push({ kind: "usage", inputTokens: usage.prompt_tokens, outputTokens: usage.completion_tokens });
  }
  return out;
}

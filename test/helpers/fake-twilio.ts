import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";

export interface HangUpRequest {
  accountSid: string;
  callSid: string;
  /** Form fields of the request (Status=completed). */
  fields: Record<string, string>;
  /** Basic-auth user and password. */
  user: string;
  password: string;
}

/**
 * Twilio's REST API for the one request the worker makes (update a call), on loopback. It
 * records hang-ups, checks Basic auth like Twilio (401, code 20003), and answers 404 with code
 * 20404 for calls marked as already ended.
 */
export class FakeTwilioRest {
  readonly hangUps: HangUpRequest[] = [];
  /** CallSids to answer with 404 / 20404. */
  readonly alreadyEnded = new Set<string>();
  /** The next N requests fail with 500. */
  failNext = 0;
  requests = 0;

  private constructor(
    private readonly server: Server,
    readonly url: string,
    private readonly authToken: string,
  ) {}

  static async start(authToken: string): Promise<FakeTwilioRest> {
    let fake: FakeTwilioRest | null = null;
    const server = createServer((req, res) => fake!.handle(req, res));
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", () => resolve()));
    const { port } = server.address() as AddressInfo;
    fake = new FakeTwilioRest(server, `http://127.0.0.1:${port}`, authToken);
    return fake;
  }

  hangUpsFor(callSid: string): HangUpRequest[] {
    return this.hangUps.filter((h) => h.callSid === callSid);
  }

  async close(): Promise<void> {
    this.server.closeAllConnections();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  private async handle(req: import("node:http").IncomingMessage, res: import("node:http").ServerResponse): Promise<void> {
    this.requests++;
    const chunks: Buffer[] = [];
    for await (const c of req) chunks.push(c as Buffer);
    const json = (status: number, body: unknown) => {
      res.writeHead(status, { "content-type": "application/json" });
      res.end(JSON.stringify(body));
    };
    const match = /^\/2010-04-01\/Accounts\/(AC[0-9a-f]{32})\/Calls\/([A-Za-z0-9]+)\.json$/.exec(req.url ?? "");
    if (req.method !== "POST" || !match) return json(404, { code: 20404, message: "The requested resource was not found", status: 404 });
    const [user, password] = Buffer.from((req.headers.authorization ?? "").replace(/^Basic /, ""), "base64").toString().split(":");
    if (password !== this.authToken || !user?.startsWith("AC")) {
      return json(401, { code: 20003, message: "Authenticate", status: 401 });
    }
    if (this.failNext > 0) {
      this.failNext--;
      return json(500, { code: 20500, message: "Internal Server Error", status: 500 });
    }
    const fields = Object.fromEntries(new URLSearchParams(Buffer.concat(chunks).toString()));
    const callSid = match[2]!;
    if (this.alreadyEnded.has(callSid)) return json(404, { code: 20404, message: `The requested resource /Calls/${callSid}.json was not found`, status: 404 });
    this.hangUps.push({ accountSid: match[1]!, callSid, fields, user: user!, password });
    json(200, { sid: callSid, account_sid: match[1], status: fields.Status ?? "in-progress" });
  }
}

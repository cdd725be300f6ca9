import { randomBytes } from "node:crypto";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { FakeTwilioNumbers } from "./fake-twilio-numbers.js";

export interface HangUpRequest {
  accountSid: string;
  callSid: string;
  /** Form fields of the request (Status=completed). */
  fields: Record<string, string>;
  /** Basic-auth user and password. */
  user: string;
  password: string;
}

/** An outbound call created through `POST .../Calls.json` (the web process's verification calls). */
export interface CreatedCallRequest {
  accountSid: string;
  /** The Call resource's sid the fake answered with (CA + 32 hex). */
  sid: string;
  /** Form fields of the request: To, From, Twiml (or Url), Timeout, TimeLimit... */
  fields: Record<string, string>;
  user: string;
  password: string;
}

/** An error Twilio answers a call creation with, as its JSON body says it. */
export interface FakeTwilioError {
  status: number;
  code: number;
  message: string;
}

/** What the fake knows of a call, as Twilio's Call resource reports it. */
export interface FakeCallState {
  /** queued, ringing, in-progress, canceled, completed, failed, busy, no-answer. */
  status: string;
  /** Whole seconds; Twilio reports it once the call completed, null before. */
  duration: number | null;
}

/**
 * Twilio's REST API on loopback. For the worker: update a call (hang-up) and fetch a call
 * (`GET .../Calls/{CallSid}.json`: status and duration); for the web process, the phone-number
 * resources in `numbers` (test/helpers/fake-twilio-numbers.ts). It records hang-ups, checks
 * Basic auth like Twilio (401, code 20003), and answers 404 with code 20404 for calls marked as
 * already ended (updates) or unknown (fetches). The web process's side: create an outbound call
 * (`POST .../Calls.json`, recorded in `createdCalls`).
 */
export class FakeTwilioRest {
  readonly hangUps: HangUpRequest[] = [];
  /** CallSids to answer with 404 / 20404. */
  readonly alreadyEnded = new Set<string>();
  /** Date.now() of each call's latest hang-up request, by CallSid. */
  readonly hangUpTimes = new Map<string, number>();
  /** Calls the fetch answers for, by CallSid; set by tests as Twilio would see them. */
  readonly calls = new Map<string, FakeCallState>();
  /** Fetches answered, by CallSid. */
  readonly fetches: string[] = [];
  /** Phone-number resources (IncomingPhoneNumbers, AvailablePhoneNumbers) and their state. */
  readonly numbers = new FakeTwilioNumbers();
  /** Outbound calls created (`POST .../Calls.json`), oldest first. */
  readonly createdCalls: CreatedCallRequest[] = [];
  /** When set, call creations are refused with this error (e.g. 400 / 21211 for an invalid To). */
  callCreateError: FakeTwilioError | null = null;
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
    const server = createServer((req, res) => void fake!.handle(req, res));
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
    if (this.numbers.matches(req.url ?? "")) return this.handleNumbers(req, Buffer.concat(chunks).toString(), json);
    const create = /^\/2010-04-01\/Accounts\/(AC[0-9a-f]{32})\/Calls\.json$/.exec(req.url ?? "");
    if (create && req.method === "POST") return this.createCall(req, create[1]!, Buffer.concat(chunks).toString(), json);
    const match = /^\/2010-04-01\/Accounts\/(AC[0-9a-f]{32})\/Calls\/([A-Za-z0-9]+)\.json$/.exec(req.url ?? "");
    if ((req.method !== "POST" && req.method !== "GET") || !match) {
      return json(404, { code: 20404, message: "The requested resource was not found", status: 404 });
    }
    const [user, password] = Buffer.from((req.headers.authorization ?? "").replace(/^Basic /, ""), "base64")
      .toString()
      .split(":");
    if (password !== this.authToken || !user?.startsWith("AC")) {
      return json(401, { code: 20003, message: "Authenticate", status: 401 });
    }
    if (this.failNext > 0) {
      this.failNext--;
      return json(500, { code: 20500, message: "Internal Server Error", status: 500 });
    }
    const callSid = match[2]!;
    if (req.method === "GET") return this.fetchCall(match[1]!, callSid, json);
    const fields = Object.fromEntries(new URLSearchParams(Buffer.concat(chunks).toString()));
    if (this.alreadyEnded.has(callSid))
      return json(404, { code: 20404, message: `The requested resource /Calls/${callSid}.json was not found`, status: 404 });
    this.hangUps.push({ accountSid: match[1]!, callSid, fields, user: user, password });
    this.hangUpTimes.set(callSid, Date.now());
    json(200, { sid: callSid, account_sid: match[1], status: fields.Status ?? "in-progress" });
  }

  /** Phone-number requests: Basic auth and `failNext` as for calls, then FakeTwilioNumbers. */
  private async handleNumbers(
    req: import("node:http").IncomingMessage,
    body: string,
    json: (status: number, body: unknown) => void,
  ): Promise<void> {
    const [user, password] = Buffer.from((req.headers.authorization ?? "").replace(/^Basic /, ""), "base64")
      .toString()
      .split(":");
    if (password !== this.authToken || !user?.startsWith("AC")) return json(401, { code: 20003, message: "Authenticate", status: 401 });
    if (this.failNext > 0) {
      this.failNext--;
      return json(500, { code: 20500, message: "Internal Server Error", status: 500 });
    }
    await this.numbers.handle(req.method, req.url ?? "", body, json);
  }

  /** The Call resource as Twilio returns it (snake_case; `duration` a string of seconds or null). */
  private fetchCall(accountSid: string, callSid: string, json: (status: number, body: unknown) => void): void {
    const state = this.calls.get(callSid);
    if (!state) return json(404, { code: 20404, message: `The requested resource /Calls/${callSid}.json was not found`, status: 404 });
    this.fetches.push(callSid);
    json(200, {
      sid: callSid,
      account_sid: accountSid,
      status: state.status,
      duration: state.duration === null ? null : String(state.duration),
      direction: "inbound",
      api_version: "2010-04-01",
    });
  }

  /** The created calls that rang `to`, oldest first. */
  callsTo(to: string): CreatedCallRequest[] {
    return this.createdCalls.filter((c) => c.fields.To === to);
  }

  /**
   * Creates an outbound call like Twilio: Basic auth (401 / 20003), To (21201), From (21213) and
   * one of Url, Twiml or ApplicationSid (21205) required; answers 201 with the Call resource,
   * status "queued".
   */
  private createCall(
    req: import("node:http").IncomingMessage,
    accountSid: string,
    body: string,
    json: (status: number, body: unknown) => void,
  ): void {
    const [user, password] = Buffer.from((req.headers.authorization ?? "").replace(/^Basic /, ""), "base64")
      .toString()
      .split(":");
    if (password !== this.authToken || user !== accountSid) return json(401, { code: 20003, message: "Authenticate", status: 401 });
    if (this.failNext > 0) {
      this.failNext--;
      return json(500, { code: 20500, message: "Internal Server Error", status: 500 });
    }
    const fields = Object.fromEntries(new URLSearchParams(body));
    const refuse = (code: number, message: string) =>
      json(400, { code, message, more_info: `https://www.twilio.com/docs/errors/${code}`, status: 400 });
    if (!fields.To) return refuse(21201, "No 'To' number is specified");
    if (!fields.From) return refuse(21213, "No 'From' number is specified");
    if (!fields.Url && !fields.Twiml && !fields.ApplicationSid) return refuse(21205, "Url parameter is required.");
    if (this.callCreateError) {
      const e = this.callCreateError;
      return json(e.status, {
        code: e.code,
        message: e.message,
        more_info: `https://www.twilio.com/docs/errors/${e.code}`,
        status: e.status,
      });
    }
    const sid = `CA${randomBytes(16).toString("hex")}`;
    this.createdCalls.push({ accountSid, sid, fields, user: user, password });
    this.calls.set(sid, { status: "queued", duration: null });
    json(201, {
      sid,
      account_sid: accountSid,
      to: fields.To,
      to_formatted: fields.To,
      from: fields.From,
      from_formatted: fields.From,
      status: "queued",
      direction: "outbound-api",
      api_version: "2010-04-01",
      duration: null,
      price: null,
      price_unit: "USD",
      answered_by: null,
      caller_name: null,
      forwarded_from: null,
      parent_call_sid: null,
      date_created: new Date().toUTCString(),
      date_updated: new Date().toUTCString(),
      start_time: null,
      end_time: null,
      queue_time: "0",
      uri: `/2010-04-01/Accounts/${accountSid}/Calls/${sid}.json`,
    });
  }
}

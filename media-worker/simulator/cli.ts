// `npm run simulate-call -- [flags]`: plays Twilio for one call against a running system.
import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import path from "node:path";
import { parseArgs } from "node:util";
import mongoose from "mongoose";
import { renderTones } from "../audio/tone.js";
import { mulawToWav, wavToMulaw } from "../audio/wav.js";
import { formatUsd } from "../../schema/billing/money.js";
import { CallModel } from "../../schema/models/call.model.js";
import { SimulatorError, simulateCall } from "./simulate-call.js";

const USAGE = `Usage: npm run simulate-call -- --to +15551234567 [flags]

  --to NUMBER           dialled number (Twilio's To); routes to its agent
  --agent-id ID         explicit agent (sent as ?agent_id=); --to then defaults to +15005550006
  --from NUMBER         caller ID (default +14155550100)
  --forwarded-from NUM  ForwardedFrom, to route by the forwarding number
  --seconds N           how long the caller talks (default 5; with --wav, the file's length)
  --wav FILE            caller audio: 8 kHz WAV, 16-bit PCM or mu-law (default: a 440 Hz tone)
  --tone HZ             frequency of the generated caller tone (default 440)
  --out FILE            where to write what the agent said (default .local/calls/<CallSid>.wav)
  --press DIGIT         at the end, press DIGIT instead of hanging up (# asks the echo agent to end the call)
  --fast                send frames as fast as possible instead of in real time
  --no-status-callback  do not POST /call_status after the call
  --url URL             web process (default $SIMULATOR_WEB_URL or http://localhost:$PORT|3000)
  --public-url URL      base URL the web process signs against (default $PUBLIC_BASE_URL or --url)
  --media-url URL       connect the stream here instead of the TwiML's host (default $SIMULATOR_MEDIA_URL)
  --auth-token TOKEN    Twilio auth token used to sign (default $TWILIO_AUTH_TOKEN)
  --api-key KEY         authenticate webhooks with an API key instead of a signature
  --mongodb-uri URI     read the call's final status and bill from here (default $MONGODB_URI)
  --json                print the result as JSON`;

const { values: a } = parseArgs({
  options: {
    to: { type: "string" },
    "agent-id": { type: "string" },
    from: { type: "string" },
    "forwarded-from": { type: "string" },
    seconds: { type: "string" },
    wav: { type: "string" },
    tone: { type: "string" },
    out: { type: "string" },
    press: { type: "string" },
    fast: { type: "boolean", default: false },
    "no-status-callback": { type: "boolean", default: false },
    url: { type: "string" },
    "public-url": { type: "string" },
    "media-url": { type: "string" },
    "auth-token": { type: "string" },
    "api-key": { type: "string" },
    "mongodb-uri": { type: "string" },
    json: { type: "boolean", default: false },
    help: { type: "boolean", short: "h", default: false },
  },
});

function fail(message: string): never {
  console.error(`simulate-call: ${message}\n\n${USAGE}`);
  process.exit(2);
}

if (a.help) {
  console.log(USAGE);
  process.exit(0);
}
if (!a.to && !a["agent-id"]) fail("give --to or --agent-id");
const env = process.env;
const webUrl = a.url ?? env.SIMULATOR_WEB_URL ?? `http://localhost:${env.PORT ?? 3000}`;
const audio = a.wav ? wavToMulaw(readFileSync(a.wav)) : renderTones([{ hz: Number(a.tone ?? 440), ms: 1_000 }]);
const seconds = a.seconds ? Number(a.seconds) : a.wav ? audio.length / 8_000 : 5;
if (!Number.isFinite(seconds) || seconds <= 0 || seconds > 4 * 3600) fail("--seconds must be a positive number");
const authToken = a["auth-token"] ?? env.TWILIO_AUTH_TOKEN ?? null;
if (!authToken && !a["api-key"]) fail("give --auth-token (or set TWILIO_AUTH_TOKEN) or --api-key");

try {
  const result = await simulateCall({
    webUrl,
    publicBaseUrl: a["public-url"] ?? env.PUBLIC_BASE_URL ?? webUrl,
    authToken,
    apiKey: a["api-key"],
    to: a.to ?? "+15005550006",
    from: a.from,
    forwardedFrom: a["forwarded-from"],
    agentId: a["agent-id"],
    mediaUrl: a["media-url"] ?? env.SIMULATOR_MEDIA_URL,
    audio,
    durationMs: Math.round(seconds * 1000),
    realtime: !a.fast,
    hangup: a.press ? "none" : "stop",
    statusCallback: !a["no-status-callback"],
    onStarted: a.press
      ? (client) => {
          setTimeout(() => client.sendDtmf(a.press!), Math.round(seconds * 1000));
        }
      : undefined,
  });
  const out = a.out ?? path.join(".local", "calls", `${result.callSid}.wav`);
  mkdirSync(path.dirname(out), { recursive: true });
  writeFileSync(out, mulawToWav(result.client.receivedAudio()));

  let final: { status: string; endedReason?: string | null; billedSeconds: number; costUsd: string } | null = null;
  const mongodbUri = a["mongodb-uri"] ?? env.MONGODB_URI;
  if (mongodbUri) {
    await mongoose.connect(mongodbUri, { serverSelectionTimeoutMS: 5_000 });
    const deadline = Date.now() + 15_000;
    while (Date.now() < deadline) {
      const call = await CallModel.findById(result.callId).lean();
      if (call?.endedAt) {
        final = {
          status: call.status,
          endedReason: call.endedReason,
          billedSeconds: call.billedSeconds,
          costUsd: formatUsd(call.costMicros),
        };
        break;
      }
      await new Promise((r) => setTimeout(r, 200));
    }
    await mongoose.disconnect();
  }
  const notFinal = mongodbUri ? "not closed out within 15 s" : "set --mongodb-uri (or MONGODB_URI) to see the bill";
  const summary = {
    callSid: result.callSid,
    callId: result.callId,
    streamedSeconds: (result.sent.length * 20) / 1000,
    agentAudioSeconds: result.client.receivedAudio().length / 8_000,
    agentAudioFile: out,
    endedBy: result.endedByServer ? "agent" : "caller",
    streamClose: result.close,
    statusCallback: result.statusCallback,
    final: final ?? notFinal,
  };
  if (a.json) console.log(JSON.stringify(summary, null, 2));
  else {
    console.log(`call ${summary.callSid} (id ${summary.callId})`);
    console.log(
      `  caller streamed ${summary.streamedSeconds.toFixed(2)} s; agent sent ${summary.agentAudioSeconds.toFixed(2)} s of audio -> ${out}`,
    );
    console.log(`  ended by the ${summary.endedBy}; stream closed with ${result.close.code} ${result.close.reason}`);
    if (final)
      console.log(
        `  final status ${final.status} (${final.endedReason ?? "no reason"}), billed ${final.billedSeconds} s, cost $${final.costUsd}`,
      );
    else console.log(`  final status: ${notFinal}`);
  }
  process.exit(0);
} catch (err) {
  if (err instanceof SimulatorError) {
    console.error(`simulate-call: call refused: ${err.message}`);
    process.exit(1);
  }
  throw err;
}

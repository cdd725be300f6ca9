// The data the hostile inputs aim at, so they reach real code paths: per account (from the stack's
// fixtures: balance, agent, number, forwarding number) a working ACCOUNT key, one revoked key,
// and one call that was admitted, streamed, hung up, reported by a status callback and billed.
// Its stream token stays valid through the run: replaying it must still be refused.
import { ApiKeyAuthenticator } from "../../api/auth/api-key-authenticator.js";
import { AccountModel } from "../../schema/models/account.model.js";
import { AgentModel } from "../../schema/models/agent.model.js";
import { ApiKeyModel } from "../../schema/models/api-key.model.js";
import { PhoneNumberModel } from "../../schema/models/phone-number.model.js";
import { sleep } from "../faults/processes.js";
import { SimCall } from "../faults/sim-call.js";
import { AUTH_TOKEN, MEDIA_PUBLIC_URL, type FaultStack } from "../faults/stack.js";
import { waitUntilSettled } from "../faults/verify.js";
import { createFixture } from "../helpers/fixtures.js";
import { sign } from "./form.js";
import type { FuzzContext, SeededAccount, SeededCall } from "./context.js";

const SETTLE_TIMEOUT_MS = 30_000;

export async function seed(stack: FaultStack): Promise<FuzzContext> {
  const keys = new ApiKeyAuthenticator(undefined);
  const accounts: SeededAccount[] = [];
  for (const f of stack.fixtures) {
    const { apiKey, key } = await keys.create({ accountId: f.accountId, scope: "account", name: "fuzz" });
    const number = await PhoneNumberModel.findOne({ e164: f.number }).lean();
    accounts.push({
      accountId: String(f.accountId),
      agentId: String(f.agentId),
      phoneNumberId: String(number!._id),
      number: f.number,
      forwardingNumber: f.forwardingNumber,
      key,
      apiKeyId: String(apiKey._id),
    });
  }
  const revoked = await keys.create({ accountId: stack.fixtures[0]!.accountId, scope: "account", name: "revoked" });
  await ApiKeyModel.updateOne({ _id: revoked.apiKey._id }, { $set: { revokedAt: new Date() } });

  // Numbers a call to which must be refused by state, with nothing written.
  const broke = await createFixture({ balanceMicros: 0 });
  const suspended = await createFixture({ balanceMicros: 50_000_000 });
  await AccountModel.updateOne({ _id: suspended.accountId }, { $set: { status: "suspended" } });
  const idle = await createFixture({ balanceMicros: 50_000_000 });
  await AgentModel.updateOne({ _id: idle.agentId }, { $set: { status: "inactive" } });
  const refusing: FuzzContext["refusing"] = [
    { number: broke.number, why: "no balance" },
    { number: suspended.number, why: "account suspended" },
    { number: idle.number, why: "agent inactive" },
  ];

  const calls: SeededCall[] = [];
  const sims: SimCall[] = [];
  for (const [i, f] of stack.fixtures.entries()) {
    const sim = await new SimCall(`seed-${i}`, stack, stack.a, f).begin();
    if (!sim.admitted) throw new Error(`seeding: call ${i} did not stream: ${sim.failure}`);
    await sleep(500);
    await sim.hangUp();
    await sim.statusCallback();
    sims.push(sim);
    const params = sim.admitted.twiml.params;
    calls.push({
      callId: sim.callId,
      callSid: sim.callSid,
      accountSid: sim.admitted.accountSid,
      account: i,
      token: params.token!,
      customParameters: params,
    });
  }
  await waitUntilSettled(stack, sims, SETTLE_TIMEOUT_MS, 0);

  const ctx: FuzzContext = {
    webUrl: stack.webUrl,
    publicBaseUrl: stack.webUrl,
    authToken: AUTH_TOKEN,
    mediaUrl: stack.a.mediaUrl,
    mediaPublicUrl: MEDIA_PUBLIC_URL,
    adminKey: stack.adminApiKey,
    revokedKey: revoked.key,
    accounts,
    calls,
    refusing,
  };
  await warmUp(ctx);
  await quiet(stack);
  return ctx;
}

/**
 * Uses each working key once, so the usage row its first use writes (ApiKeyUsage) exists before
 * the run starts counting documents.
 */
async function warmUp(ctx: FuzzContext): Promise<void> {
  for (const key of [ctx.adminKey, ...ctx.accounts.map((a) => a.key)]) {
    const res = await fetch(`${ctx.webUrl}/graphql`, {
      method: "POST",
      headers: { "content-type": "application/json", authorization: `Bearer ${key}` },
      body: JSON.stringify({ query: "{ __typename }" }),
    });
    if (res.status !== 200) throw new Error(`seeding: a seeded key was refused (${res.status}: ${await res.text()})`);
  }
  // A refused admission still leaves the balance it read in Redis (the snapshot admission uses
  // while the database is slow): taken here, so the run compares it with its own reads.
  for (const r of ctx.refusing) {
    const res = await postForm(ctx, "/inbound_call", { CallSid: `CA${"9".repeat(32)}`, From: "+14155550100", To: r.number });
    if (res.status < 400 || res.status >= 500) throw new Error(`seeding: a call to a number with ${r.why} answered ${res.status}`);
  }
}

async function postForm(ctx: FuzzContext, path: string, fields: Record<string, string>): Promise<Response> {
  const res = await fetch(ctx.webUrl + path, {
    method: "POST",
    headers: {
      "content-type": "application/x-www-form-urlencoded",
      "x-twilio-signature": sign(ctx.authToken, ctx.publicBaseUrl + path, new URLSearchParams(fields).toString()),
    },
    body: new URLSearchParams(fields).toString(),
  });
  await res.text();
  return res;
}

/** Waits until the close-out queue has nothing left to do and the calls are no longer watched. */
async function quiet(stack: FaultStack): Promise<void> {
  const deadline = Date.now() + SETTLE_TIMEOUT_MS;
  for (;;) {
    const counts = await stack.queue.getJobCounts("waiting", "active", "delayed", "prioritized");
    const open = await stack.redis.zcard("c247:calls:open");
    const pending = await stack.redis.zcard("c247:admissions:pending");
    if (Object.values(counts).every((n) => n === 0) && open === 0 && pending === 0) break;
    if (Date.now() > deadline)
      throw new Error(`seeding: the system did not settle (jobs ${JSON.stringify(counts)}, open calls ${open}, pending ${pending})`);
    await sleep(100);
  }
  // Usage rows are written without waiting for them.
  await sleep(1_000);
}

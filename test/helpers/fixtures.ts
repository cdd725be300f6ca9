import { randomBytes } from "node:crypto";
import { Types } from "mongoose";
import { ledger } from "../../schema/ledger/ledger.service.js";
import { AccountModel } from "../../schema/models/account.model.js";
import { AgentModel } from "../../schema/models/agent.model.js";
import { ForwardingNumberModel } from "../../schema/models/forwarding-number.model.js";
import { PhoneNumberModel } from "../../schema/models/phone-number.model.js";

let counter = 0;

/** A unique E.164 number per call, so tests never collide on unique indexes. */
export function uniqueNumber(): string {
  counter += 1;
  return `+1555${String(Date.now() % 1_000_000).padStart(6, "0")}${String(counter % 10000).padStart(4, "0")}`.slice(0, 16);
}

export function uniqueCallSid(): string {
  return `CA${randomBytes(16).toString("hex")}`;
}

export interface Fixture {
  accountId: Types.ObjectId;
  agentId: Types.ObjectId;
  number: string;
  forwardingNumber: string;
}

/**
 * An active account with one agent, a dialled number routed to it, a verified forwarding number
 * (its calls go to the agent too), and (optionally) a starting balance in micro-dollars written
 * to the ledger.
 */
export async function createFixture(opts: { balanceMicros?: number; ratePerMinuteMicros?: number } = {}): Promise<Fixture> {
  const forwardingNumber = uniqueNumber();
  const account = await AccountModel.create({
    name: "Acme Plumbing",
    email: "ops@acme.example",
    ...(opts.ratePerMinuteMicros !== undefined ? { ratePerMinuteMicros: opts.ratePerMinuteMicros } : {}),
  });
  await ForwardingNumberModel.create({ e164: forwardingNumber, accountId: account._id, method: "admin", verifiedAt: new Date() });
  const agent = await AgentModel.create({ accountId: account._id, name: "Front desk", greeting: "Hello!" });
  account.activeInboundAgentId = agent._id;
  await account.save();
  const number = uniqueNumber();
  await PhoneNumberModel.create({ e164: number, accountId: account._id, agentId: agent._id });
  if (opts.balanceMicros) {
    await ledger.append({
      accountId: account._id,
      kind: "credit",
      amountMicros: opts.balanceMicros,
      reference: `fixture-${new Types.ObjectId().toHexString()}`,
      floorMicros: null,
    });
  }
  return { accountId: account._id, agentId: agent._id, number, forwardingNumber };
}

import { InvalidParamsError, MissingParamsError } from "../../schema/infra/errors.js";
import { MAX_IDENTITY_LENGTH } from "../../schema/models/call.model.js";
import { ACCOUNT_SID, CALL_SID } from "../../schema/infra/twilio-ids.js";
import { singleField, type FormFields } from "../lib/form-body.js";

/** What /inbound_call needs from Twilio's form and our query string, validated. */
export interface InboundCallParams {
  callSid: string;
  from: string;
  to: string;
  forwardedFrom: string | null;
  /** The explicit agent (query first, then body), or null to resolve by number. */
  agentId: string | null;
  externalCallId: string | null;
  /** The webhook's AccountSid when it is a Twilio account id (AC + 32 hex digits), else null. */
  twilioAccountSid: string | null;
}

const NEWLINE = /[\r\n\t]/;

function identity(value: string | undefined, name: string, maxLength = MAX_IDENTITY_LENGTH): string | undefined {
  if (value === undefined) return undefined;
  if (value.length > maxLength) throw new InvalidParamsError(`${name} is longer than ${maxLength} characters`);
  if (NEWLINE.test(value)) throw new InvalidParamsError(`${name} contains control characters`);
  return value;
}

/**
 * Validates the webhook's fields. Caller identities are kept exactly as Twilio sends them
 * (E.164, "anonymous", "client:alice", "sip:..."): a real call is never refused for its caller ID.
 */
export function parseInboundParams(body: FormFields, query: FormFields): InboundCallParams {
  const callSid = identity(singleField(body, "CallSid"), "CallSid", 64);
  const from = identity(singleField(body, "From"), "From");
  const to = identity(singleField(body, "To"), "To");
  const missing = [...(callSid ? [] : ["CallSid"]), ...(from === undefined ? ["From"] : []), ...(to ? [] : ["To"])];
  if (missing.length > 0) throw new MissingParamsError(missing);
  if (!CALL_SID.test(callSid!)) throw new InvalidParamsError("CallSid has an invalid format");

  const queryAgent = identity(singleField(query, "agent_id", "query string"), "agent_id", 64);
  const bodyAgent = identity(singleField(body, "agent_id"), "agent_id", 64);
  const forwardedFrom = identity(singleField(body, "ForwardedFrom"), "ForwardedFrom");
  const externalCallId = identity(singleField(body, "external_call_id"), "external_call_id");
  // Never a reason to refuse a call: it only serves later REST reads of the call.
  const accountSid = body.AccountSid;
  return {
    callSid: callSid!,
    from: from!,
    to: to!,
    forwardedFrom: forwardedFrom || null,
    agentId: queryAgent || bodyAgent || null,
    externalCallId: externalCallId || null,
    twilioAccountSid: typeof accountSid === "string" && ACCOUNT_SID.test(accountSid) ? accountSid : null,
  };
}

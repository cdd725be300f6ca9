import { InvalidParamsError, MissingParamsError } from "../../schema/infra/errors.js";
import { CALL_SID } from "../../schema/infra/twilio-ids.js";
import { singleField, type FormFields } from "../lib/form-body.js";

export const TWILIO_CALL_STATUSES = ["queued", "ringing", "in-progress", "completed", "busy", "failed", "no-answer", "canceled"] as const;
export type TwilioCallStatus = (typeof TWILIO_CALL_STATUSES)[number];

/** Statuses after which Twilio's call is over. */
export const FINAL_STATUSES: ReadonlySet<TwilioCallStatus> = new Set(["completed", "busy", "failed", "no-answer", "canceled"]);

export interface CallStatusParams {
  callSid: string;
  callStatus: TwilioCallStatus;
  /** Whole seconds, sent with `completed`; null when absent. */
  callDuration: number | null;
}

/** Validates a Twilio status callback's fields; everything else Twilio sends is ignored. */
export function parseCallStatusParams(body: FormFields): CallStatusParams {
  const callSid = singleField(body, "CallSid");
  const callStatus = singleField(body, "CallStatus");
  const missing = [...(callSid ? [] : ["CallSid"]), ...(callStatus ? [] : ["CallStatus"])];
  if (missing.length > 0) throw new MissingParamsError(missing);
  if (!CALL_SID.test(callSid!)) throw new InvalidParamsError("CallSid has an invalid format");
  if (!TWILIO_CALL_STATUSES.includes(callStatus as TwilioCallStatus))
    throw new InvalidParamsError("CallStatus is not a Twilio call status");
  const duration = singleField(body, "CallDuration");
  if (duration !== undefined && duration !== "" && !/^\d{1,6}$/.test(duration)) {
    throw new InvalidParamsError("CallDuration must be a whole number of seconds");
  }
  return {
    callSid: callSid!,
    callStatus: callStatus as TwilioCallStatus,
    callDuration: duration ? Number(duration) : null,
  };
}

import twilio from "twilio";
import { CODE_DIGITS } from "./verification-code.js";

/** Seconds the caller has to start typing (and between digits) before Gather gives up. */
const GATHER_TIMEOUT_SECONDS = 10;

/** How a verification call ends, as the caller hears it. */
export type VerificationEnding = "verified" | "locked" | "expired" | "conflict" | "invalid";

const ENDINGS: Record<VerificationEnding, string> = {
  verified: "Thank you. This number is now verified for call forwarding to Call24x7. Goodbye.",
  locked: "That code was wrong too many times. Start a new verification in your Call24x7 dashboard. Goodbye.",
  expired: "This verification code has expired. Start a new verification in your Call24x7 dashboard. Goodbye.",
  conflict: "This number is already verified for another Call24x7 account. Goodbye.",
  invalid: "This verification is no longer valid. Start a new verification in your Call24x7 dashboard. Goodbye.",
};

function gather(actionUrl: string, prompt: string): string {
  const response = new twilio.twiml.VoiceResponse();
  response.gather({ numDigits: CODE_DIGITS, action: actionUrl, method: "POST", timeout: GATHER_TIMEOUT_SECONDS }).say(prompt);
  // Reached only when nothing was typed: Gather then skips its action.
  response.say("We did not receive a code. Goodbye.");
  response.hangup();
  return response.toString();
}

/** What the verification call says when answered: asks for the code shown in the dashboard. */
export function promptTwiml(actionUrl: string): string {
  return gather(
    actionUrl,
    "Hello. This is Call24x7, verifying this number for call forwarding. Enter your Call24x7 verification code now.",
  );
}

/** A wrong code while tries remain: asks again, on the same action URL. */
export function retryTwiml(actionUrl: string, attemptsLeft: number): string {
  const tries = attemptsLeft === 1 ? "one try" : `${attemptsLeft} tries`;
  return gather(actionUrl, `That code is not right. You have ${tries} left. Enter your Call24x7 verification code.`);
}

export function endTwiml(ending: VerificationEnding): string {
  const response = new twilio.twiml.VoiceResponse();
  response.say(ENDINGS[ending]);
  response.hangup();
  return response.toString();
}

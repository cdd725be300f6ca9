/**
 * Shapes of Twilio identifiers, in one place for both processes.
 * A webhook's CallSid is taken loosely (callers of the seed endpoint that are not Twilio send
 * their own ids): letters, digits, `_` and `-`, 2 to 64 of them. Twilio's own ids are a two-letter
 * prefix and 32 hex digits.
 */
export const CALL_SID = /^[A-Za-z0-9_-]{2,64}$/;
/** A call Twilio's REST API created (`Calls.json`): `CA` and 32 lowercase hex digits. */
export const TWILIO_CALL_SID = /^CA[0-9a-f]{32}$/;
/** A Twilio account id as webhooks send it. */
export const ACCOUNT_SID = /^AC[0-9a-f]{32}$/;

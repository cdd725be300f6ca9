/** C0 controls other than tab, CR and LF, and DEL: never part of a name, a number or a Twilio field. */
// eslint-disable-next-line no-control-regex -- matching control characters is this pattern's purpose
export const CONTROL_CHARS = /[\u0000-\u0008\u000B\u000C\u000E-\u001F\u007F]/;

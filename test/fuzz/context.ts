/** What the doors know about the running system: where it listens, its secrets, the seeded data. */
export interface FuzzContext {
  /** Where requests go (loopback). */
  webUrl: string;
  /** PUBLIC_BASE_URL: webhook signatures are computed over it plus the path. */
  publicBaseUrl: string;
  /** TWILIO_AUTH_TOKEN of both processes. */
  authToken: string;
  /** ws://127.0.0.1:<port> of the media worker. */
  mediaUrl: string;
  /** MEDIA_PUBLIC_URL: stream upgrades are signed over it plus the path. */
  mediaPublicUrl: string;
  /** ADMIN_API_KEY of the web process. */
  adminKey: string;
  /** A key revoked before the run. */
  revokedKey: string;
  accounts: SeededAccount[];
  /** Calls that were admitted, streamed, ended and billed before the run. */
  calls: SeededCall[];
  /** Numbers whose calls are refused by the state of their account or agent. */
  refusing: { number: string; why: "no balance" | "account suspended" | "agent inactive" }[];
}

export interface SeededAccount {
  accountId: string;
  agentId: string;
  phoneNumberId: string;
  /** The dialled number routed to the agent. */
  number: string;
  forwardingNumber: string;
  /** A working ACCOUNT key. */
  key: string;
  apiKeyId: string;
}

export interface SeededCall {
  callId: string;
  callSid: string;
  accountSid: string;
  /** Index into `accounts`. */
  account: number;
  /** The stream token its TwiML carried (still unexpired during the run). */
  token: string;
  /** The <Parameter>s of its TwiML, as Twilio sends them back in `start`. */
  customParameters: Record<string, string>;
}

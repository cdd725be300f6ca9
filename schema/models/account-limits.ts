/**
 * What one account may have at once. Stored on the Account (`limits`), each one unset (absent or
 * null) until an admin sets it, which means the platform default below. Pure rules shared by the
 * Account model, the GraphQL API and call admission.
 */

export interface AccountLimits {
  /** Unrevoked API keys of the account (admin keys belong to no account and are not counted). */
  maxApiKeys: number;
  /** Agents, active or not. */
  maxAgents: number;
  /** Phone numbers (the numbers callers dial; verified forwarding numbers have their own cap). */
  maxPhoneNumbers: number;
  /** Calls admitted and not yet closed out, counted atomically at admission in Redis. */
  maxConcurrentCalls: number;
}

export type AccountLimitName = keyof AccountLimits;

export const ACCOUNT_LIMIT_NAMES = [
  "maxApiKeys",
  "maxAgents",
  "maxPhoneNumbers",
  "maxConcurrentCalls",
] as const satisfies readonly AccountLimitName[];

export const DEFAULT_ACCOUNT_LIMITS: Readonly<AccountLimits> = Object.freeze({
  maxApiKeys: 20,
  maxAgents: 200,
  maxPhoneNumbers: 100,
  maxConcurrentCalls: 10,
});

/** Highest value an admin may set for any limit. */
export const MAX_ACCOUNT_LIMIT = 1_000_000;

/** What an account stores: any limit may be unset. */
export type StoredAccountLimits = Partial<Record<AccountLimitName, number | null>> | null | undefined;

/** The limits in force: the stored ones, the defaults where unset. */
export function effectiveLimits(stored: StoredAccountLimits): AccountLimits {
  const out = { ...DEFAULT_ACCOUNT_LIMITS };
  for (const name of ACCOUNT_LIMIT_NAMES) {
    const value = stored?.[name];
    if (typeof value === "number" && Number.isSafeInteger(value) && value >= 0) out[name] = value;
  }
  return out;
}

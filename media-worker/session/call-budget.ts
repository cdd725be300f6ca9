/**
 * When a live call must extend its hold on the balance, or say goodbye. Pure: the session turns
 * the answer into timers. Times are connected milliseconds since the stream started.
 */
export interface BudgetState {
  /** Connected time the call's reservation pays for; Infinity when the rate is zero. */
  coveredMs: number;
  /** Connected time after which the call must end: the agent's or the platform's maximum. */
  maxMs: number;
  /** Length of the goodbye played before hanging up. */
  goodbyeMs: number;
  /** Head start given to an extension so its answer arrives before the goodbye must begin. */
  extendLeadMs: number;
}

export type BudgetStep =
  /** At `atMs` reserve the next chunk; if it has not succeeded by `deadlineMs`, say goodbye. */
  { kind: "extend"; atMs: number; deadlineMs: number } | { kind: "goodbye"; atMs: number; reason: "max-duration" };

/** Slack for timer lateness, so a call ends inside what is reserved and within its maximum. */
export const SAFETY_MS = 250;

export function nextBudgetStep(s: BudgetState): BudgetStep {
  const maxGoodbyeAt = Math.max(0, s.maxMs - s.goodbyeMs - SAFETY_MS);
  const budgetGoodbyeAt = Math.max(0, s.coveredMs - s.goodbyeMs - SAFETY_MS);
  if (maxGoodbyeAt <= budgetGoodbyeAt) return { kind: "goodbye", atMs: maxGoodbyeAt, reason: "max-duration" };
  return { kind: "extend", atMs: Math.max(0, budgetGoodbyeAt - s.extendLeadMs), deadlineMs: budgetGoodbyeAt };
}

/** Connected milliseconds that `heldMicros` pays for at a per-minute rate (rounded down). */
export function coveredMs(heldMicros: number, ratePerMinuteMicros: number): number {
  if (ratePerMinuteMicros <= 0) return Number.POSITIVE_INFINITY;
  return Math.floor((heldMicros * 60_000) / ratePerMinuteMicros);
}

/** The call's maximum connected time: the agent's own limit, capped by the platform's. */
export function maxCallMs(agentMaxSeconds: number | null | undefined, platformMaxSeconds: number): number {
  const agent = agentMaxSeconds && agentMaxSeconds > 0 ? agentMaxSeconds : platformMaxSeconds;
  return Math.min(agent, platformMaxSeconds) * 1000;
}

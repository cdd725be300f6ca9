/** Queue names and job ids shared by the web process (producer) and the media worker. */
export const CALL_EVENTS_QUEUE = "call-events";

export const CALL_CREATED_JOB = "call.created";

/**
 * Job ids derive from the call so a retried webhook or a second trigger can never enqueue (and
 * later bill) the same work twice. BullMQ refuses ":" in custom ids.
 */
export function callJobId(kind: string, callId: string): string {
  return `${kind.replace(/[^a-z0-9-]/gi, "-")}-${callId}`;
}

export interface CallCreatedJob {
  callId: string;
  accountId: string;
  agentId: string;
}
